// SPDX-License-Identifier: LGPL-2.1-or-later
// LUKS-encrypted disk images made by qemu-img, keyed with a secret value that reaches qemu-img
// on its standard input (a pipe): never on a command line (/proc/PID/cmdline is world-readable)
// and never in a file.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "util/result.hpp"

namespace corral::host {

struct LuksImageRequest {
    std::string path;             ///< the image to create; must not exist yet
    std::string format = "luks";  ///< "luks" (a raw LUKS image) or "qcow2" (qcow2 with encrypt.format=luks)
    std::uint64_t capacityBytes = 0;
    std::span<const std::uint8_t> passphrase;  ///< the secret's value, UTF-8 text without NUL (QEMU's rule)
    std::string qemuImg = "qemu-img";          ///< the program (tests may name another build)
    /// PBKDF time per key slot in ms; 0 = QEMU's default (2 s), what volumes should use. Tests
    /// lower it: the cost is paid again at every open.
    unsigned iterTimeMs = 0;
};

/// Creates the image. Errors: InvalidArg for an empty passphrase, one that is not UTF-8, another format or a zero
/// capacity; OperationFailed with qemu-img's own message when it fails (an existing file is
/// refused by qemu-img's own check, not overwritten).
Result<void> createLuksImage(const LuksImageRequest& request);

}  // namespace corral::host
