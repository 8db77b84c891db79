// SPDX-License-Identifier: LGPL-2.1-or-later
// The host's CPU time and memory as libvirt's node statistics report them (virNodeGetCPUStats,
// virNodeGetMemoryStats, virNodeGetCellsFreeMemory, virNodeGetFreeMemory), read from /proc and
// /sys/devices/system/node. The parsers are pure so tests feed them recorded files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace corral::host {

/// One named counter (virNodeCPUStats / virNodeMemoryStats).
struct NodeStat {
    std::string field;
    std::uint64_t value = 0;
};

/// The counters of /proc/stat's line for `cpuNum` (-1: the "cpu" line, all CPUs) in libvirt's
/// Linux order and units: kernel (system + irq + softirq), user (user + nice), idle, iowait, in
/// nanoseconds (`ticksPerSecond` is sysconf(_SC_CLK_TCK)). Errors: InvalidArg "Invalid cpuNum in
/// virHostCPUGetStatsLinux" when /proc/stat has no such CPU (libvirt's words).
Result<std::vector<NodeStat>> parseProcStatCpu(std::string_view procStat, int cpuNum, long ticksPerSecond);

/// The same, read from /proc/stat.
Result<std::vector<NodeStat>> readNodeCpuStats(int cpuNum);

/// The fields of /proc/meminfo (`cell` false: total, free, buffers, cached) or of a NUMA node's
/// meminfo ("Node N MemTotal:" ..., `cell` true: total, free), in KiB. Errors: SystemError when
/// a field is missing.
Result<std::vector<NodeStat>> parseMeminfo(std::string_view meminfo, bool cell);

/// Memory of the host (`cellNum` -1) or of one NUMA cell. Errors: InvalidArg "cellNum in
/// virHostMemGetStats must be less than or equal to N" (libvirt's words) for a cell the host
/// does not have.
Result<std::vector<NodeStat>> readNodeMemoryStats(int cellNum);

/// Free memory in bytes of the NUMA cells startCell .. startCell + maxCells - 1 (fewer when the
/// host has fewer). A host without NUMA in sysfs is one cell, 0. Errors: InternalError "start
/// cell N out of range (0-M)" (libvirt's words).
Result<std::vector<std::uint64_t>> readCellsFreeMemory(int startCell, int maxCells);

/// Free memory of the whole host in bytes: the sum over its NUMA cells.
Result<std::uint64_t> readFreeMemory();

/// The NUMA node ids the host has online (/sys/devices/system/node/online); {0} without NUMA
/// in sysfs.
std::vector<unsigned> onlineNumaNodes();

/// One NUMA cell: its memory (MemTotal) and its CPUs.
struct NumaCell {
    unsigned id = 0;
    std::uint64_t memoryKiB = 0;
    std::vector<unsigned> cpus;
};

/// The host's online NUMA cells from /sys/devices/system/node; without NUMA in sysfs, one cell
/// 0 with /proc/meminfo's MemTotal and every online CPU.
std::vector<NumaCell> readNumaCells();

/// One SMBIOS section as libvirt's <sysinfo> names it ("bios", "system", "baseBoard",
/// "chassis") with its (entry name, value) pairs.
struct DmiSection {
    std::string name;
    std::vector<std::pair<std::string, std::string>> entries;
};

/// The firmware's SMBIOS data as the kernel exports it in `dir` (/sys/class/dmi/id): empty
/// files and files that cannot be read (the serials are root-only) are left out. Errors:
/// ConfigUnsupported "Host SMBIOS information is not available" (libvirt's words) when `dir`
/// does not exist or holds nothing.
Result<std::vector<DmiSection>> readDmiSysinfo(const std::string& dir = "/sys/class/dmi/id");

}  // namespace corral::host
