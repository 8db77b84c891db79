// SPDX-License-Identifier: LGPL-2.1-or-later
// The driver registry: builds the drivers and maps URIs to them.
#include "drivers/registry.hpp"

#include <unistd.h>

#include <cstdio>

#include "drivers/common/host_hypervisor.hpp"
#include "drivers/common/unstartable_backend.hpp"
#include "drivers/network/network_manager.hpp"
#include "drivers/secret/secret_manager.hpp"
#include "drivers/nodedev/node_device_driver.hpp"
#include "drivers/storage/storage_manager.hpp"
#include "drivers/lxc/lxc_backend.hpp"
#include "drivers/qemu/qemu_backend.hpp"
#include "drivers/test/test_driver.hpp"
#include "host/node_info.hpp"
#include "util/strings.hpp"

namespace corral::drivers {

namespace {

std::unique_ptr<HostHypervisorDriver> makeHostDriver(HostHypervisorTraits traits,
                                                     objects::Store* store,
                                                     const DriverRegistry* registry,
                                                     std::unique_ptr<GuestBackend> backend = nullptr,
                                                     std::string managedSaveDir = {}) {
    DomainManagerOptions options;
    options.driverName = traits.name;
    options.store = store;
    options.managedSaveDir = std::move(managedSaveDir);
    options.macInUseOnHost = [registry](const std::string& mac) { return registry->macInUse(mac); };
    options.macOwnerOnHost = [registry](const std::string& mac, const Uuid& except) {
        return registry->macOwner(mac, except);
    };
    if (!backend) {
        backend = std::make_unique<UnstartableBackend>(traits.name, traits.domainTypes, traits.guestOsType);
    }
    return std::make_unique<HostHypervisorDriver>(std::move(traits), std::move(options),
                                                  std::move(backend));
}

/// Eight hex digits of FNV-1a over `text`: a short, stable name suffix.
std::string shortHash(const std::string& text) {
    std::uint32_t h = 2166136261u;
    for (unsigned char c : text) {
        h = (h ^ c) * 16777619u;
    }
    char out[9];
    std::snprintf(out, sizeof out, "%08x", h);
    return out;
}

/// A helper program installed beside the running corrald (build/bin, /usr/sbin ...).
std::string controllerProgram(const std::string& name) {
    char self[4096];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        return name;  // PATH lookup
    }
    std::string dir(self, static_cast<std::size_t>(n));
    return dir.substr(0, dir.rfind('/')) + "/" + name;
}

/// Strips the query string and a trailing slash so "qemu:///system?x" matches "qemu:///system".
std::string canonicalUri(std::string uri) {
    auto q = uri.find('?');
    if (q != std::string::npos) {
        uri.resize(q);
    }
    while (uri.size() > 4 && uri.back() == '/' && !endsWith(uri, ":///")) {
        uri.pop_back();
    }
    return uri;
}

}  // namespace

DriverRegistry::DriverRegistry() = default;
DriverRegistry::~DriverRegistry() = default;

