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
    /// virDomainSetMemoryFlags (virsh setmem; setmaxmem with memory_flags::kMaximum), in KiB.
    /// Live, the guest's balloon is asked to reach the size; the maximum of a running guest
    /// cannot change. Errors: InvalidArg above the maximum, OperationInvalid live on a guest
    /// without a balloon or with kMaximum, OperationUnsupported where the driver cannot.
    virtual Result<void> setMemory(const DomainRef& dom, std::uint64_t kib, unsigned flags) = 0;
    /// virDomainSetVcpusFlags (virsh setvcpus): the vCPUs online (or, with vcpu_flags::kMaximum,
    /// the maximum of the persistent definition). Live, vCPUs are plugged into the running guest.
    /// Errors: InvalidArg above the maximum or for the maximum of a running guest,
    /// OperationUnsupported for what the driver cannot do to a running guest.
    virtual Result<void> setVcpus(const DomainRef& dom, unsigned count, unsigned flags) = 0;
};

/// Flags of virDomainSetMemoryFlags beyond affect_flags.
namespace memory_flags {
inline constexpr unsigned kMaximum = 1u << 2;
}
/// Flags of virDomainSetVcpusFlags beyond affect_flags.
namespace vcpu_flags {
inline constexpr unsigned kMaximum = 1u << 2;
inline constexpr unsigned kGuest = 1u << 3;
inline constexpr unsigned kHotpluggable = 1u << 4;
}  // namespace vcpu_flags

}  // namespace corral::drivers
