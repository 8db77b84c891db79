// SPDX-License-Identifier: LGPL-2.1-or-later
// From a container's domain definition to the plan corral-lxc carries out (pure: no I/O), so
// what a definition turns into is tested without a kernel.
#pragma once

#include "conf/domain_def.hpp"
#include "drivers/lxc/container_plan.hpp"

namespace corral::drivers::lxc {

/// Turns a post-parsed lxc definition into a plan. Errors name what is not supported yet
/// (interfaces, idmap) or wrong (a filesystem without an absolute source or target).
Result<ContainerPlan> planContainer(const conf::DomainDef& def);

/// Accepts a container's definition only if a start would act on every part of it: the plan,
/// the cgroup limits, the typed fields. Everything else is refused with ConfigUnsupported naming
/// it (conf::refuseUnreadParts), as are values the driver cannot apply (a vCPU cpuset,
/// currentMemory below memory, core dumps, vCPU pinning...).
Result<void> checkContainerDefinition(const conf::DomainDef& def);

}  // namespace corral::drivers::lxc
