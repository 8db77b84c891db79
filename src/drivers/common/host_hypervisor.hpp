// SPDX-License-Identifier: LGPL-2.1-or-later
// HostHypervisorDriver: a HypervisorDriver for a real host (qemu, lxc): DomainManager over the
// persistent store, host facts from the kernel, capabilities built from them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "drivers/common/managed_driver.hpp"

namespace corral::drivers {

/// What distinguishes the QEMU and LXC drivers at this level.
struct HostHypervisorTraits {
    std::string name;             ///< "qemu", "lxc": store namespace and driver name
    std::string type;             ///< virConnectGetType: "QEMU", "LXC"
    std::string uri;              ///< canonical URI: "qemu:///system", "lxc:///system"
    std::string guestOsType;      ///< capabilities <os_type>: "hvm", "exe"
    std::vector<std::string> domainTypes;  ///< capabilities <domain type=...>: {"qemu","kvm"}
    std::uint64_t version = 0;    ///< virConnectGetVersion
    int maxVcpus = 255;
};

class HostHypervisorDriver final : public ManagedDriver, private HostInfo {
public:
    HostHypervisorDriver(HostHypervisorTraits traits, DomainManagerOptions options,
                         std::unique_ptr<GuestBackend> backend);

    /// Loads the persistent definitions of this driver from the store.
    Result<void> load() { return manager_.loadFromStore(); }

    std::string name() const override { return traits_.name; }
    HostInfo* host() override { return this; }
    NetworkFacet* networks() override { return networks_; }
    /// The host's network driver, shared by the host drivers; not owned.
    void setNetworks(NetworkFacet* networks);
    SecretFacet* secrets() override { return secrets_; }
    /// The host's secret driver, shared by the host drivers; not owned.
    void setSecrets(SecretFacet* secrets) { secrets_ = secrets; }
    StorageFacet* storage() override { return storage_; }
    /// The host's storage driver, shared by the host drivers; not owned.
    void setStorage(StorageFacet* storage) { storage_ = storage; }

private:
    // HostInfo
    std::string type() const override { return traits_.type; }
    std::uint64_t version() const override { return traits_.version; }
    std::string uri() const override { return traits_.uri; }
    Result<std::string> capabilitiesXml() override;
    Result<NodeInfo> nodeInfo() override;
    Result<int> maxVcpus(const std::string& type) override;
    std::vector<std::pair<std::string, std::string>> securityModels() override { return manager_.securityModels(); }
    Result<std::vector<NodeCounter>> nodeCpuStats(int cpuNum, int nparams) override;
    Result<std::vector<NodeCounter>> nodeMemoryStats(int cellNum, int nparams) override;
    Result<std::vector<std::uint64_t>> cellsFreeMemory(int startCell, int maxCells) override;
    Result<std::uint64_t> freeMemory() override;
    Result<NodeCpuMap> cpuMap() override;
    Result<std::string> sysinfoXml() override;
    Result<std::string> domainCapabilitiesXml(const DomainCapsQuery& query) override {
        return manager_.backend().domainCapabilitiesXml(query);
    }
    Result<std::vector<std::string>> cpuModelNames(const std::string& arch) override {
        return manager_.backend().cpuModelNames(arch);
    }

    HostHypervisorTraits traits_;
    NetworkFacet* networks_ = nullptr;
    SecretFacet* secrets_ = nullptr;
    StorageFacet* storage_ = nullptr;
};

}  // namespace corral::drivers
