// SPDX-License-Identifier: LGPL-2.1-or-later
// The metrics endpoint's page: a snapshot of the daemon, its host and its guests written in
// Prometheus' text exposition format 0.0.4. Pure: the caller collects, this only formats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rpc/domain_stats_record.hpp"

namespace corral::daemon {

/// The Content-Type of formatMetrics()'s text.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

/// One guest, as one GET_ALL_DOMAIN_STATS record of its driver describes it.
struct GuestMetrics {
    std::string driver;  ///< "qemu", "lxc", "test"
    std::string name;
    std::string uuid;
    rpc::GuestStats stats;
};

/// Whether a driver's statistics could be read for this snapshot.
struct DriverMetrics {
    std::string driver;
    bool statsRead = false;
};

struct MetricsSnapshot {
    std::size_t clients = 0;  ///< connected RPC clients
    std::optional<std::uint64_t> hostMemoryKiB;
    std::optional<unsigned> hostCpus;
    std::vector<DriverMetrics> drivers;
    std::vector<GuestMetrics> guests;
};

/// Every series of `snapshot`, each family once with its # HELP and # TYPE lines. Guests are
/// labelled {driver, domain, uuid}; disks add device=, interfaces interface=. A figure the
/// snapshot lacks (an inactive guest's CPU time) is left out, not written as 0.
std::string formatMetrics(const MetricsSnapshot& snapshot);

/// A label value as the exposition format wants it between quotes: \ " and newline escaped.
std::string escapeLabelValue(std::string_view value);

}  // namespace corral::daemon
