// SPDX-License-Identifier: LGPL-2.1-or-later
// HostHypervisorDriver: host facts and capabilities XML for real drivers.
#include "drivers/common/host_hypervisor.hpp"

#include "host/node_info.hpp"

namespace corral::drivers {

HostHypervisorDriver::HostHypervisorDriver(HostHypervisorTraits traits, DomainManagerOptions options,
                                           std::unique_ptr<GuestBackend> backend)
    : ManagedDriver(std::move(options), std::move(backend)), traits_(std::move(traits)) {}

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

Result<std::string> HostHypervisorDriver::capabilitiesXml() {
    CORRAL_ASSIGN_OR_RETURN(host::HostFacts facts, host::readHostFacts());
    std::string wordsize = (facts.arch == "x86_64" || facts.arch == "aarch64" ||
                            facts.arch == "ppc64le" || facts.arch == "s390x")
                               ? "64"
                               : "32";
    std::string xml;
    xml += "<capabilities>\n\n";
    xml += "  <host>\n";
    xml += "    <cpu>\n";
    xml += "      <arch>" + facts.arch + "</arch>\n";
    xml += "      <topology sockets='" + std::to_string(facts.sockets) + "' dies='1' cores='" +
           std::to_string(facts.coresPerSocket) + "' threads='" +
           std::to_string(facts.threadsPerCore) + "'/>\n";
    xml += "    </cpu>\n";
    xml += "    <power_management/>\n";
    xml += "    <topology>\n";
    xml += "      <cells num='1'>\n";
    xml += "        <cell id='0'>\n";
    xml += "          <memory unit='KiB'>" + std::to_string(facts.memoryKiB) + "</memory>\n";
    xml += "          <cpus num='" + std::to_string(facts.cpus) + "'>\n";
    for (unsigned i = 0; i < facts.cpus; ++i) {
        xml += "            <cpu id='" + std::to_string(i) + "'/>\n";
    }
    xml += "          </cpus>\n";
    xml += "        </cell>\n";
    xml += "      </cells>\n";
    xml += "    </topology>\n";
    auto models = securityModels();
    if (models.empty()) {
        models.emplace_back("none", "0");
    }
    for (const auto& [model, doi] : models) {
        xml += "    <secmodel>\n";
        xml += "      <model>" + model + "</model>\n";
        xml += "      <doi>" + doi + "</doi>\n";
        xml += "    </secmodel>\n";
    }
    xml += "  </host>\n\n";
    xml += "  <guest>\n";
    xml += "    <os_type>" + traits_.guestOsType + "</os_type>\n";
    xml += "    <arch name='" + facts.arch + "'>\n";
    xml += "      <wordsize>" + wordsize + "</wordsize>\n";
    for (const auto& domainType : traits_.domainTypes) {
        xml += "      <domain type='" + domainType + "'/>\n";
    }
    xml += "    </arch>\n";
    xml += "  </guest>\n\n";
    xml += "</capabilities>\n";
    return xml;
}

}  // namespace corral::drivers
