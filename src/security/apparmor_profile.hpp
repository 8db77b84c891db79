// SPDX-License-Identifier: LGPL-2.1-or-later
// The text of a guest's own AppArmor profile: which files its QEMU may read or write. Pure; loading
// the profile into the kernel is someone else's job.
#pragma once

#include <string>
#include <vector>

#include "util/result.hpp"
#include "util/uuid.hpp"

namespace corral::security {

/// "libvirt-" + the guest's UUID, the name libvirt gives per-guest profiles, so existing
/// administrator tooling and audit log filters keep working.
std::string apparmorProfileName(const Uuid& uuid);

/// The files one guest's QEMU needs beyond the shared abstraction. Every path must be absolute.
/// Empty strings in the single-path fields mean "none".
struct AppArmorGuestFiles {
    std::vector<std::string> readWrite;  ///< writable disks, NVRAM, serial logs: "rwk"
    std::vector<std::string> readOnly;   ///< kernel, initrd, read-only disks, CD-ROMs: "r"
    std::string monitorSocket;           ///< the QMP socket QEMU creates and listens on: "rwk"
    std::string pidFile;                 ///< written by QEMU at start: "rwk"
};

/// The complete profile text for `profileName`: the libvirt-qemu abstraction plus one quoted rule
/// per path, writable rules first, each group sorted, duplicates dropped, and a read-only path that
/// is also writable listed once as writable. Fails with InvalidArg for a profile name outside
/// [A-Za-z0-9._-], and with ConfigUnsupported naming the path for a path that is not absolute or
/// holds a character that AppArmor would read as syntax: '"', '\\', control characters (newline,
/// NUL, ...) or a glob character (* ? [ ] { } ^). Such paths are refused, never escaped, so a rule
/// always grants exactly one file.
Result<std::string> apparmorProfile(const std::string& profileName,
                                    const AppArmorGuestFiles& files);

}  // namespace corral::security
