// SPDX-License-Identifier: LGPL-2.1-or-later
// corral top's arithmetic: rates from two samples, totals, order, byte columns.
#include "top_rates.hpp"

#include <gtest/gtest.h>

using namespace corral;
using namespace corral::cli;

namespace {

TopSample guest(const std::string& name, std::uint64_t cpuNs, std::int64_t readBytes = -1,
                std::int64_t rxBytes = -1) {
    TopSample s;
    s.name = name;
    s.uuid = "uuid-" + name;
    s.id = 1;
    s.stats.state = 1;
    s.stats.cpuTimeNs = cpuNs;
    s.stats.memoryKiB = 1024;
    s.stats.vcpus = 2;
    s.stats.disks = {{"vda", readBytes, -1, -1, -1}};
    s.stats.interfaces = {{"vnet0", rxBytes, -1, -1, -1}};
    return s;
}

}  // namespace

TEST(TopRates, CpuPercentIsCpuTimeOverWallTime) {
    // Half a second of CPU in two seconds is 25 %; two vCPUs flat out for one second, 200 %.
    TopSample earlier = guest("a", 1000000000);
    EXPECT_DOUBLE_EQ(computeTopRow(&earlier, guest("a", 1500000000), 2.0).cpuPercent, 25.0);
    TopSample before = guest("b", 0);
    EXPECT_DOUBLE_EQ(computeTopRow(&before, guest("b", 2000000000), 1.0).cpuPercent, 200.0);
}

TEST(TopRates, DiskAndNetworkRatesAreSummedOverDevices) {
    TopSample before = guest("a", 0, 1000, 100);
    before.stats.disks.push_back({"vdb", 4000, -1, 10, -1});
    TopSample now = guest("a", 0, 3000, 600);
    now.stats.disks.push_back({"vdb", 6000, -1, 2058, -1});
    auto row = computeTopRow(&before, now, 2.0);
    EXPECT_DOUBLE_EQ(row.readBytesPerSec, 2000.0);  // (2000 + 2000) / 2
    EXPECT_DOUBLE_EQ(row.writeBytesPerSec, 1024.0);
    EXPECT_DOUBLE_EQ(row.rxBytesPerSec, 250.0);
    EXPECT_DOUBLE_EQ(row.txBytesPerSec, 0.0);  // not counted: 0, not -1
    EXPECT_EQ(row.memoryKiB, 1024u);
    EXPECT_EQ(row.vcpus, 2u);
}

TEST(TopRates, NoPreviousSampleOrCountersGoingBackwardsGiveZero) {
    auto fresh = computeTopRow(nullptr, guest("a", 5000000000, 100, 100), 1.0);
    EXPECT_EQ(fresh.cpuPercent, 0.0);
    EXPECT_EQ(fresh.readBytesPerSec, 0.0);
    TopSample before = guest("a", 9000000000, 5000, 5000);  // restarted since: counters reset
    auto restarted = computeTopRow(&before, guest("a", 1000000000, 10, 10), 1.0);
    EXPECT_EQ(restarted.cpuPercent, 0.0);
    EXPECT_EQ(restarted.readBytesPerSec, 0.0);
    EXPECT_EQ(restarted.rxBytesPerSec, 0.0);
    EXPECT_EQ(computeTopRow(&before, guest("a", 9500000000), 0.0).cpuPercent,
              0.0);  // no time passed
    TopSample stopped = guest("a", 0);
    stopped.stats.cpuTimeNs.reset();
    stopped.stats.state = 5;
    EXPECT_EQ(computeTopRow(&before, stopped, 1.0).cpuPercent, 0.0);
}

TEST(TopRates, RowsMatchGuestsByUuid) {
    std::vector<TopSample> before = {guest("a", 0), guest("b", 0)};
    TopSample renamed = guest("c", 1000000000);
    renamed.uuid = "uuid-a";  // a renamed guest keeps its history
    std::vector<TopSample> now = {renamed, guest("new", 1000000000)};
    auto rows = computeTopRows(before, now, 1.0);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].name, "c");
    EXPECT_DOUBLE_EQ(rows[0].cpuPercent, 100.0);
    EXPECT_EQ(rows[1].name, "new");
    EXPECT_EQ(rows[1].cpuPercent, 0.0);
}

TEST(TopRates, SortsAndTotals) {
    std::vector<TopRow> rows(3);
    rows[0] = {"b", 1, 1, 10.0, 100, 1, 0, 0, 0, 0};
    rows[1] = {"a", 2, 1, 50.0, 50, 1, 0, 0, 0, 0};
    rows[2] = {"c", -1, 5, 0.0, 300, 1, 0, 0, 0, 0};
    sortTopRows(rows, TopSort::Cpu);
    EXPECT_EQ(rows[0].name, "a");
    EXPECT_EQ(rows[2].name, "c");
    sortTopRows(rows, TopSort::Memory);
    EXPECT_EQ(rows[0].name, "c");
    EXPECT_EQ(rows[1].name, "b");
    sortTopRows(rows, TopSort::Name);
    EXPECT_EQ(rows[0].name, "a");
    auto t = totalsOf(rows);
    EXPECT_EQ(t.domains, 3u);
    EXPECT_EQ(t.running, 2u);
    EXPECT_DOUBLE_EQ(t.cpuPercent, 60.0);
    EXPECT_EQ(parseTopSort("mem"), TopSort::Memory);
    EXPECT_FALSE(parseTopSort("memory"));
}

TEST(TopRates, HumanBytes) {
    EXPECT_EQ(humanBytes(0), "0");
    EXPECT_EQ(humanBytes(1023), "1023");
    EXPECT_EQ(humanBytes(1536), "1.5K");
    EXPECT_EQ(humanBytes(2.0 * 1024 * 1024 * 1024), "2.0G");
    EXPECT_EQ(humanBytes(1024.0 * 1024 - 1), "1.0M");
}
