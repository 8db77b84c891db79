// SPDX-License-Identifier: LGPL-2.1-or-later
// `corral top`'s arithmetic: rates, totals, order.
#include "top_rates.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

namespace corral::cli {

namespace {

constexpr int kStateRunning = 1;  // virDomainState

/// (after - before) / seconds; 0 when the counter went backwards or no time passed.
double ratePerSecond(std::uint64_t before, std::uint64_t after, double seconds) {
    if (after < before || seconds <= 0) {
        return 0;
    }
    return static_cast<double>(after - before) / seconds;
}

/// The sum of one counter over a guest's disks or interfaces; those without it count 0.
template <class Device>
std::uint64_t sumOf(const std::vector<Device>& devices, std::int64_t Device::*counter) {
    std::uint64_t total = 0;
    for (const auto& d : devices) {
        total += d.*counter > 0 ? static_cast<std::uint64_t>(d.*counter) : 0;
    }
    return total;
}

template <class Device>
double deviceRate(const std::vector<Device>* before, const std::vector<Device>& now,
                  std::int64_t Device::*counter, double seconds) {
    return before == nullptr ? 0
                             : ratePerSecond(sumOf(*before, counter), sumOf(now, counter), seconds);
}

}  // namespace

TopRow computeTopRow(const TopSample* before, const TopSample& now, double wallSeconds) {
    const rpc::GuestStats& s = now.stats;
    const rpc::GuestStats* b = before != nullptr ? &before->stats : nullptr;
    TopRow row;
    row.name = now.name;
    row.id = now.id;
    row.state = s.state.value_or(0);
    row.memoryKiB = s.memoryKiB.value_or(0);
    row.vcpus = s.vcpus.value_or(0);
    if (b != nullptr && b->cpuTimeNs && s.cpuTimeNs) {
        row.cpuPercent = ratePerSecond(*b->cpuTimeNs, *s.cpuTimeNs, wallSeconds) / 1e9 * 100;
    }
    row.readBytesPerSec =
        deviceRate(b ? &b->disks : nullptr, s.disks, &rpc::DiskCounters::readBytes, wallSeconds);
    row.writeBytesPerSec =
        deviceRate(b ? &b->disks : nullptr, s.disks, &rpc::DiskCounters::writeBytes, wallSeconds);
    row.rxBytesPerSec = deviceRate(b ? &b->interfaces : nullptr, s.interfaces,
                                   &rpc::InterfaceCounters::rxBytes, wallSeconds);
    row.txBytesPerSec = deviceRate(b ? &b->interfaces : nullptr, s.interfaces,
                                   &rpc::InterfaceCounters::txBytes, wallSeconds);
    return row;
}

std::vector<TopRow> computeTopRows(const std::vector<TopSample>& before,
                                   const std::vector<TopSample>& now, double wallSeconds) {
    std::map<std::string, const TopSample*> previous;
    for (const auto& b : before) {
        previous.emplace(b.uuid, &b);
    }
    std::vector<TopRow> rows;
    rows.reserve(now.size());
    for (const auto& n : now) {
        auto it = previous.find(n.uuid);
        rows.push_back(computeTopRow(it == previous.end() ? nullptr : it->second, n, wallSeconds));
    }
    return rows;
}

std::optional<TopSort> parseTopSort(std::string_view text) {
    if (text == "cpu") {
        return TopSort::Cpu;
    }
    if (text == "mem") {
        return TopSort::Memory;
    }
    if (text == "name") {
        return TopSort::Name;
    }
    return std::nullopt;
}

void sortTopRows(std::vector<TopRow>& rows, TopSort key) {
    std::stable_sort(rows.begin(), rows.end(), [key](const TopRow& a, const TopRow& b) {
        if (key == TopSort::Cpu && a.cpuPercent != b.cpuPercent) {
            return a.cpuPercent > b.cpuPercent;
        }
        if (key == TopSort::Memory && a.memoryKiB != b.memoryKiB) {
            return a.memoryKiB > b.memoryKiB;
        }
        return a.name < b.name;
    });
}

TopTotals totalsOf(const std::vector<TopRow>& rows) {
    TopTotals t;
    t.domains = rows.size();
    for (const auto& r : rows) {
        t.running += r.state == kStateRunning ? 1 : 0;
        t.cpuPercent += r.cpuPercent;
    }
    return t;
}

std::string humanBytes(double bytes) {
    static const char kUnits[] = {'K', 'M', 'G', 'T', 'P'};
    if (bytes < 1024) {
        return std::to_string(static_cast<std::uint64_t>(bytes < 0 ? 0 : bytes));
    }
    double value = bytes / 1024;
    std::size_t unit = 0;
    while (value >= 1023.95 && unit + 1 < sizeof kUnits) {  // "1024.0K" reads better as "1.0M"
        value /= 1024;
        ++unit;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%c", value, kUnits[unit]);
    return buf;
}

}  // namespace corral::cli
