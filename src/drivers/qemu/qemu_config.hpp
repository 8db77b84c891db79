// SPDX-License-Identifier: LGPL-2.1-or-later
// qemu.conf: the QEMU driver's settings, in libvirt's file format and key names.
#pragma once

#include <string>

#include "util/result.hpp"

namespace corral::drivers::qemu {

struct QemuDriverConfig {
    std::string vncListen = "127.0.0.1";
    bool seccompSandbox = true;
    std::string emulator = "qemu-system-x86_64";  ///< used when a definition names no <emulator>
    /// Seconds a destroy waits after SIGTERM before SIGKILL.
    unsigned destroyGraceSeconds = 10;
};

/// Reads `path` (a missing file gives the defaults). Every documented qemu.conf key is
/// accepted; an unknown key or a bad value is an error naming the file, line and key.
Result<QemuDriverConfig> loadQemuConfig(const std::string& path);

}  // namespace corral::drivers::qemu
