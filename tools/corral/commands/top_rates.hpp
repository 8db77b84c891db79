// SPDX-License-Identifier: LGPL-2.1-or-later
// `corral top`'s arithmetic: per-guest rates between two GET_ALL_DOMAIN_STATS samples, the
// header's totals and the order of the rows. Pure (no I/O, no clock), so it is unit-tested.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rpc/domain_stats_record.hpp"

namespace corral::cli {

/// One guest in one sample.
struct TopSample {
    std::string name;
    std::string uuid;  ///< what matches a guest across samples (a name can be reused)
    int id = -1;       ///< -1 while inactive
    rpc::GuestStats stats;
};

/// One row of the table: a guest's figures between two samples.
struct TopRow {
    std::string name;
    int id = -1;
    int state = 0;          ///< virDomainState
    double cpuPercent = 0;  ///< delta cpu.time / (delta wall * 1e9) * 100: 100 is one host CPU
    std::uint64_t memoryKiB = 0;
    std::uint64_t vcpus = 0;
    double readBytesPerSec = 0;  ///< summed over the guest's disks
    double writeBytesPerSec = 0;
    double rxBytesPerSec = 0;  ///< summed over the guest's interfaces
    double txBytesPerSec = 0;
};

/// The row of `now` given the same guest `before` (nullptr: it was not in the previous sample,
/// so its rates are 0) and `wallSeconds` between the samples. A counter that went backwards (the
/// guest restarted, a disk was unplugged) gives 0, never a negative rate.
TopRow computeTopRow(const TopSample* before, const TopSample& now, double wallSeconds);

/// A row for each guest of `now`, matched with `before` by UUID, in `now`'s order.
std::vector<TopRow> computeTopRows(const std::vector<TopSample>& before,
                                   const std::vector<TopSample>& now, double wallSeconds);

enum class TopSort { Cpu, Memory, Name };

/// "cpu", "mem" or "name"; nullopt for anything else.
std::optional<TopSort> parseTopSort(std::string_view text);

/// Largest first for cpu and mem, alphabetical for name; ties go by name.
void sortTopRows(std::vector<TopRow>& rows, TopSort key);

struct TopTotals {
    std::size_t domains = 0;
    std::size_t running = 0;
    double cpuPercent = 0;  ///< the guests' sum, on the rows' scale
};
TopTotals totalsOf(const std::vector<TopRow>& rows);

/// A byte count for a narrow column, in steps of 1024: "0", "512", "1.5K", "12.0M", "2.0G".
std::string humanBytes(double bytes);

}  // namespace corral::cli
