// SPDX-License-Identifier: LGPL-2.1-or-later
// The statistics facet: what vcpuinfo, domblkstat, domifstat, dommemstat, iothreadinfo and
// domstats read from running guests. Figures come from the hypervisor (QMP) and the host
// (/proc, /sys) at the moment of the call; nothing is cached.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "drivers/interfaces/hypervisor.hpp"

namespace corral::drivers {

/// virVcpuInfo plus the vCPU thread's affinity (one bit per host CPU, bytes as libvirt's cpumap).
struct VcpuStats {
    unsigned number = 0;
    int state = 1;  ///< virVcpuState: 0 offline, 1 running, 2 blocked
    std::uint64_t cpuTimeNs = 0;
    int cpu = -1;   ///< host CPU it last ran on
    std::vector<std::uint8_t> affinity;
};

/// One disk's I/O counters; -1 where the hypervisor does not count.
struct BlockStats {
    std::string target;  ///< <target dev>
    std::string source;  ///< file or device path ("" for an empty cdrom)
    std::int64_t rdReqs = -1, rdBytes = -1, rdTimeNs = -1;
    std::int64_t wrReqs = -1, wrBytes = -1, wrTimeNs = -1;
    std::int64_t flushReqs = -1, flushTimeNs = -1;
    std::int64_t errors = -1;
};

/// One interface's counters from the guest's point of view (a tap's rx is the guest's tx).
struct InterfaceStats {
    std::string target;  ///< host device name (vnet0)
    std::string mac;
    std::int64_t rxBytes = -1, rxPackets = -1, rxErrs = -1, rxDrop = -1;
    std::int64_t txBytes = -1, txPackets = -1, txErrs = -1, txDrop = -1;
};

/// virDomainMemoryStatTags values used here.
namespace memory_stat {
inline constexpr int kActualBalloon = 6;
inline constexpr int kRss = 7;
}  // namespace memory_stat

struct MemoryStat {
    int tag = 0;
    std::uint64_t value = 0;  ///< KiB
};

struct IothreadStats {
    unsigned id = 0;
    std::vector<std::uint8_t> affinity;
};

struct DomainStatsRecord {
    DomainRef dom;
    std::vector<TypedValue> params;
};

/// virDomainStatsTypes bits.
namespace stats_groups {
inline constexpr unsigned kState = 1u << 0;
inline constexpr unsigned kCpuTotal = 1u << 1;
inline constexpr unsigned kBalloon = 1u << 2;
inline constexpr unsigned kVcpu = 1u << 3;
inline constexpr unsigned kInterface = 1u << 4;
inline constexpr unsigned kBlock = 1u << 5;
inline constexpr unsigned kSupported = kState | kCpuTotal | kBalloon | kVcpu | kInterface | kBlock;
}  // namespace stats_groups

class DomainStatsQueries {
public:
    virtual ~DomainStatsQueries() = default;
    virtual Result<std::vector<VcpuStats>> getVcpus(const DomainRef& dom) = 0;
    /// virDomainGetVcpuPinInfo: one affinity map per vCPU of the definition (flags LIVE 1 /
    /// CONFIG 2); without pinning, every host CPU.
    virtual Result<std::vector<std::vector<std::uint8_t>>> vcpuPinInfo(const DomainRef& dom, unsigned flags) = 0;
    /// `path` is a disk's target ("vda") or source path.
    virtual Result<BlockStats> blockStats(const DomainRef& dom, const std::string& path) = 0;
    /// `device` is the interface's host device name or its MAC address.
    virtual Result<InterfaceStats> interfaceStats(const DomainRef& dom, const std::string& device) = 0;
    virtual Result<std::vector<MemoryStat>> memoryStats(const DomainRef& dom, unsigned maxStats) = 0;
    /// virDomainGetIOThreadInfo: flags LIVE 1 / CONFIG 2 (0 = live when running).
    virtual Result<std::vector<IothreadStats>> iothreadInfo(const DomainRef& dom, unsigned flags) = 0;
    /// virConnectGetAllDomainStats / virDomainListGetStats: `doms` empty means every domain
    /// that `listFlags` (virConnectGetAllDomainStatsFlags' list bits) selects.
    virtual Result<std::vector<DomainStatsRecord>> allDomainStats(const std::vector<DomainRef>& doms,
                                                                  unsigned groups, unsigned flags) = 0;
};

}  // namespace corral::drivers
