// SPDX-License-Identifier: LGPL-2.1-or-later
// Rewrites the host's /proc/meminfo and /proc/uptime with a container's own figures.
#include "drivers/lxc/container_meminfo.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <vector>

#include "util/strings.hpp"

namespace corral::drivers::lxc {

namespace {

using Stats = std::map<std::string, std::uint64_t, std::less<>>;

Stats parseStats(std::string_view text) {
    Stats stats;
    for (const auto& line : splitString(text, '\n')) {
        auto fields = splitString(trimString(line), ' ');
        if (fields.size() == 2) {
            if (auto value = parseUnsigned(fields[1])) {
                stats[fields[0]] = *value;
            }
        }
    }
    return stats;
}

/// A memory.stat counter in KiB under the first of `names` the file has; a v1 name's
/// hierarchical total_ form wins over the group's own.
std::optional<std::uint64_t> statKiB(const Stats& stats, std::initializer_list<std::string_view> names) {
    for (std::string_view name : names) {
        for (const std::string& key : {"total_" + std::string(name), std::string(name)}) {
            if (auto it = stats.find(key); it != stats.end()) {
                return it->second / 1024;
            }
        }
    }
    return std::nullopt;
}

std::optional<std::uint64_t> sumKiB(std::optional<std::uint64_t> a, std::optional<std::uint64_t> b) {
    if (!a || !b) {
        return std::nullopt;
    }
    return *a + *b;
}

/// The name and KiB of a "Name:   123 kB" line.
std::optional<std::pair<std::string, std::uint64_t>> parseKiBLine(std::string_view line) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos || !endsWith(line, " kB")) {
        return std::nullopt;
    }
    auto value = parseUnsigned(trimString(line.substr(colon + 1, line.size() - colon - 1 - 3)));
    if (!value) {
        return std::nullopt;
    }
    return std::pair{std::string(line.substr(0, colon)), *value};
}

/// The kernel's layout (fs/proc/meminfo.c): the label padded to 16 columns, the value
/// right-aligned in 8, then " kB".
std::string formatKiBLine(const std::string& name, std::uint64_t kib) {
    std::string label = name + ":";
    label.resize(std::max<std::size_t>(label.size(), 16), ' ');
    std::string value = std::to_string(kib);
    if (value.size() < 8) {
        value.insert(0, 8 - value.size(), ' ');
    }
    return label + value + " kB";
}

