// SPDX-License-Identifier: LGPL-2.1-or-later
// The built-in drivers, registered explicitly: which URI opens which driver.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "drivers/interfaces/hypervisor.hpp"

namespace corral::objects {
class Store;
}

namespace corral::drivers {

namespace network {
class NetworkManager;
}
namespace secret {
class SecretManager;
}
namespace nodedev {
class NodeDeviceDriver;
}
class NodeDeviceFacet;
class InterfaceFacet;
namespace storage {
class StorageManager;
}

/// Where the host drivers keep their files (corrald's --root layout). Empty paths give host
/// drivers that keep definitions but cannot start guests (unit tests).
struct DriverPaths {
    std::string configDir;  ///< etc/corral: qemu.conf, lxc.conf
    std::string runDir;     ///< run/corral
    std::string logDir;     ///< log/corral
    std::string stateDir;   ///< lib/corral
};

/// Owns every hypervisor driver of the daemon.
class DriverRegistry {
public:
    /// Creates test, qemu and lxc drivers; qemu and lxc load their definitions from `store`.
    /// With `testOnly` only the test driver exists (the CLI's embedded test:///default).
    static Result<std::unique_ptr<DriverRegistry>> create(objects::Store* store, const DriverPaths& paths = {},
                                                          bool testOnly = false);

    /// The driver a CONNECT_OPEN name selects: "test:///default", "qemu:///system",
    /// "qemu:///session" (refused: no session daemon), "lxc:///", "lxc:///system".
    /// Errors: NoConnect naming the URI.
    Result<HypervisorDriver*> driverForUri(const std::string& uri) const;

    /// The driver used when CONNECT_OPEN names no URI (virsh without -c): qemu.
    HypervisorDriver* defaultDriver() const;

    DriverRegistry();
    ~DriverRegistry();
    DriverRegistry(const DriverRegistry&) = delete;
    DriverRegistry& operator=(const DriverRegistry&) = delete;

    /// Starts the autostart networks and storage pools, then the autostart domains of the host
    /// drivers.
    void autostartAll();

    /// The host-device and host-interface facets of a connection to `driver`. As in libvirt, they
    /// are drivers of their own beside the hypervisor's: qemu and lxc connections share the
    /// host's (read from sysfs), the test driver has libvirt's test fixtures.
    NodeDeviceFacet* nodeDevicesFor(HypervisorDriver& driver) const;
    InterfaceFacet* interfacesFor(HypervisorDriver& driver) const;

    /// True when any domain of any driver uses `mac` on one of its interfaces.
    bool macInUse(const std::string& mac) const;
    /// The name of a domain other than `except` of any driver using `mac` ("" when none).
    std::string macOwner(const std::string& mac, const Uuid& except) const;
    /// Names of the running host-driver domains with a disk on `path` (storage's in-use check).
    std::vector<std::string> runningDomainsUsing(const std::string& path) const;

    const std::vector<std::unique_ptr<HypervisorDriver>>& all() const { return drivers_; }

private:
    // Declared first so that it outlives the drivers that resolve networks through it.
    std::unique_ptr<network::NetworkManager> networks_;
    std::unique_ptr<secret::SecretManager> secrets_;
    std::unique_ptr<nodedev::NodeDeviceDriver> hostDevices_;
    std::unique_ptr<storage::StorageManager> storage_;
    std::vector<std::unique_ptr<HypervisorDriver>> drivers_;
};

}  // namespace corral::drivers
