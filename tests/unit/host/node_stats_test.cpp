// SPDX-License-Identifier: LGPL-2.1-or-later
// Node statistics parsers (/proc/stat, /proc/meminfo, a NUMA node's meminfo), the SMBIOS
// reader over a recorded directory, and the live readers against the running kernel.
#include "host/node_stats.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "util/files.hpp"
#include "util/strings.hpp"

namespace corral::host {
namespace {

// Recorded from a 2-CPU host (the columns: user nice system idle iowait irq softirq steal ...).
constexpr const char* kProcStat =
    "cpu  1764229 25 540000 322083 4203 1500 2213 0 0 0\n"
    "cpu0 882114 10 270000 161041 2101 750 1106 0 0 0\n"
    "cpu1 882115 15 270000 161042 2102 750 1107 0 0 0\n"
    "intr 12345 0 0\n"
    "ctxt 99\n";

TEST(NodeStats, CpuLineFoldsCountersAsLibvirtDoes) {
    auto stats = parseProcStatCpu(kProcStat, -1, 100);
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    ASSERT_EQ(stats->size(), 4u);
    EXPECT_EQ((*stats)[0].field, "kernel");
    EXPECT_EQ((*stats)[0].value, (540000ull + 1500 + 2213) * 10000000);  // system + irq + softirq
    EXPECT_EQ((*stats)[1].field, "user");
    EXPECT_EQ((*stats)[1].value, (1764229ull + 25) * 10000000);  // user + nice
    EXPECT_EQ((*stats)[2].field, "idle");
    EXPECT_EQ((*stats)[2].value, 322083ull * 10000000);
    EXPECT_EQ((*stats)[3].field, "iowait");
    EXPECT_EQ((*stats)[3].value, 4203ull * 10000000);
}

TEST(NodeStats, OneCpuAndTicksPerSecond) {
    auto stats = parseProcStatCpu(kProcStat, 1, 250);
    ASSERT_TRUE(stats.has_value());
    EXPECT_EQ((*stats)[1].value, (882115ull + 15) * 4000000);
    // "cpu1" must not match "cpu10", nor "cpu" match "cpu0".
    auto wide = parseProcStatCpu("cpu10 1 0 0 0 0 0 0\ncpu1 7 0 0 0 0 0 0\n", 1, 100);
    ASSERT_TRUE(wide.has_value());
    EXPECT_EQ((*wide)[1].value, 7ull * 10000000);
}

TEST(NodeStats, UnknownCpuIsInvalidArgWithLibvirtsWords) {
    auto stats = parseProcStatCpu(kProcStat, 2, 100);
    ASSERT_FALSE(stats.has_value());
    EXPECT_EQ(stats.error().code, ErrorCode::InvalidArg);
    EXPECT_EQ(stats.error().message, "Invalid cpuNum in virHostCPUGetStatsLinux");
    EXPECT_FALSE(parseProcStatCpu("cpu0 1 2 3\n", 0, 100).has_value());  // too few counters
}

TEST(NodeStats, MeminfoOfHostAndOfNode) {
    auto host = parseMeminfo("MemTotal:       24683748 kB\nMemFree:        16276468 kB\nMemAvailable:   1 kB\n"
                             "Buffers:           23836 kB\nCached:          5317688 kB\nSwapCached: 0 kB\n",
                             false);
    ASSERT_TRUE(host.has_value()) << host.error().message;
    ASSERT_EQ(host->size(), 4u);
    EXPECT_EQ((*host)[0].field, "total");
    EXPECT_EQ((*host)[0].value, 24683748u);
    EXPECT_EQ((*host)[1].value, 16276468u);
    EXPECT_EQ((*host)[2].field, "buffers");
    EXPECT_EQ((*host)[2].value, 23836u);
    EXPECT_EQ((*host)[3].field, "cached");
    EXPECT_EQ((*host)[3].value, 5317688u);  // not SwapCached

    auto node = parseMeminfo("Node 0 MemTotal:       24683748 kB\nNode 0 MemFree:        16426156 kB\n"
                             "Node 0 MemUsed:         8257592 kB\n",
                             true);
    ASSERT_TRUE(node.has_value()) << node.error().message;
    ASSERT_EQ(node->size(), 2u);
    EXPECT_EQ((*node)[1].field, "free");
    EXPECT_EQ((*node)[1].value, 16426156u);

    EXPECT_FALSE(parseMeminfo("MemTotal: 1 kB\n", false).has_value());
}

/// MemTotal of /proc/meminfo, in KiB.
std::uint64_t procMemTotal() {
    auto text = readTextFile("/proc/meminfo");
    auto stats = parseMeminfo(*text, false);
    return (*stats)[0].value;
}

TEST(NodeStats, LiveReadersAgreeWithTheKernel) {
    auto mem = readNodeMemoryStats(-1);
    ASSERT_TRUE(mem.has_value()) << mem.error().message;
    EXPECT_EQ((*mem)[0].value, procMemTotal());

    auto cpu = readNodeCpuStats(-1);
    ASSERT_TRUE(cpu.has_value()) << cpu.error().message;
    const long cpus = sysconf(_SC_NPROCESSORS_CONF);
    EXPECT_FALSE(readNodeCpuStats(static_cast<int>(cpus) + 1000).has_value());

    auto nodes = onlineNumaNodes();
    ASSERT_FALSE(nodes.empty());
    auto cells = readCellsFreeMemory(0, 1024);
    ASSERT_TRUE(cells.has_value()) << cells.error().message;
    EXPECT_GE(cells->size(), nodes.size());
    auto bad = readCellsFreeMemory(static_cast<int>(nodes.back()) + 1, 1);
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().message, "start cell " + std::to_string(nodes.back() + 1) + " out of range (0-" +
                                       std::to_string(nodes.back()) + ")");
    auto badCell = readNodeMemoryStats(static_cast<int>(nodes.back()) + 1);
    ASSERT_FALSE(badCell.has_value());
    EXPECT_EQ(badCell.error().code, ErrorCode::InvalidArg);

