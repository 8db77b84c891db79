// SPDX-License-Identifier: LGPL-2.1-or-later
// NetworkManager: libvirt-style virtual networks on this host. A started network is a Linux
// bridge with the network's address, an nftables table (NAT and forwarding limits) and a dnsmasq
// for DHCP and DNS; all three outlive the daemon, and a new daemon finds them again through the
// store's status records. Definitions live in the store under the driver name "network".
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "conf/network_def.hpp"
#include "drivers/interfaces/network.hpp"
#include "drivers/network/network_plan.hpp"

namespace corral::objects {
class Store;
}

namespace corral::drivers::network {

struct NetworkPaths {
    std::string runDir;    ///< run/corral/network: dnsmasq pid and configuration files
    std::string stateDir;  ///< lib/corral/network: DHCP leases
    std::string logDir;    ///< log/corral/network
    /// Networks that exist only as state (the test driver's): starting one gives it its bridge
    /// name but makes no bridge, firewall or DHCP server, and it has no leases to read.
    bool stateOnly = false;
};

class NetworkManager final : public NetworkFacet {
public:
    /// `store` may be nullptr (nothing persists); empty paths make start() refuse.
    NetworkManager(objects::Store* store, NetworkPaths paths);

    /// Definitions from the store, then the networks that were active: kept when their bridge is
    /// still there (dnsmasq restarted if it died), marked inactive otherwise.
    Result<void> load();
    /// Starts every inactive autostart network; failures are logged.
    void autostartAll();

    /// For guests: the bridge of the active network `name`. Errors: NoNetwork when there is no
    /// such network, OperationInvalid when it is not active.
    Result<std::string> bridgeFor(const std::string& name);

    // NetworkFacet
    Result<NetworkRef> lookupNetworkByName(const std::string& name) override;
    Result<NetworkRef> lookupNetworkByUuid(const Uuid& uuid) override;
    Result<std::vector<NetworkRef>> listAllNetworks(unsigned flags) override;
    Result<NetworkRef> defineNetwork(const std::string& xml) override;
    Result<NetworkRef> createNetworkXml(const std::string& xml) override;
    Result<void> undefineNetwork(const NetworkRef& net) override;
    Result<void> startNetwork(const NetworkRef& net) override;
    Result<void> destroyNetwork(const NetworkRef& net) override;
    Result<std::string> networkXml(const NetworkRef& net, unsigned flags) override;
    Result<std::string> networkBridge(const NetworkRef& net) override;
    Result<bool> networkAutostart(const NetworkRef& net) override;
    Result<void> setNetworkAutostart(const NetworkRef& net, bool on) override;
    Result<bool> networkIsActive(const NetworkRef& net) override;
    Result<bool> networkIsPersistent(const NetworkRef& net) override;
    Result<std::vector<NetworkDhcpLease>> networkDhcpLeases(const NetworkRef& net, const std::string& mac) override;
    Result<void> updateNetwork(const NetworkRef& net, unsigned command, unsigned section, int parentIndex,
                               const std::string& xml, unsigned flags) override;

private:
    struct Net {
        std::shared_ptr<conf::NetworkDef> def;     ///< persistent (or the transient one)
        std::shared_ptr<conf::NetworkDef> live;    ///< while active: with the bridge chosen
        bool persistent = false;
        bool autostart = false;
    };

    Result<std::shared_ptr<Net>> findLocked(const NetworkRef& ref) const;
    Result<std::shared_ptr<conf::NetworkDef>> parseAndPrepareLocked(const std::string& xml);
    Result<void> startLocked(Net& net);
    void stopLocked(Net& net);
    Result<void> startDnsmasq(const conf::NetworkDef& live);
    /// dnsmasq's configuration and static-hosts files for `live`; true when the configuration
    /// changed (a running dnsmasq must then restart; a new hosts file needs only SIGHUP).
    Result<bool> writeDnsmasqFiles(const conf::NetworkDef& live);
    /// After a live change of the static hosts: the files rewritten, dnsmasq told.
    Result<void> refreshDnsmasq(const conf::NetworkDef& live);
    NetworkRuntime runtimeOf(const conf::NetworkDef& live) const;
    void stopDnsmasq(const std::string& name);
    /// A network an older daemon started (files named with the bare name, a table whose name
    /// other networks could share): its dnsmasq is stopped (load() starts it again under the new
    /// names), its leases file moved, its rules moved to this daemon's table.
    void adoptLegacyNetwork(const conf::NetworkDef& live);
    std::string pickBridgeLocked(const conf::NetworkDef& def) const;
    void saveStatusLocked(const Net& net);
    std::string pidFile(const std::string& name) const;
    std::string confFile(const std::string& name) const;

    objects::Store* store_;
    NetworkPaths paths_;
    mutable std::mutex mutex_;
    std::map<std::string, std::shared_ptr<Net>> nets_;  ///< by name
};

}  // namespace corral::drivers::network