Result<std::unique_ptr<DriverRegistry>> DriverRegistry::create(objects::Store* store, const DriverPaths& paths,
                                                               bool testOnly) {
    auto registry = std::make_unique<DriverRegistry>();
    CORRAL_ASSIGN_OR_RETURN(auto test, createTestDriver());
    if (testOnly) {
        registry->drivers_.push_back(std::move(test));
        return registry;
    }

    HostHypervisorTraits qemu;
    qemu.name = "qemu";
    qemu.type = "QEMU";
    qemu.uri = "qemu:///system";
    qemu.guestOsType = "hvm";
    qemu.domainTypes = {"qemu", "kvm"};
    qemu.version = host::probeProgramVersion("qemu-system-x86_64");
    qemu.maxVcpus = 255;
    network::NetworkPaths netPaths;
    if (!paths.runDir.empty()) {
        netPaths = {paths.runDir + "/network", paths.stateDir + "/network", paths.logDir + "/network"};
    }
    registry->networks_ = std::make_unique<network::NetworkManager>(store, std::move(netPaths));
    CORRAL_TRY(registry->networks_->load().withContext("loading virtual networks"));
    network::NetworkManager* networks = registry->networks_.get();
    // Stored secret values are sealed with a key kept in the configuration directory, apart
    // from the secrets themselves (a copy of the state directory alone does not reveal them).
    secret::SecretPaths secretPaths;
    if (!paths.runDir.empty()) {
        secretPaths = {paths.stateDir + "/secrets", paths.configDir + "/secrets-encryption-key"};
    }
    registry->secrets_ = std::make_unique<secret::SecretManager>(std::move(secretPaths));
    CORRAL_TRY(registry->secrets_->load().withContext("loading secrets"));
    registry->hostDevices_ = nodedev::createHostNodeDeviceDriver();
    registry->storage_ = std::make_unique<storage::StorageManager>(store);
    CORRAL_TRY(registry->storage_->load().withContext("loading storage pools"));
    registry->storage_->setPathUsers([r = registry.get()](const std::string& path) { return r->runningDomainsUsing(path); });
    registry->storage_->setVolumeSecrets([secrets = registry->secrets_.get()](const std::string& uuid,
                                                                             const std::string& usage) {
        return secrets->diskPassphrase(uuid, usage);
    });

    std::unique_ptr<GuestBackend> qemuBackend;
    std::string qemuManagedSaveDir;
    if (!paths.runDir.empty()) {
        qemuManagedSaveDir = paths.stateDir + "/qemu/save";
        CORRAL_ASSIGN_OR_RETURN(auto qemuConfig, qemu::loadQemuConfig(paths.configDir + "/qemu.conf"));
        qemu::QemuPaths qemuPaths{paths.runDir + "/qemu", paths.logDir + "/qemu", paths.stateDir + "/qemu"};
        if (paths.runDir != "/run/corral") {
            // A daemon with --root (tests, benchmarks) keeps its guests' cgroups apart from the
            // system daemon's and from other such daemons.
            qemuConfig.cgroupPartition += "-" + shortHash(paths.runDir);
        }
        CORRAL_ASSIGN_OR_RETURN(auto backend,
                                qemu::QemuBackend::create(std::move(qemuPaths), std::move(qemuConfig), store));
        backend->setNetworkResolver([networks](const std::string& name) { return networks->bridgeFor(name); });
        backend->setDiskSecretResolver([secrets = registry->secrets_.get()](const std::string& uuid,
                                                                            const std::string& usage) {
            return secrets->diskPassphrase(uuid, usage);
        });
        StorageFacet* storage = registry->storage_.get();
        backend->setVolumeResolver([storage](const std::string& pool, const std::string& volume) {
            return storage->volumePathFor(pool, volume);
        });
        qemuBackend = std::move(backend);
    }
    auto qemuDriver = makeHostDriver(std::move(qemu), store, registry.get(), std::move(qemuBackend),
                                     std::move(qemuManagedSaveDir));
    qemuDriver->setNetworks(networks);
    qemuDriver->setSecrets(registry->secrets_.get());
    qemuDriver->setStorage(registry->storage_.get());
    CORRAL_TRY(qemuDriver->load().withContext("loading QEMU domain definitions"));

    HostHypervisorTraits lxc;
    lxc.name = "lxc";
    lxc.type = "LXC";
    lxc.uri = "lxc:///system";
    lxc.guestOsType = "exe";
    lxc.domainTypes = {"lxc"};
    if (auto facts = host::readHostFacts()) {
        unsigned major = 0, minor = 0, micro = 0;
        std::sscanf(facts->kernelRelease.c_str(), "%u.%u.%u", &major, &minor, &micro);
        lxc.version = static_cast<std::uint64_t>(major) * 1000000 + minor * 1000 + micro;
    }
    lxc.maxVcpus = 4096;
    std::unique_ptr<GuestBackend> lxcBackend;
    if (!paths.runDir.empty()) {
        lxc::LxcPaths lxcPaths{paths.runDir + "/lxc", paths.logDir + "/lxc", controllerProgram("corral-lxc"),
                               "corral"};
        if (paths.runDir != "/run/corral") {
            lxcPaths.cgroupPartition += "-" + shortHash(paths.runDir);
        }
        CORRAL_ASSIGN_OR_RETURN(auto lxcConfig, lxc::loadLxcConfig(paths.configDir + "/lxc.conf"));
        auto backend = std::make_unique<lxc::LxcBackend>(std::move(lxcPaths), lxcConfig);
        backend->setNetworkResolver([networks](const std::string& name) { return networks->bridgeFor(name); });
        lxcBackend = std::move(backend);
    }
    auto lxcDriver = makeHostDriver(std::move(lxc), store, registry.get(), std::move(lxcBackend));
    lxcDriver->setNetworks(networks);
    lxcDriver->setSecrets(registry->secrets_.get());
    lxcDriver->setStorage(registry->storage_.get());
    CORRAL_TRY(lxcDriver->load().withContext("loading LXC domain definitions"));

    registry->drivers_.push_back(std::move(qemuDriver));
    registry->drivers_.push_back(std::move(lxcDriver));
    registry->drivers_.push_back(std::move(test));
    return registry;
}