std::optional<double> parseDouble(std::string_view text) {
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

Result<std::string> containerMeminfo(std::string_view hostMeminfo, const ContainerMemory& memory) {
    std::vector<std::string> lines = splitString(hostMeminfo, '\n');
    std::map<std::string, std::uint64_t, std::less<>> host;
    for (const auto& line : lines) {
        if (auto kib = parseKiBLine(line)) {
            host.insert(*kib);
        }
    }
    auto hostValue = [&](std::string_view name) {
        auto it = host.find(name);
        return it == host.end() ? std::uint64_t{0} : it->second;
    };
    if (host.find("MemTotal") == host.end()) {
        return fail(ErrorCode::ParseFailed, "the host's meminfo has no 'MemTotal' line");
    }
    Stats stats = parseStats(memory.stat);
    std::map<std::string, std::uint64_t, std::less<>> mine;
    auto set = [&](const char* name, std::optional<std::uint64_t> kib) {
        if (kib) {
            mine[name] = *kib;
        }
    };

    std::uint64_t hostTotal = hostValue("MemTotal");
    // A limit at or above the host's memory is no limit: the host's free memory is the bound.
    bool limited = memory.limitBytes && *memory.limitBytes / 1024 < hostTotal;
    std::uint64_t total = limited ? *memory.limitBytes / 1024 : hostTotal;
    std::uint64_t usage = std::min(memory.usageBytes / 1024, total);
    std::uint64_t free = total - usage;
    auto activeFile = statKiB(stats, {"active_file"});
    auto inactiveFile = statKiB(stats, {"inactive_file"});
    // Page cache can be dropped to make room, as the kernel's own estimate counts it.
    std::uint64_t available = std::min(total, free + activeFile.value_or(0) + inactiveFile.value_or(0));
    if (!limited) {
        free = std::min(free, hostValue("MemFree"));
        if (host.count("MemAvailable") != 0) {
            available = std::min(available, hostValue("MemAvailable"));
        }
    }
    set("MemTotal", total);
    set("MemFree", free);
    set("MemAvailable", available);
    set("Buffers", 0);  // the cgroup does not count buffers apart: they are in its page cache
    set("Cached", statKiB(stats, {"cache", "file"}));
    set("SwapCached", statKiB(stats, {"swapcached"}).value_or(0));
    auto activeAnon = statKiB(stats, {"active_anon"});
    auto inactiveAnon = statKiB(stats, {"inactive_anon"});
    set("Active", sumKiB(activeAnon, activeFile));
    set("Inactive", sumKiB(inactiveAnon, inactiveFile));
    set("Active(anon)", activeAnon);
    set("Inactive(anon)", inactiveAnon);
    set("Active(file)", activeFile);
    set("Inactive(file)", inactiveFile);
    set("Unevictable", statKiB(stats, {"unevictable"}));
    set("Dirty", statKiB(stats, {"dirty", "file_dirty"}));
    set("Writeback", statKiB(stats, {"writeback", "file_writeback"}));
    set("AnonPages", statKiB(stats, {"rss", "anon"}));
    set("Mapped", statKiB(stats, {"mapped_file", "file_mapped"}));
    set("Shmem", statKiB(stats, {"shmem"}));
    set("AnonHugePages", statKiB(stats, {"rss_huge", "anon_thp"}));
    // v2 only: kernel memory charged to the group.
    set("Slab", statKiB(stats, {"slab"}));
    set("SReclaimable", statKiB(stats, {"slab_reclaimable"}));
    set("KReclaimable", statKiB(stats, {"slab_reclaimable"}));
    set("SUnreclaim", statKiB(stats, {"slab_unreclaimable"}));
    set("KernelStack", statKiB(stats, {"kernel_stack"}));
    set("PageTables", statKiB(stats, {"pagetables"}));

    std::uint64_t hostSwap = hostValue("SwapTotal");
    bool swapLimited = limited && memory.memswLimitBytes && *memory.memswLimitBytes / 1024 >= total &&
                       *memory.memswLimitBytes / 1024 - total < hostSwap;
    std::uint64_t swapTotal = swapLimited ? *memory.memswLimitBytes / 1024 - total : hostSwap;
    std::uint64_t swapUsed = 0;
    if (memory.memswUsageBytes) {
        swapUsed = *memory.memswUsageBytes / 1024 > memory.usageBytes / 1024
                       ? *memory.memswUsageBytes / 1024 - memory.usageBytes / 1024
                       : 0;
    } else {
        swapUsed = statKiB(stats, {"swap"}).value_or(0);  // v1 counts it in memory.stat too
    }
    std::uint64_t swapFree = swapTotal - std::min(swapUsed, swapTotal);
    if (!swapLimited) {
        swapFree = std::min(swapFree, hostValue("SwapFree"));
    }
    set("SwapTotal", swapTotal);
    set("SwapFree", swapFree);

    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        auto kib = parseKiBLine(lines[i]);
        auto it = kib ? mine.find(kib->first) : mine.end();
        out += it != mine.end() ? formatKiBLine(it->first, it->second) : lines[i];
        // splitString leaves an empty last piece after the final newline: keep the text's ending.
        if (i + 1 < lines.size()) {
            out += '\n';
        }
    }
    return out;
}

Result<std::string> containerUptime(std::string_view hostUptime, double initStartSeconds) {
    auto fields = splitString(trimString(hostUptime), ' ');
    std::optional<double> up = fields.size() == 2 ? parseDouble(fields[0]) : std::nullopt;
    std::optional<double> idle = fields.size() == 2 ? parseDouble(fields[1]) : std::nullopt;
    if (!up || !idle) {
        return fail(ErrorCode::ParseFailed,
                    "cannot parse the host's uptime '" + std::string(trimString(hostUptime)) + "'");
    }
    double mine = std::max(0.0, *up - initStartSeconds);
    // Idle time is summed over CPUs; the share of it that fell while the container ran is not
    // known, so it is taken in proportion.
    double myIdle = *up > 0 ? *idle * (mine / *up) : 0.0;
    char text[64];
    std::snprintf(text, sizeof text, "%.2f %.2f\n", mine, myIdle);
    return std::string(text);
}

std::optional<double> processStartSeconds(std::string_view procPidStat, long ticksPerSecond) {
    // The command name (field 2) is in parentheses and may hold spaces and parentheses itself:
    // the fields that follow start after the last ')'.
    auto close = procPidStat.rfind(')');
    if (close == std::string_view::npos || ticksPerSecond <= 0) {
        return std::nullopt;
    }
    auto fields = splitString(trimString(procPidStat.substr(close + 1)), ' ');
    constexpr std::size_t kStartTime = 22 - 3;  // field 22, counted from field 3 (the state)
    if (fields.size() <= kStartTime) {
        return std::nullopt;
    }
    auto ticks = parseUnsigned(fields[kStartTime]);
    if (!ticks) {
        return std::nullopt;
    }
    return static_cast<double>(*ticks) / static_cast<double>(ticksPerSecond);
}

}  // namespace corral::drivers::lxc
