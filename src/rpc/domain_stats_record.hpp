// SPDX-License-Identifier: LGPL-2.1-or-later
// What one GET_ALL_DOMAIN_STATS record says about a guest, read by the typed parameters' public
// names (state.state, cpu.time, balloon.*, vcpu.current, block.N.*, net.N.*): corrald's metrics
// endpoint and `corral top` read records through this one function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rpc/generated/remote_protocol.hpp"

namespace corral::rpc {

/// One disk's counters (block.N.*); -1 where the record does not carry the counter.
struct DiskCounters {
    std::string name;  ///< block.N.name: the target ("vda")
    std::int64_t readBytes = -1;
    std::int64_t readRequests = -1;
    std::int64_t writeBytes = -1;
    std::int64_t writeRequests = -1;
};

/// One interface's counters (net.N.*), as the guest sees them; -1 where not carried.
struct InterfaceCounters {
    std::string name;  ///< net.N.name: the host device ("vnet0")
    std::int64_t rxBytes = -1;
    std::int64_t rxPackets = -1;
    std::int64_t txBytes = -1;
    std::int64_t txPackets = -1;
};

/// The figures of one record. Groups the record lacks (an inactive guest has no cpu.time) stay
/// nullopt or empty.
struct GuestStats {
    std::optional<int> state;                   ///< state.state: virDomainState
    std::optional<std::uint64_t> cpuTimeNs;     ///< cpu.time
    std::optional<std::uint64_t> memoryKiB;     ///< balloon.current
    std::optional<std::uint64_t> maxMemoryKiB;  ///< balloon.maximum
    std::optional<std::uint64_t> vcpus;         ///< vcpu.current
    std::vector<DiskCounters> disks;
    std::vector<InterfaceCounters> interfaces;
};

/// Reads `params` (any order; unknown fields ignored). A field of an unexpected type or a
/// negative count is treated as absent; block.count and net.count are trusted only as far as
/// the record has entries, so a hostile count costs nothing.
GuestStats readGuestStats(const std::vector<proto::remote_typed_param>& params);

}  // namespace corral::rpc
