// SPDX-License-Identifier: LGPL-2.1-or-later
// Facts about the host machine: CPU model and topology, memory, architecture, hostname.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace corral::host {

struct HostFacts {
    std::string arch;          ///< uname machine, e.g. "x86_64"
    std::string cpuModel;      ///< virNodeInfo.model: the architecture name, as libvirt reports it
    unsigned cpus = 1;         ///< online CPUs
    unsigned mhz = 0;          ///< nominal frequency, 0 when unknown
    unsigned sockets = 1;
    unsigned coresPerSocket = 1;
    unsigned threadsPerCore = 1;
    unsigned numaNodes = 1;
    std::uint64_t memoryKiB = 0;  ///< MemTotal
    std::string kernelRelease;    ///< uname release, e.g. "6.1.0-26-amd64"
};

/// Reads /proc/cpuinfo, /proc/meminfo, sysconf and uname. Errors: SystemError naming the file.
Result<HostFacts> readHostFacts();

/// virNodeGetCPUMap: how many CPUs the host has (present) and which of them are online, as a
/// libvirt cpumap (bit i of byte i/8 = CPU i). From /sys/devices/system/cpu/{present,online}.
struct HostCpuMap {
    unsigned present = 1;
    std::vector<std::uint8_t> online;
    unsigned onlineCount = 0;
};
HostCpuMap readHostCpuMap();

/// gethostname(), as virConnectGetHostname returns it.
Result<std::string> readHostname();

/// The version of `program --version` ("QEMU emulator version 7.2.0 ...") as
/// major*1000000 + minor*1000 + micro; nullopt-like 0 when it cannot be run.
std::uint64_t probeProgramVersion(const std::string& program);

}  // namespace corral::host