Result<HypervisorDriver*> DriverRegistry::driverForUri(const std::string& rawUri) const {
    std::string uri = canonicalUri(rawUri);
    std::string wanted;
    if (uri == "qemu:///system") {
        wanted = "qemu";
    } else if (uri == "lxc:///" || uri == "lxc:///system" || uri == "lxc://") {
        wanted = "lxc";
    } else if (uri == "test:///default") {
        wanted = "test";
    } else if (uri.rfind("test:///", 0) == 0) {
        // A test-driver file named by a remote client is never opened: its contents, and whether
        // it exists, stay unknown to the client (docs/security.md). Each such URI gets these words.
        return fail(ErrorCode::NoConnect,
                    "no connection driver available for " + rawUri +
                        ": corrald serves test:///default only; test-driver files are loaded by the embedded "
                        "driver alone",
                    ErrorDomain::None);
    } else if (uri == "qemu:///session") {
        return fail(ErrorCode::NoConnect,
                    "no connection driver available for qemu:///session: corrald serves system "
                    "URIs only (use qemu:///system)",
                    ErrorDomain::None);
    } else {
        return fail(ErrorCode::NoConnect, "no connection driver available for " + rawUri);
    }
    for (const auto& d : drivers_) {
        if (d->name() == wanted) {
            return d.get();
        }
    }
    return fail(ErrorCode::NoConnect, "no connection driver available for " + rawUri);
}

NodeDeviceFacet* DriverRegistry::nodeDevicesFor(HypervisorDriver& driver) const {
    NodeDeviceFacet* own = driver.ownNodeDevices();
    return own != nullptr ? own : hostDevices_.get();
}

InterfaceFacet* DriverRegistry::interfacesFor(HypervisorDriver& driver) const {
    InterfaceFacet* own = driver.ownInterfaces();
    return own != nullptr ? own : hostDevices_.get();
}

HypervisorDriver* DriverRegistry::defaultDriver() const { return drivers_.front().get(); }

void DriverRegistry::autostartAll() {
    // Networks first: autostart guests may be plugged into them.
    if (networks_) {
        networks_->autostartAll();
    }
    if (storage_) {
        storage_->autostartAll();
    }
    for (const auto& d : drivers_) {
        if (auto* host = dynamic_cast<HostHypervisorDriver*>(d.get())) {
            host->manager().autostartAll();
        }
    }
}

std::vector<std::string> DriverRegistry::runningDomainsUsing(const std::string& path) const {
    std::vector<std::string> out;
    for (const auto& d : drivers_) {
        if (auto* host = dynamic_cast<HostHypervisorDriver*>(d.get())) {
            for (auto& name : host->manager().runningDomainsUsingPath(path)) {
                out.push_back(std::move(name));
            }
        }
    }
    return out;
}

bool DriverRegistry::macInUse(const std::string& mac) const {
    for (const auto& d : drivers_) {
        if (auto* host = dynamic_cast<HostHypervisorDriver*>(d.get())) {
            if (host->manager().usesMac(mac)) {
                return true;
            }
        }
    }
    return false;
}

std::string DriverRegistry::macOwner(const std::string& mac, const Uuid& except) const {
    for (const auto& d : drivers_) {
        if (auto* host = dynamic_cast<HostHypervisorDriver*>(d.get())) {
            if (std::string owner = host->manager().domainUsingMac(mac, except); !owner.empty()) {
                return owner;
            }
        }
    }
    return "";
}

}  // namespace corral::drivers
