// SPDX-License-Identifier: LGPL-2.1-or-later
// Asking a container's SysV-style init to change runlevel through its initctl FIFO, the way
// libvirt's LXC driver shuts down or reboots containers whose init offers one.
#pragma once

#include <sys/types.h>

#include "util/result.hpp"

namespace corral::drivers::lxc {

/// Writes a runlevel request ('0' halt, '6' reboot) into the initctl FIFO of the container whose
/// init is `init` (/run/initctl, else /dev/initctl, looked up inside the container's root).
/// Returns false when the container has no such FIFO or nothing reads it.
Result<bool> requestRunlevel(pid_t init, char runlevel);

}  // namespace corral::drivers::lxc
