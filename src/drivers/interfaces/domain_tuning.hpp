// SPDX-License-Identifier: LGPL-2.1-or-later
// The resource-control facet: schedinfo, memtune, blkiotune and the pinning calls. Values are
// libvirt's typed parameters with libvirt's names and units; LIVE changes reach the guest's
// cgroups and threads at once, CONFIG changes the persistent definition for the next start.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "drivers/interfaces/domain_stats.hpp"

namespace corral::drivers {

/// virDomainModificationImpact.
namespace affect_flags {
inline constexpr unsigned kCurrent = 0;
inline constexpr unsigned kLive = 1u << 0;
inline constexpr unsigned kConfig = 1u << 1;
inline constexpr unsigned kAll = kLive | kConfig;
}  // namespace affect_flags

class DomainTuningControl {
public:
    virtual ~DomainTuningControl() = default;
    /// virDomainGetSchedulerType: "posix" and how many parameters a get returns.
    virtual Result<std::pair<std::string, int>> schedulerType(const DomainRef& dom) = 0;
    virtual Result<std::vector<TypedValue>> schedulerParameters(const DomainRef& dom, unsigned flags) = 0;
    virtual Result<void> setSchedulerParameters(const DomainRef& dom, const std::vector<TypedValue>& params,
                                                unsigned flags) = 0;
    virtual Result<std::vector<TypedValue>> memoryParameters(const DomainRef& dom, unsigned flags) = 0;
    virtual Result<void> setMemoryParameters(const DomainRef& dom, const std::vector<TypedValue>& params,
                                             unsigned flags) = 0;
    virtual Result<std::vector<TypedValue>> blkioParameters(const DomainRef& dom, unsigned flags) = 0;
    virtual Result<void> setBlkioParameters(const DomainRef& dom, const std::vector<TypedValue>& params,
                                            unsigned flags) = 0;
    /// `cpumap` as libvirt's: bit i of byte i/8 = host CPU i.
    virtual Result<void> pinVcpu(const DomainRef& dom, unsigned vcpu, const std::vector<std::uint8_t>& cpumap,
                                 unsigned flags) = 0;
    virtual Result<void> pinEmulator(const DomainRef& dom, const std::vector<std::uint8_t>& cpumap, unsigned flags) = 0;
    virtual Result<std::vector<std::uint8_t>> emulatorPinInfo(const DomainRef& dom, unsigned flags) = 0;
    virtual Result<void> pinIothread(const DomainRef& dom, unsigned iothread, const std::vector<std::uint8_t>& cpumap,
                                     unsigned flags) = 0;
};

}  // namespace corral::drivers
