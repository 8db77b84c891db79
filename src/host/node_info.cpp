// SPDX-License-Identifier: LGPL-2.1-or-later
// Host facts from /proc, sysconf and uname.
#include "host/node_info.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "util/process.hpp"
#include "util/strings.hpp"

namespace corral::host {

namespace {
std::string readLine(const char* path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}
}  // namespace

HostCpuMap readHostCpuMap() {
    HostCpuMap map;
    auto present = parseCpuList(readLine("/sys/devices/system/cpu/present"));
    auto online = parseCpuList(readLine("/sys/devices/system/cpu/online"));
    if (present.empty()) {
        long n = ::sysconf(_SC_NPROCESSORS_CONF);
        for (long i = 0; i < std::max(1L, n); ++i) {
            present.push_back(static_cast<unsigned>(i));
        }
    }
    if (online.empty()) {
        online = present;
    }
    map.present = present.back() + 1;
    map.online.assign((map.present + 7) / 8, 0);
    for (unsigned c : online) {
        if (c < map.present) {
            map.online[c / 8] |= static_cast<std::uint8_t>(1u << (c % 8));
            ++map.onlineCount;
        }
    }
    return map;
}

Result<HostFacts> readHostFacts() {
    HostFacts facts;
    struct utsname uts {};
    if (uname(&uts) != 0) {
        return failErrno(errno, "cannot get host architecture");
    }
    facts.arch = uts.machine;
    facts.cpuModel = uts.machine;
    facts.kernelRelease = uts.release;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    facts.cpus = online > 0 ? static_cast<unsigned>(online) : 1;

    std::ifstream cpuinfo("/proc/cpuinfo");
    if (!cpuinfo) {
        return failErrno(errno, "cannot read '/proc/cpuinfo'");
    }
    std::set<std::string> physicalIds;
    unsigned siblings = 0;
    unsigned cores = 0;
    std::string line;
    while (std::getline(cpuinfo, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) {
            continue;
        }
        std::string key(trimString(std::string_view(line).substr(0, colon)));
        std::string value(trimString(std::string_view(line).substr(colon + 1)));
        if (key == "cpu MHz" && facts.mhz == 0) {
            facts.mhz = static_cast<unsigned>(std::atof(value.c_str()));
        } else if (key == "physical id") {
            physicalIds.insert(value);
        } else if (key == "siblings" && siblings == 0) {
            siblings = static_cast<unsigned>(parseUnsigned(value).value_or(0));
        } else if (key == "cpu cores" && cores == 0) {
            cores = static_cast<unsigned>(parseUnsigned(value).value_or(0));
        }
    }
    facts.sockets = physicalIds.empty() ? 1 : static_cast<unsigned>(physicalIds.size());
    facts.coresPerSocket = cores > 0 ? cores : facts.cpus / facts.sockets;
    facts.threadsPerCore = (cores > 0 && siblings >= cores) ? siblings / cores : 1;
    if (facts.coresPerSocket == 0) {
        facts.coresPerSocket = 1;
    }

    std::ifstream meminfo("/proc/meminfo");
    if (!meminfo) {
        return failErrno(errno, "cannot read '/proc/meminfo'");
    }
    while (std::getline(meminfo, line)) {
        if (startsWith(line, "MemTotal:")) {
            std::istringstream in(line.substr(9));
            in >> facts.memoryKiB;
            break;
        }
    }
    return facts;
}

Result<std::string> readHostname() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0) {
        return failErrno(errno, "cannot get host name");
    }
    return std::string(name);
}

std::uint64_t probeProgramVersion(const std::string& program) {
    // Once per driver start, without a shell.
    auto ran = runCommand({program, "--version"});
    if (!ran || ran->exitStatus != 0) {
        return 0;
    }
    const std::string& text = ran->output;
    auto pos = text.find("version ");
    if (pos == std::string::npos) {
        return 0;
    }
    unsigned major = 0, minor = 0, micro = 0;
    if (std::sscanf(text.c_str() + pos + 8, "%u.%u.%u", &major, &minor, &micro) < 2) {
        return 0;
    }
    return static_cast<std::uint64_t>(major) * 1000000 + minor * 1000 + micro;
}

}  // namespace corral::host
