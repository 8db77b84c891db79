// SPDX-License-Identifier: LGPL-2.1-or-later
// What a container's processes may ask of the kernel: the capabilities its init keeps
// (libvirt's <features><capabilities policy=...>, with Corral's defaults) and the system calls
// its seccomp filter refuses. Pure policy, decided by the daemon and carried out by init
// through host/capabilities.hpp and host/seccomp_filter.hpp. docs/security.md explains each
// choice for the threat of a compromised container init.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/seccomp_filter.hpp"
#include "util/result.hpp"

namespace corral::drivers::lxc {

/// The capability libvirt's schema names so inside <features><capabilities> ("sys_admin" is
/// CAP_SYS_ADMIN), or nullopt for a name it does not know.
std::optional<int> capabilityByName(std::string_view name);

/// libvirt's name for CAP_* number `cap` ("" for an unknown number).
std::string_view capabilityName(int cap);

/// The capabilities a container keeps when its definition says nothing (policy 'default').
/// `userNamespace`: its root is root of a user namespace of its own, and its capabilities act
/// on what that namespace owns; only those that are always checked against the host's
/// namespace (and so give nothing but kernel attack surface) are dropped. Otherwise its root is
/// the host's root: it keeps only what acts on its own processes and files and on a network
/// namespace of its own (`privateNetwork`).
std::vector<int> defaultCapabilities(bool userNamespace, bool privateNetwork);

/// One child of <features><capabilities>: <NAME state='on|off'/>.
struct CapabilityChoice {
    int cap = 0;
    bool on = false;
};

/// libvirt's policies: "default" = defaultCapabilities() with `choices` applied, "allow" = every
/// capability but those turned off, "deny" = none but those turned on. Sorted, no duplicates.
std::vector<int> chooseCapabilities(std::string_view policy, const std::vector<CapabilityChoice>& choices,
                                    bool userNamespace, bool privateNetwork);

/// The system calls the container's seccomp filter refuses, given the capabilities it keeps:
/// some are refused outright (loading a new kernel), the others unless the capability that
/// would allow them was kept on purpose (as Docker's default profile does).
std::vector<host::SyscallDenial> deniedSyscalls(const std::vector<int>& keptCapabilities);

}  // namespace corral::drivers::lxc
