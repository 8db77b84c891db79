// SPDX-License-Identifier: LGPL-2.1-or-later
// A container's /proc/meminfo and /proc/uptime from the host's texts (recorded on this project's
// CI machine) and cgroup figures of both versions.
#include "drivers/lxc/container_meminfo.hpp"

#include <gtest/gtest.h>

#include <map>

#include "util/strings.hpp"

namespace corral::drivers::lxc {
namespace {

// The CI machine's /proc/meminfo (kernel 6.18, no swap).
constexpr const char* kHostMeminfo =
    "MemTotal:       24682416 kB\n"
    "MemFree:        23121476 kB\n"
    "MemAvailable:   24261160 kB\n"
    "Buffers:           21232 kB\n"
    "Cached:          1268616 kB\n"
    "SwapCached:            0 kB\n"
    "Active:           499020 kB\n"
    "Inactive:         790572 kB\n"
    "Active(anon):       1556 kB\n"
    "Inactive(anon):    10996 kB\n"
    "Active(file):     497464 kB\n"
    "Inactive(file):   779576 kB\n"
    "Unevictable:       19624 kB\n"
    "Mlocked:           17128 kB\n"
    "SwapTotal:             0 kB\n"
    "SwapFree:              0 kB\n"
    "Zswap:                 0 kB\n"
    "Zswapped:              0 kB\n"
    "Dirty:               388 kB\n"
    "Writeback:             0 kB\n"
    "AnonPages:         19504 kB\n"
    "Mapped:            25056 kB\n"
    "Shmem:             12776 kB\n"
    "KReclaimable:     149936 kB\n"
    "Slab:             179728 kB\n"
    "SReclaimable:     149936 kB\n"
    "SUnreclaim:        29792 kB\n"
    "KernelStack:        1956 kB\n"
    "PageTables:         2196 kB\n"
    "SecPageTables:         0 kB\n"
    "NFS_Unstable:          0 kB\n"
    "Bounce:                0 kB\n"
    "WritebackTmp:          0 kB\n"
    "CommitLimit:    12341208 kB\n"
    "Committed_AS:     305820 kB\n"
    "VmallocTotal:   34359738367 kB\n"
    "VmallocUsed:       14716 kB\n"
    "VmallocChunk:          0 kB\n"
    "Percpu:              824 kB\n"
    "AnonHugePages:         0 kB\n"
    "ShmemHugePages:        0 kB\n"
    "ShmemPmdMapped:        0 kB\n"
    "FileHugePages:      8192 kB\n"
    "FilePmdMapped:         0 kB\n"
    "Balloon:               0 kB\n"
    "HugePages_Total:       0\n"
    "HugePages_Free:        0\n"
    "HugePages_Rsvd:        0\n"
    "HugePages_Surp:        0\n"
    "Hugepagesize:       2048 kB\n"
    "Hugetlb:               0 kB\n"
    "DirectMap4k:       24576 kB\n"
    "DirectMap2M:     2072576 kB\n"
    "DirectMap1G:    25165824 kB\n";

// A v1 memory.stat in the CI machine's format: the group's own counters (small: its pages are
// mostly in a sub-group) and the hierarchical total_* ones, which are what the container uses.
constexpr const char* kV1Stat =
    "cache 4096\nrss 8192\nrss_huge 0\nshmem 0\nmapped_file 0\ndirty 0\nwriteback 0\nswap 0\n"
    "swapcached 0\npgpgin 55665\npgpgout 50317\npgfault 61687\npgmajfault 1\ninactive_anon 0\n"
    "active_anon 8192\ninactive_file 4096\nactive_file 0\nunevictable 0\n"
    "hierarchical_memory_limit 268435456\nhierarchical_memsw_limit 9223372036854771712\n"
    "total_cache 41943040\ntotal_rss 52428800\ntotal_rss_huge 2097152\ntotal_shmem 4194304\n"
    "total_mapped_file 8388608\ntotal_dirty 8192\ntotal_writeback 4096\ntotal_swap 0\n"
    "total_swapcached 0\ntotal_pgpgin 46081771\ntotal_pgpgout 45880816\ntotal_pgfault 49151967\n"
    "total_pgmajfault 4625\ntotal_inactive_anon 12582912\ntotal_active_anon 41943040\n"
    "total_inactive_file 20971520\ntotal_active_file 16777216\ntotal_unevictable 1048576\n";

// A v2 memory.stat (kernel 6.1 order, trimmed of event counters).
constexpr const char* kV2Stat =
    "anon 52428800\nfile 41943040\nkernel 4456448\nkernel_stack 327680\npagetables 1048576\n"
    "sec_pagetables 0\npercpu 0\nsock 0\nvmalloc 0\nshmem 4194304\nzswap 0\nzswapped 0\n"
    "file_mapped 8388608\nfile_dirty 8192\nfile_writeback 4096\nswapcached 0\nanon_thp 2097152\n"
    "file_thp 0\nshmem_thp 0\ninactive_anon 12582912\nactive_anon 41943040\ninactive_file 20971520\n"
    "active_file 16777216\nunevictable 1048576\nslab_reclaimable 2097152\nslab_unreclaimable 1048576\n"
    "slab 3145728\nworkingset_refault_anon 0\npgfault 1000\n";

constexpr std::uint64_t kMiB = 1024 * 1024;

/// "Name" -> the line, for the lines of a meminfo text.
std::map<std::string, std::string> linesOf(const std::string& text) {
    std::map<std::string, std::string> lines;
    for (const auto& line : splitString(text, '\n')) {
        if (auto colon = line.find(':'); colon != std::string::npos) {
            lines[line.substr(0, colon)] = line;
        }
    }
    return lines;
}

/// Only the names, in order: the container's file must have the host's lines.
std::string namesOf(const std::string& text) {
    std::string names;
    for (const auto& line : splitString(text, '\n')) {
        names += line.substr(0, line.find(':')) + ",";
    }
    return names;
}

std::string withHostSwap(std::uint64_t totalKiB, std::uint64_t freeKiB) {
    std::string host = kHostMeminfo;
    auto replace = [&](const std::string& from, const std::string& to) {
        host.replace(host.find(from), from.size(), to);
    };
    std::string total = std::to_string(totalKiB), free = std::to_string(freeKiB);
    replace("SwapTotal:             0 kB", "SwapTotal:      " + std::string(8 - total.size(), ' ') + total + " kB");
    replace("SwapFree:              0 kB", "SwapFree:       " + std::string(8 - free.size(), ' ') + free + " kB");
    return host;
}

TEST(ContainerMeminfo, V1LimitAndHierarchicalCountersReplaceTheHostFigures) {
    ContainerMemory mem;
    mem.limitBytes = 256 * kMiB;
    mem.usageBytes = 100 * kMiB;
    mem.stat = kV1Stat;
    auto text = containerMeminfo(kHostMeminfo, mem);
    ASSERT_TRUE(text) << text.error().message;
    EXPECT_EQ(namesOf(*text), namesOf(kHostMeminfo));
    auto lines = linesOf(*text);
    EXPECT_EQ(lines["MemTotal"], "MemTotal:         262144 kB");
    EXPECT_EQ(lines["MemFree"], "MemFree:          159744 kB");       // 256 - 100 MiB
    EXPECT_EQ(lines["MemAvailable"], "MemAvailable:     196608 kB");  // free + active + inactive file
    EXPECT_EQ(lines["Buffers"], "Buffers:               0 kB");
    EXPECT_EQ(lines["Cached"], "Cached:            40960 kB");  // total_cache, not the group's own
    EXPECT_EQ(lines["SwapCached"], "SwapCached:            0 kB");
    EXPECT_EQ(lines["Active"], "Active:            57344 kB");
    EXPECT_EQ(lines["Inactive"], "Inactive:          32768 kB");
    EXPECT_EQ(lines["Active(anon)"], "Active(anon):      40960 kB");
    EXPECT_EQ(lines["Inactive(anon)"], "Inactive(anon):    12288 kB");
    EXPECT_EQ(lines["Active(file)"], "Active(file):      16384 kB");
    EXPECT_EQ(lines["Inactive(file)"], "Inactive(file):    20480 kB");
    EXPECT_EQ(lines["Unevictable"], "Unevictable:        1024 kB");
    EXPECT_EQ(lines["Dirty"], "Dirty:                 8 kB");
    EXPECT_EQ(lines["Writeback"], "Writeback:             4 kB");
    EXPECT_EQ(lines["AnonPages"], "AnonPages:         51200 kB");
    EXPECT_EQ(lines["Mapped"], "Mapped:             8192 kB");
    EXPECT_EQ(lines["Shmem"], "Shmem:              4096 kB");
    EXPECT_EQ(lines["AnonHugePages"], "AnonHugePages:      2048 kB");
    EXPECT_EQ(lines["SwapTotal"], "SwapTotal:             0 kB");  // the host has none
    EXPECT_EQ(lines["SwapFree"], "SwapFree:              0 kB");
    // What v1 does not count stays the host's, byte for byte.
    EXPECT_EQ(lines["Slab"], "Slab:             179728 kB");
    EXPECT_EQ(lines["VmallocTotal"], "VmallocTotal:   34359738367 kB");
    EXPECT_EQ(lines["HugePages_Total"], "HugePages_Total:       0");
    EXPECT_EQ(lines["DirectMap1G"], "DirectMap1G:    25165824 kB");
    EXPECT_EQ(text->back(), '\n');
}

TEST(ContainerMeminfo, V2NamesGiveTheSameFiguresAndTheKernelCounters) {
    ContainerMemory mem;
    mem.limitBytes = 256 * kMiB;
    mem.usageBytes = 100 * kMiB;
    mem.stat = kV2Stat;
    auto text = containerMeminfo(kHostMeminfo, mem);
    ASSERT_TRUE(text) << text.error().message;
    auto lines = linesOf(*text);
    EXPECT_EQ(lines["MemTotal"], "MemTotal:         262144 kB");
    EXPECT_EQ(lines["Cached"], "Cached:            40960 kB");
    EXPECT_EQ(lines["AnonPages"], "AnonPages:         51200 kB");
    EXPECT_EQ(lines["Mapped"], "Mapped:             8192 kB");
    EXPECT_EQ(lines["Dirty"], "Dirty:                 8 kB");
    EXPECT_EQ(lines["Writeback"], "Writeback:             4 kB");
    EXPECT_EQ(lines["AnonHugePages"], "AnonHugePages:      2048 kB");
    EXPECT_EQ(lines["Active"], "Active:            57344 kB");
    EXPECT_EQ(lines["Slab"], "Slab:               3072 kB");
    EXPECT_EQ(lines["SReclaimable"], "SReclaimable:       2048 kB");
    EXPECT_EQ(lines["KReclaimable"], "KReclaimable:       2048 kB");
    EXPECT_EQ(lines["SUnreclaim"], "SUnreclaim:         1024 kB");
    EXPECT_EQ(lines["KernelStack"], "KernelStack:         320 kB");
    EXPECT_EQ(lines["PageTables"], "PageTables:         1024 kB");
}

TEST(ContainerMeminfo, SwapIsMemswLessTheLimitAndNeverMoreThanTheHostHas) {
    ContainerMemory mem;
    mem.limitBytes = 256 * kMiB;
    mem.usageBytes = 100 * kMiB;
    mem.memswLimitBytes = (256 + 512) * kMiB;
    mem.memswUsageBytes = (100 + 10) * kMiB;
    mem.stat = kV1Stat;
    std::string host = withHostSwap(2097152, 2000000);
    auto text = containerMeminfo(host, mem);
    ASSERT_TRUE(text) << text.error().message;
    auto lines = linesOf(*text);
    EXPECT_EQ(lines["SwapTotal"], "SwapTotal:        524288 kB");
    EXPECT_EQ(lines["SwapFree"], "SwapFree:         514048 kB");  // 10 MiB swapped out

    mem.memswLimitBytes = 256 * kMiB + 8192 * kMiB;  // more swap than the host has
    text = containerMeminfo(host, mem);
    ASSERT_TRUE(text) << text.error().message;
    lines = linesOf(*text);
    EXPECT_EQ(lines["SwapTotal"], "SwapTotal:       2097152 kB");
    EXPECT_EQ(lines["SwapFree"], "SwapFree:        2000000 kB");  // what the host has left

    mem.memswLimitBytes.reset();  // memsw unlimited: the host's swap, less the container's use
    mem.memswUsageBytes.reset();
    mem.stat = std::string(kV1Stat) + "total_swap 1048576\n";  // later keys win: 1 MiB swapped
    text = containerMeminfo(withHostSwap(2097152, 2097152), mem);
    ASSERT_TRUE(text) << text.error().message;
    lines = linesOf(*text);
    EXPECT_EQ(lines["SwapTotal"], "SwapTotal:       2097152 kB");
    EXPECT_EQ(lines["SwapFree"], "SwapFree:        2096128 kB");
}

TEST(ContainerMeminfo, WithoutALimitTheHostBoundsWhatIsFree) {
    ContainerMemory mem;
    mem.usageBytes = 100 * kMiB;
    mem.stat = kV1Stat;
    auto text = containerMeminfo(kHostMeminfo, mem);
    ASSERT_TRUE(text) << text.error().message;
    auto lines = linesOf(*text);
    EXPECT_EQ(lines["MemTotal"], "MemTotal:       24682416 kB");
    EXPECT_EQ(lines["MemFree"], "MemFree:        23121476 kB");  // the host's, not total - usage
    EXPECT_EQ(lines["MemAvailable"], "MemAvailable:   24261160 kB");
    EXPECT_EQ(lines["Cached"], "Cached:            40960 kB");

    // v1's "no limit" is a huge number: the same as none.
    mem.limitBytes = 9223372036854771712ULL;
    auto again = containerMeminfo(kHostMeminfo, mem);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *text);
}

TEST(ContainerMeminfo, UsageOverTheLimitLeavesNothingFree) {
    ContainerMemory mem;
    mem.limitBytes = 64 * kMiB;
    mem.usageBytes = 65 * kMiB;  // the kernel lets usage overshoot briefly before reclaiming
    auto text = containerMeminfo(kHostMeminfo, mem);
    ASSERT_TRUE(text) << text.error().message;
    auto lines = linesOf(*text);
    EXPECT_EQ(lines["MemTotal"], "MemTotal:          65536 kB");
    EXPECT_EQ(lines["MemFree"], "MemFree:               0 kB");
    EXPECT_EQ(lines["MemAvailable"], "MemAvailable:          0 kB");
    EXPECT_EQ(lines["Cached"], "Cached:          1268616 kB");  // no memory.stat: the host line stays
}

TEST(ContainerMeminfo, WideValuesKeepTheKernelLayout) {
    std::string host = "MemTotal:       134217728 kB\nMemFree:        100000000 kB\n";
    ContainerMemory mem;
    mem.usageBytes = kMiB;
    auto text = containerMeminfo(host, mem);
    ASSERT_TRUE(text) << text.error().message;
    EXPECT_EQ(*text, "MemTotal:       134217728 kB\nMemFree:        100000000 kB\n");
}

TEST(ContainerMeminfo, HostTextWithoutMemTotalIsAnError) {
    auto text = containerMeminfo("garbage\n", ContainerMemory{});
    ASSERT_FALSE(text);
    EXPECT_EQ(text.error().code, ErrorCode::ParseFailed);
    EXPECT_NE(text.error().message.find("MemTotal"), std::string::npos);
}

TEST(ContainerUptime, CountsFromInitAndScalesIdle) {
    auto text = containerUptime("13584.27 24045.74\n", 13000.27);
    ASSERT_TRUE(text) << text.error().message;
    EXPECT_EQ(*text, "584.00 1033.75\n");
    // A start after "now" (host uptime read before the stat line): never negative.
    text = containerUptime("100.00 150.00\n", 100.5);
    ASSERT_TRUE(text);
    EXPECT_EQ(*text, "0.00 0.00\n");
    EXPECT_FALSE(containerUptime("not a number\n", 0));
    EXPECT_FALSE(containerUptime("", 0));
}

TEST(ContainerUptime, StartTimeComesFromField22OfTheStatLine) {
    // This machine's /proc/1/stat, with a command name that holds spaces and parentheses.
    std::string stat =
        "4242 (my (odd) init) S 0 0 0 0 -1 4194560 58989 15595080 69 1847 798 3037 68317 11578 20 0 13 0 "
        "130050 49303552 4321 18446744073709551615 1 1 0 0 0 0 0 4096 1088 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
    auto start = processStartSeconds(stat, 100);
    ASSERT_TRUE(start);
    EXPECT_DOUBLE_EQ(*start, 1300.5);
    EXPECT_FALSE(processStartSeconds("4242 (x) S 0 0", 100));
    EXPECT_FALSE(processStartSeconds("no parenthesis", 100));
    EXPECT_FALSE(processStartSeconds(stat, 0));
}

}  // namespace
}  // namespace corral::drivers::lxc
