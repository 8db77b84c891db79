// SPDX-License-Identifier: LGPL-2.1-or-later
// Node statistics from /proc/stat, /proc/meminfo and the NUMA nodes' meminfo in sysfs.
#include "host/node_stats.hpp"

#include <unistd.h>

#include <algorithm>

#include "util/files.hpp"
#include "util/strings.hpp"

namespace corral::host {

namespace {

constexpr const char* kNodeDir = "/sys/devices/system/node";

/// The numbers after the first word of `line`, in order; parsing stops at the first non-number.
std::vector<std::uint64_t> numbersAfterLabel(std::string_view line) {
    std::vector<std::uint64_t> out;
    auto words = splitString(line, ' ');
    for (std::size_t i = 1; i < words.size(); ++i) {
        if (words[i].empty()) {
            continue;
        }
        auto n = parseUnsigned(words[i]);
        if (!n) {
            break;
        }
        out.push_back(*n);
    }
    return out;
}

/// The value in KiB of "Name:" in a meminfo text; a NUMA node's lines start "Node N ".
std::optional<std::uint64_t> meminfoField(std::string_view meminfo, std::string_view name) {
    for (const auto& rawLine : splitString(meminfo, '\n')) {
        std::string_view line = trimString(rawLine);
        if (startsWith(line, "Node ")) {
            auto space = line.find(' ', 5);
            if (space == std::string_view::npos) {
                continue;
            }
            line = trimString(line.substr(space + 1));
        }
        if (!startsWith(line, name) || line.size() <= name.size() || line[name.size()] != ':') {
            continue;
        }
        std::string_view rest = trimString(line.substr(name.size() + 1));
        if (endsWith(rest, " kB")) {
            rest = trimString(rest.substr(0, rest.size() - 3));
        }
        return parseUnsigned(rest);
    }
    return std::nullopt;
}

std::string nodeMeminfoPath(unsigned node) { return std::string(kNodeDir) + "/node" + std::to_string(node) + "/meminfo"; }

}  // namespace

Result<std::vector<NodeStat>> parseProcStatCpu(std::string_view procStat, int cpuNum, long ticksPerSecond) {
    const std::string label = cpuNum < 0 ? "cpu" : "cpu" + std::to_string(cpuNum);
    if (ticksPerSecond <= 0) {
        ticksPerSecond = 100;
    }
    const std::uint64_t nsPerTick = 1000000000ull / static_cast<std::uint64_t>(ticksPerSecond);
    for (const auto& line : splitString(procStat, '\n')) {
        if (!startsWith(line, label) || line.size() <= label.size() || line[label.size()] != ' ') {
            continue;
        }
        // user nice system idle iowait irq softirq ...: libvirt folds nice into user and irq,
        // softirq into kernel, and reports the four sums in nanoseconds.
        auto v = numbersAfterLabel(line);
        if (v.size() < 7) {
            return fail(ErrorCode::SystemError, "/proc/stat line '" + label + "' has fewer than 7 counters",
                        ErrorDomain::None);
        }
        return std::vector<NodeStat>{{"kernel", (v[2] + v[5] + v[6]) * nsPerTick},
                                     {"user", (v[0] + v[1]) * nsPerTick},
                                     {"idle", v[3] * nsPerTick},
                                     {"iowait", v[4] * nsPerTick}};
    }
    return fail(ErrorCode::InvalidArg, "Invalid cpuNum in virHostCPUGetStatsLinux", ErrorDomain::None);
}

Result<std::vector<NodeStat>> readNodeCpuStats(int cpuNum) {
    CORRAL_ASSIGN_OR_RETURN(std::string text, readTextFile("/proc/stat"));
    return parseProcStatCpu(text, cpuNum, sysconf(_SC_CLK_TCK));
}

Result<std::vector<NodeStat>> parseMeminfo(std::string_view meminfo, bool cell) {
    std::vector<std::pair<const char*, const char*>> fields{{"total", "MemTotal"}, {"free", "MemFree"}};
    if (!cell) {
        fields.emplace_back("buffers", "Buffers");
        fields.emplace_back("cached", "Cached");
    }
    std::vector<NodeStat> out;
    for (const auto& [field, name] : fields) {
        auto value = meminfoField(meminfo, name);
        if (!value) {
            return fail(ErrorCode::SystemError, std::string("meminfo has no field '") + name + "'", ErrorDomain::None);
        }
        out.push_back({field, *value});
    }
    return out;
}

std::vector<unsigned> onlineNumaNodes() {
    auto text = readTextFile(std::string(kNodeDir) + "/online");
    if (!text) {
        return {0};
    }
    auto nodes = parseCpuList(trimString(*text));
    if (nodes.empty()) {
        return {0};
    }
    return nodes;
}

Result<std::vector<NodeStat>> readNodeMemoryStats(int cellNum) {
    if (cellNum < 0) {
        CORRAL_ASSIGN_OR_RETURN(std::string text, readTextFile("/proc/meminfo"));
        return parseMeminfo(text, false);
    }
    auto nodes = onlineNumaNodes();
    const unsigned maxNode = *std::max_element(nodes.begin(), nodes.end());
    if (std::find(nodes.begin(), nodes.end(), static_cast<unsigned>(cellNum)) == nodes.end()) {
        return fail(ErrorCode::InvalidArg,
                    "cellNum in virHostMemGetStats must be less than or equal to " + std::to_string(maxNode),
                    ErrorDomain::None);
    }
    auto text = readTextFile(nodeMeminfoPath(static_cast<unsigned>(cellNum)));
    if (!text && cellNum == 0) {
        // No NUMA in sysfs: the whole host is cell 0.
        CORRAL_ASSIGN_OR_RETURN(std::string whole, readTextFile("/proc/meminfo"));
        return parseMeminfo(whole, true);
    }
    if (!text) {
        return unexpected(text.error());
    }
    return parseMeminfo(*text, true);
}

Result<std::vector<std::uint64_t>> readCellsFreeMemory(int startCell, int maxCells) {
    auto nodes = onlineNumaNodes();
    const unsigned maxNode = *std::max_element(nodes.begin(), nodes.end());
    if (startCell < 0 || static_cast<unsigned>(startCell) > maxNode) {
        return fail(ErrorCode::InternalError,
                    "start cell " + std::to_string(startCell) + " out of range (0-" + std::to_string(maxNode) + ")",
                    ErrorDomain::None);
    }
    std::vector<std::uint64_t> out;
    for (unsigned cell = static_cast<unsigned>(startCell); cell <= maxNode && static_cast<int>(out.size()) < maxCells;
         ++cell) {
        if (std::find(nodes.begin(), nodes.end(), cell) == nodes.end()) {
            out.push_back(0);  // an offline node has no free memory to give (libvirt reports 0 too)
            continue;
        }
        CORRAL_ASSIGN_OR_RETURN(auto stats, readNodeMemoryStats(static_cast<int>(cell)));
        out.push_back(stats[1].value * 1024);
    }
    return out;
}

Result<std::uint64_t> readFreeMemory() {
    auto nodes = onlineNumaNodes();
    std::uint64_t sum = 0;
    for (unsigned node : nodes) {
        CORRAL_ASSIGN_OR_RETURN(auto stats, readNodeMemoryStats(static_cast<int>(node)));
        sum += stats[1].value * 1024;
    }
    return sum;
}

std::vector<NumaCell> readNumaCells() {
    std::vector<NumaCell> cells;
    for (unsigned node : onlineNumaNodes()) {
        const std::string dir = std::string(kNodeDir) + "/node" + std::to_string(node);
        auto meminfo = readTextFile(dir + "/meminfo");
        auto cpulist = readTextFile(dir + "/cpulist");
        if (!meminfo || !cpulist) {
            continue;
        }
        NumaCell cell;
        cell.id = node;
        cell.memoryKiB = meminfoField(*meminfo, "MemTotal").value_or(0);
        cell.cpus = parseCpuList(trimString(*cpulist));
        cells.push_back(std::move(cell));
    }
    if (!cells.empty()) {
        return cells;
    }
    NumaCell whole;
    if (auto meminfo = readTextFile("/proc/meminfo")) {
        whole.memoryKiB = meminfoField(*meminfo, "MemTotal").value_or(0);
    }
    if (auto online = readTextFile("/sys/devices/system/cpu/online")) {
        whole.cpus = parseCpuList(trimString(*online));
    }
    return {whole};
}

Result<std::vector<DmiSection>> readDmiSysinfo(const std::string& dir) {
    // The kernel's file names for each entry of libvirt's <sysinfo> sections, in its order.
    struct Entry {
        const char* section;
        const char* name;
        const char* file;
    };
    static constexpr Entry kEntries[] = {
        {"bios", "vendor", "bios_vendor"},           {"bios", "version", "bios_version"},
        {"bios", "date", "bios_date"},               {"bios", "release", "bios_release"},
        {"system", "manufacturer", "sys_vendor"},    {"system", "product", "product_name"},
        {"system", "version", "product_version"},    {"system", "serial", "product_serial"},
        {"system", "uuid", "product_uuid"},          {"system", "sku", "product_sku"},
        {"system", "family", "product_family"},      {"baseBoard", "manufacturer", "board_vendor"},
        {"baseBoard", "product", "board_name"},      {"baseBoard", "version", "board_version"},
        {"baseBoard", "serial", "board_serial"},     {"baseBoard", "asset", "board_asset_tag"},
        {"chassis", "manufacturer", "chassis_vendor"}, {"chassis", "version", "chassis_version"},
        {"chassis", "serial", "chassis_serial"},     {"chassis", "asset", "chassis_asset_tag"},
    };
    std::vector<DmiSection> sections;
    bool any = false;
    for (const auto& e : kEntries) {
        if (sections.empty() || sections.back().name != e.section) {
            sections.push_back({e.section, {}});
        }
        auto text = readTextFile(dir + "/" + e.file);
        if (!text) {
            continue;
        }
        std::string value(trimString(*text));
        if (value.empty()) {
            continue;
        }
        sections.back().entries.emplace_back(e.name, std::move(value));
        any = true;
    }
    if (!any) {
        return fail(ErrorCode::ConfigUnsupported, "Host SMBIOS information is not available", ErrorDomain::None);
    }
    return sections;
}

}  // namespace corral::host
