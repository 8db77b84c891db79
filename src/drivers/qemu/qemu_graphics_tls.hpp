// SPDX-License-Identifier: LGPL-2.1-or-later
// Consoles over TLS (VNC, SPICE): each guest's QEMU gets its own copy of the server certificates, in a directory
// it reaches through an inherited descriptor, with the key readable by that guest's identity
// only. The administrator's directory stays root's; no guest can read another's copy.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::drivers::qemu {

/// Copies the certificate files of `sourceDir` (the required ones, and ca-crl.pem and
/// dh-params.pem where they exist) into `stageDir`, made afresh (0711, the files 0400 root's),
/// and returns a descriptor of `stageDir` for QEMU to inherit. A required file that cannot be
/// read is an error naming it and `setting` (the qemu.conf key that asked: "vnc_tls").
Result<UniqueFd> stageTlsCredentials(const std::string& sourceDir, const std::string& stageDir,
                                     std::string_view setting);

/// Gives the staged files to the guest's identity (QEMU reads them once it runs as it).
Result<void> handTlsCredentials(const std::string& stageDir, uid_t uid, gid_t gid);

/// Removes the staged copy (a guest that stopped; nothing when there is none).
void removeTlsCredentials(const std::string& stageDir);

}  // namespace corral::drivers::qemu