    // The NUMA cells together hold all of the host's memory.
    std::uint64_t sum = 0;
    for (const auto& cell : readNumaCells()) {
        sum += cell.memoryKiB;
        EXPECT_FALSE(cell.cpus.empty());
    }
    EXPECT_EQ(sum, procMemTotal());
}

class DmiDir : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("corral-dmi-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
    std::filesystem::path dir_;
};

TEST_F(DmiDir, SectionsInLibvirtsOrderWithoutEmptyEntries) {
    write("bios_vendor", "SeaBIOS\n");
    write("bios_version", "1.16.2-debian-1.16.2-1\n");
    write("bios_date", "04/01/2014\n");
    write("sys_vendor", "QEMU\n");
    write("product_name", "Standard PC (i440FX + PIIX, 1996)\n");
    write("product_version", "\n");  // empty: left out
    write("chassis_vendor", "QEMU\n");
    auto sections = readDmiSysinfo(dir_.string());
    ASSERT_TRUE(sections.has_value()) << sections.error().message;
    ASSERT_EQ(sections->size(), 4u);
    EXPECT_EQ((*sections)[0].name, "bios");
    ASSERT_EQ((*sections)[0].entries.size(), 3u);
    EXPECT_EQ((*sections)[0].entries[1], (std::pair<std::string, std::string>{"version", "1.16.2-debian-1.16.2-1"}));
    EXPECT_EQ((*sections)[1].name, "system");
    ASSERT_EQ((*sections)[1].entries.size(), 2u);
    EXPECT_EQ((*sections)[1].entries[1].first, "product");
    EXPECT_TRUE((*sections)[2].entries.empty());  // baseBoard
    EXPECT_EQ((*sections)[3].entries[0].second, "QEMU");
}

TEST_F(DmiDir, NoSmbiosIsConfigUnsupported) {
    auto none = readDmiSysinfo((dir_ / "missing").string());
    ASSERT_FALSE(none.has_value());
    EXPECT_EQ(none.error().code, ErrorCode::ConfigUnsupported);
    EXPECT_EQ(none.error().message, "Host SMBIOS information is not available");
    EXPECT_FALSE(readDmiSysinfo(dir_.string()).has_value());  // exists but empty
}

}  // namespace
}  // namespace corral::host
