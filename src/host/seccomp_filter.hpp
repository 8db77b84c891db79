// SPDX-License-Identifier: LGPL-2.1-or-later
// A seccomp filter that refuses a list of system calls, built with libseccomp: the kernel
// checks it on every call of the process that installs it and of all its descendants, for ever.
// Which calls to refuse is policy and lives with its user (a container's in drivers/lxc).
#pragma once

#include <span>
#include <string>

#include "util/result.hpp"

namespace corral::host {

/// One refused system call: it fails with `errnoValue` instead of running.
struct SyscallDenial {
    const char* name;  ///< the kernel's name ("open_by_handle_at")
    int errnoValue;
};

/// Installs, on the calling process, a filter under which every call in `denials` fails with
/// its errno and everything else runs. It covers the native architecture and, on x86_64, the
/// 32-bit and x32 system call tables too (or a 32-bit program would bypass it). Names this
/// architecture does not have are skipped. The caller must have set no_new_privs (or hold
/// CAP_SYS_ADMIN). The filter cannot be removed; a later filter can only add refusals.
/// Errors: the kernel or libseccomp refused the filter (message names the step).
Result<void> installSyscallDenials(std::span<const SyscallDenial> denials);

}  // namespace corral::host
