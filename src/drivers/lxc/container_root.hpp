// SPDX-License-Identifier: LGPL-2.1-or-later
// The container's file system tree, assembled by a helper of the controller before init enters
// it. The helper is the host's root, working in the controller's private mount namespace, so
// it may mount what the container's root may not (a /proc for the container's pid namespace
// with its knobs read-only, the host's device nodes, id-mapped mounts). Init then copies that
// namespace into one of its own: in a user namespace the kernel locks every mount of such a
// copy (a read-only mount stays read-only, none can be unmounted to reveal what it covers, and
// no new procfs or sysfs can be mounted beside the restricted ones).
#pragma once

#include <sys/types.h>

#include <string>

#include "drivers/lxc/container_plan.hpp"

namespace corral::drivers::lxc {

/// The container root's identity on the host.
struct ContainerRootIds {
    uid_t uid = 0;    ///< the host uid of root inside (0 for a privileged container)
    gid_t gid = 0;
    int userNs = -1;  ///< its user namespace, for id-mapped mounts (-1: none)
};

/// Builds the container's tree on plan.rootStaging, in the caller's mount namespace:
/// - the root: a copy of the plan's directory (id-mapped through `ids.userNs` for an automatic
///   id range, read-only with <readonly/>), or of the host's whole tree;
/// - a new /proc with /proc/sys, sysrq-trigger, irq, bus and fs read-only, kcore, kmsg, keys
///   and timer_list masked, and the controller's views of meminfo and uptime bound in;
/// - /sys read-only: a new sysfs when the network is private, else the host's without the
///   mounts below it (no cgroup trees);
/// - /dev: a tmpfs owned by the container's root with null, zero, full, random, urandom, tty,
///   a private devpts, /dev/shm, the usual links, and `consoleSlave` as console and tty1;
/// - the plan's other mounts (directories id-mapped as the root is).
/// What comes from the host is copied first; then the caller chroots into the new root, so
/// that no path it resolves (nor a symbolic link the container left in its root) leads out of
/// it. Call as the host's root, in a process that exits afterwards, in the container's pid
/// namespace (the new /proc is the caller's) and, when it is private, its network namespace
/// (the new sysfs is the caller's), while the controller serves the /proc views. Returns "" or
/// why it failed.
std::string prepareContainerRoot(const ContainerPlan& plan, const std::string& consoleSlave,
                                 const ContainerRootIds& ids);

}  // namespace corral::drivers::lxc
