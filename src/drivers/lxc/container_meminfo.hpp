// SPDX-License-Identifier: LGPL-2.1-or-later
// The /proc/meminfo and /proc/uptime a container sees: the host's files rewritten with the
// container's cgroup figures and start time. Pure text in, text out; the controller reads the
// files and serves the result through host::FuseFiles.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace corral::drivers::lxc {

/// The container's memory cgroup, as read from its files (bytes throughout).
struct ContainerMemory {
    /// v1 memory.limit_in_bytes, v2 memory.max; nullopt when unlimited ("max", or v1's huge value).
    std::optional<std::uint64_t> limitBytes;
    /// v1 memory.usage_in_bytes, v2 memory.current.
    std::uint64_t usageBytes = 0;
    /// Memory plus swap: v1 memory.memsw.limit_in_bytes, v2 memory.max + memory.swap.max;
    /// nullopt when unlimited or when the kernel does not account swap.
    std::optional<std::uint64_t> memswLimitBytes;
    /// v1 memory.memsw.usage_in_bytes, v2 memory.current + memory.swap.current; nullopt when absent.
    std::optional<std::uint64_t> memswUsageBytes;
    /// memory.stat, either version's names (v1: cache, rss, mapped_file, total_*; v2: file, anon,
    /// file_mapped ...). v1's hierarchical total_* counters are preferred: a container's own
    /// sub-groups (systemd makes some) count toward what it uses.
    std::string stat;
};

/// The host's /proc/meminfo with the container's figures in it: the same lines in the same
/// order and format. MemTotal is the limit (or the host's total when that is smaller), MemFree is
/// MemTotal less usage, MemAvailable adds the reclaimable page cache; Cached, Active/Inactive
/// (anon, file), Unevictable, AnonPages, Mapped, Shmem, Dirty, Writeback, SwapCached come from
/// memory.stat (and v2's slab, kernel stack and page table counters when present), Buffers is 0;
/// SwapTotal is memsw less the limit (never more than the host has), SwapFree what the
/// container has not used of it. With no limit the container competes with the host, so
/// MemFree, MemAvailable and SwapFree are never more than the host's. Lines the cgroup says
/// nothing about are the host's. Errors: the host text has no MemTotal line (ParseFailed).
Result<std::string> containerMeminfo(std::string_view hostMeminfo, const ContainerMemory& memory);

/// The container's /proc/uptime from the host's: seconds since the container's init started
/// (`initStartSeconds`, host uptime at that moment: see processStartSeconds), and the host's idle
/// time scaled by the same ratio. Errors: the host text is not "UPTIME IDLE" (ParseFailed).
Result<std::string> containerUptime(std::string_view hostUptime, double initStartSeconds);

/// When a process started, in seconds of host uptime, from its /proc/PID/stat text (field 22,
/// in clock ticks; `ticksPerSecond` is sysconf(_SC_CLK_TCK)). nullopt for text that is not a
/// stat line.
std::optional<double> processStartSeconds(std::string_view procPidStat, long ticksPerSecond);

}  // namespace corral::drivers::lxc
