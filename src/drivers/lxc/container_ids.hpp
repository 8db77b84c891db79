// SPDX-License-Identifier: LGPL-2.1-or-later
// The host ids of unprivileged containers: each running container without <idmap> gets 65536
// uids and gids of its own (0-65535 inside) from the pool lxc.conf sets, away from those of
// every other running container (automatic or <idmap>).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "drivers/lxc/container_plan.hpp"
#include "util/uuid.hpp"

namespace corral::drivers::lxc {

/// Ids one container gets: 0-65535 inside, as a Linux distribution expects.
inline constexpr unsigned long kContainerIdCount = 65536;

/// The pool: [first, first + count) on the host.
struct ContainerIdPool {
    unsigned long first = 0;
    unsigned long count = 0;
};

/// The first host id of a free block of kContainerIdCount ids in `pool` that overlaps none of
/// `inUse`, or nullopt when every block does. The search starts at a block derived from the
/// UUID, so a container tends to get the same ids each run (its files in bound directories keep
/// their owners) and two daemons on one host rarely collide.
std::optional<unsigned long> pickContainerIds(const Uuid& uuid, const ContainerIdPool& pool,
                                              const std::vector<IdRange>& inUse);

/// The id ranges (uid and gid maps) of the running containers whose plans are in `runDir`
/// (NAME.plan), but `exceptPlan`'s. A plan that cannot be read takes nothing.
std::vector<IdRange> idRangesInUse(const std::string& runDir, const std::string& exceptPlan);

}  // namespace corral::drivers::lxc
