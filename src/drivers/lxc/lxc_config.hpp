// SPDX-License-Identifier: LGPL-2.1-or-later
// lxc.conf: the LXC driver's settings, in libvirt's file format.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "util/result.hpp"

namespace corral::drivers::lxc {

struct LxcDriverConfig {
    /// pids.max of each container (Corral's key max_processes; 0 in the file = no limit). A
    /// limit by default: a fork bomb in one container must not exhaust the host's pids.
    std::optional<std::uint64_t> maxProcesses = 16384;
    /// Host ids for unprivileged containers (Corral's keys container_id_min and
    /// container_id_count): 65536 per running container. The default pool, 0x10000000 and up,
    /// room for 1024 containers, lies above the ids of ordinary users and below systemd's
    /// and the kernel's special ones.
    std::uint32_t containerIdMin = 0x10000000;
    std::uint32_t containerIdCount = 1024 * 65536;
};

/// Reads `path` (a missing file gives the defaults). libvirt's lxc.conf keys are accepted (those
/// Corral does not act on are logged); an unknown key or a bad value is an error naming the
/// file, line and key.
Result<LxcDriverConfig> loadLxcConfig(const std::string& path);

}  // namespace corral::drivers::lxc
