// SPDX-License-Identifier: LGPL-2.1-or-later
// HostHypervisorDriver: host facts, node statistics and capabilities XML for real drivers.
#include "drivers/common/host_hypervisor.hpp"

#include "conf/host_caps.hpp"
#include "host/node_info.hpp"
#include "host/node_stats.hpp"

namespace corral::drivers {

namespace {

std::vector<NodeCounter> toCounters(std::vector<host::NodeStat> stats) {
    std::vector<NodeCounter> out;
    out.reserve(stats.size());
    for (auto& s : stats) {
        out.push_back({std::move(s.field), s.value});
    }
    return out;
}

unsigned wordsizeOf(const std::string& arch) {
    return (arch == "x86_64" || arch == "aarch64" || arch == "ppc64le" || arch == "ppc64" || arch == "s390x" ||
            arch == "riscv64")
               ? 64
               : 32;
}

DomainManagerOptions withMaxVcpus(DomainManagerOptions options, int maxVcpus) {
    options.maxVcpus = static_cast<unsigned>(maxVcpus);
    return options;
}

}  // namespace

HostHypervisorDriver::HostHypervisorDriver(HostHypervisorTraits traits, DomainManagerOptions options,
                                           std::unique_ptr<GuestBackend> backend)
    : ManagedDriver(withMaxVcpus(std::move(options), traits.maxVcpus), std::move(backend)),
      traits_(std::move(traits)) {}

void HostHypervisorDriver::setNetworks(NetworkFacet* networks) {
    networks_ = networks;
    if (networks == nullptr) {
        manager_.setLeaseSource(nullptr);
        return;
    }
    manager_.setLeaseSource([networks](const std::string& name, const std::string& mac)
                                -> Result<std::vector<NetworkDhcpLease>> {
        CORRAL_ASSIGN_OR_RETURN(NetworkRef net, networks->lookupNetworkByName(name));
        return networks->networkDhcpLeases(net, mac);
    });
}

Result<NodeInfo> HostHypervisorDriver::nodeInfo() {
    CORRAL_ASSIGN_OR_RETURN(host::HostFacts facts, host::readHostFacts());
    NodeInfo info;
    info.model = facts.cpuModel;
    info.memoryKiB = facts.memoryKiB;
    info.cpus = facts.cpus;
    info.mhz = facts.mhz;
    info.nodes = facts.numaNodes;
    info.sockets = facts.sockets;
    info.cores = facts.coresPerSocket;
    info.threads = facts.threadsPerCore;
    return info;
}

Result<int> HostHypervisorDriver::maxVcpus(const std::string&) { return traits_.maxVcpus; }

Result<std::vector<NodeCounter>> HostHypervisorDriver::nodeCpuStats(int cpuNum, int nparams) {
    // Linux has four CPU counters; libvirt asks for all of them or for their number.
    constexpr int kCount = 4;
    if (nparams == 0) {
        return std::vector<NodeCounter>(kCount);
    }
    if (nparams != kCount) {
        return fail(ErrorCode::InvalidArg,
                    "nparams in virHostCPUGetStatsLinux must be equal to " + std::to_string(kCount), ErrorDomain::None);
    }
    CORRAL_ASSIGN_OR_RETURN(auto stats, host::readNodeCpuStats(cpuNum));
    return toCounters(std::move(stats));
}

Result<std::vector<NodeCounter>> HostHypervisorDriver::nodeMemoryStats(int cellNum, int nparams) {
    // The host has total, free, buffers and cached; a NUMA cell only total and free.
    const int count = cellNum < 0 ? 4 : 2;
    if (nparams == 0) {
        return std::vector<NodeCounter>(static_cast<std::size_t>(count));
    }
    if (nparams != count) {
        return fail(ErrorCode::InvalidArg, "nparams in virHostMemGetStatsLinux must be " + std::to_string(count),
                    ErrorDomain::None);
    }
    CORRAL_ASSIGN_OR_RETURN(auto stats, host::readNodeMemoryStats(cellNum));
    return toCounters(std::move(stats));
}

Result<std::vector<std::uint64_t>> HostHypervisorDriver::cellsFreeMemory(int startCell, int maxCells) {
    return host::readCellsFreeMemory(startCell, maxCells);
}

Result<std::uint64_t> HostHypervisorDriver::freeMemory() { return host::readFreeMemory(); }

Result<NodeCpuMap> HostHypervisorDriver::cpuMap() {
    host::HostCpuMap map = host::readHostCpuMap();
    return NodeCpuMap{map.present, std::move(map.online), map.onlineCount};
}

Result<std::string> HostHypervisorDriver::sysinfoXml() {
    CORRAL_ASSIGN_OR_RETURN(auto dmi, host::readDmiSysinfo());
    std::vector<conf::SysinfoSection> sections;
    for (auto& s : dmi) {
        sections.push_back({std::move(s.name), std::move(s.entries)});
    }
    return conf::formatSysinfo(sections);
}

Result<std::string> HostHypervisorDriver::capabilitiesXml() {
    CORRAL_ASSIGN_OR_RETURN(host::HostFacts facts, host::readHostFacts());
    conf::HostCapabilities caps;
    caps.arch = facts.arch;
    caps.sockets = facts.sockets;
    caps.cores = facts.coresPerSocket;
    caps.threads = facts.threadsPerCore;
    for (auto& cell : host::readNumaCells()) {
        caps.cells.push_back({cell.id, cell.memoryKiB, std::move(cell.cpus)});
    }
    caps.secmodels = securityModels();
    if (caps.secmodels.empty()) {
        caps.secmodels.emplace_back("none", "0");
    }
    if (auto guests = manager_.backend().guestCapabilities()) {
        CORRAL_ASSIGN_OR_RETURN(caps.guests, std::move(*guests));
    } else {
        // A driver whose backend knows nothing more (containers): the host's own architecture.
        conf::CapsGuest guest;
        guest.osType = traits_.guestOsType;
        guest.arch = facts.arch;
        guest.wordsize = wordsizeOf(facts.arch);
        guest.domainTypes = traits_.domainTypes;
        caps.guests.push_back(std::move(guest));
    }
    return conf::formatCapabilities(caps);
}

}  // namespace corral::drivers
