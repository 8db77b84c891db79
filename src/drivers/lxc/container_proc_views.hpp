// SPDX-License-Identifier: LGPL-2.1-or-later
// A container's own /proc/meminfo and /proc/uptime, as libvirt's LXC driver gives them through
// FUSE: the controller serves them (from the container's memory cgroup and its init's start
// time) on a FUSE mount made before init exists, bound over the container's new /proc
// (container_root.cpp).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>

#include "drivers/lxc/container_plan.hpp"
#include "host/fuse_files.hpp"

namespace corral::drivers::lxc {

/// The files served, as they appear under /proc.
inline constexpr const char* kProcViews[] = {"meminfo", "uptime"};

/// Mounts the views on plan.procViewsDir (created when missing). Call before joining the
/// container's cgroup: the devices controller would refuse /dev/fuse afterwards. `init` is
/// read by the uptime view once it is set.
Result<std::unique_ptr<host::FuseFiles>> mountProcViews(const ContainerPlan& plan, const std::atomic<pid_t>& init);

}  // namespace corral::drivers::lxc
