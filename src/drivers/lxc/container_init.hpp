// SPDX-License-Identifier: LGPL-2.1-or-later
// The container side of corral-lxc: the in-namespace sequence that turns a freshly cloned
// process into the container's init (namespaces, network, the assembled root, privileges), and
// the controller that owns it (ids, interfaces, the tree of container_root.hpp, console, exit
// status). One straight sequence, like crun's, so that what a container can see and do is
// readable top to bottom.
#pragma once

#include <string>

#include "drivers/lxc/container_plan.hpp"

namespace corral::drivers::lxc {

/// corral-lxc's main work: joins the cgroup, starts init in new pid, user (unless privileged),
/// uts, ipc, cgroup, network (when private) and mount namespaces, reports "ok" (or the error)
/// on `readyFd`, copies the console to the plan's log, and when init ends records how in the
/// plan's exit file. Returns the controller's exit code.
int runController(const ContainerPlan& plan, int readyFd);

/// How init ended, as the controller records it and the daemon reads it back.
enum class InitExit { Shutdown, Reboot, Crashed, Killed };
InitExit classifyInitExit(int waitStatus);
std::string initExitName(InitExit exit);

}  // namespace corral::drivers::lxc
