// SPDX-License-Identifier: LGPL-2.1-or-later
// The virtual-network facet: libvirt's network API (net-define, net-start, net-list ...), served
// on the host drivers' connections (qemu:///system, lxc:///) as libvirtd does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/result.hpp"
#include "util/uuid.hpp"

namespace corral::drivers {

/// What the wire calls remote_nonnull_network.
struct NetworkRef {
    std::string name;
    Uuid uuid;
};

/// virConnectListAllNetworks flags.
namespace network_list_flags {
inline constexpr unsigned kInactive = 1u << 0;
inline constexpr unsigned kActive = 1u << 1;
inline constexpr unsigned kPersistent = 1u << 2;
inline constexpr unsigned kTransient = 1u << 3;
inline constexpr unsigned kAutostart = 1u << 4;
inline constexpr unsigned kNoAutostart = 1u << 5;
}  // namespace network_list_flags

/// One DHCP lease a network's server handed out (virNetworkDHCPLease).
struct NetworkDhcpLease {
    std::string iface;          ///< the network's bridge
    std::int64_t expiryTime = 0;  ///< seconds since the epoch; 0: never
    std::string mac;
    std::string ipAddress;
    unsigned prefix = 0;
    std::string hostname;       ///< "" when the client sent none
    std::string clientId;       ///< "" when the client sent none
};

/// virNetworkUpdate flags.
namespace network_update_flags {
inline constexpr unsigned kAffectLive = 1u << 0;
inline constexpr unsigned kAffectConfig = 1u << 1;
}  // namespace network_update_flags

class NetworkFacet {
public:
    virtual ~NetworkFacet() = default;
    virtual Result<NetworkRef> lookupNetworkByName(const std::string& name) = 0;
    virtual Result<NetworkRef> lookupNetworkByUuid(const Uuid& uuid) = 0;
    virtual Result<std::vector<NetworkRef>> listAllNetworks(unsigned flags) = 0;
    virtual Result<NetworkRef> defineNetwork(const std::string& xml) = 0;
    /// Defines a transient network and starts it.
    virtual Result<NetworkRef> createNetworkXml(const std::string& xml) = 0;
    virtual Result<void> undefineNetwork(const NetworkRef& net) = 0;
    virtual Result<void> startNetwork(const NetworkRef& net) = 0;
    virtual Result<void> destroyNetwork(const NetworkRef& net) = 0;
    /// flags: VIR_NETWORK_XML_INACTIVE (1) gives the persistent definition.
    virtual Result<std::string> networkXml(const NetworkRef& net, unsigned flags) = 0;
    virtual Result<std::string> networkBridge(const NetworkRef& net) = 0;
    virtual Result<bool> networkAutostart(const NetworkRef& net) = 0;
    virtual Result<void> setNetworkAutostart(const NetworkRef& net, bool on) = 0;
    virtual Result<bool> networkIsActive(const NetworkRef& net) = 0;
    virtual Result<bool> networkIsPersistent(const NetworkRef& net) = 0;
    /// The unexpired IPv4 leases of an active network (none for an inactive one); `mac` ""
    /// gives all, else only that MAC's.
    virtual Result<std::vector<NetworkDhcpLease>> networkDhcpLeases(const NetworkRef& net, const std::string& mac) = 0;
    /// virNetworkUpdate: command and section as libvirt numbers them (virNetworkUpdateCommand,
    /// virNetworkUpdateSection); flags network_update_flags (none: the live network when it runs,
    /// else the definition).
    virtual Result<void> updateNetwork(const NetworkRef& net, unsigned command, unsigned section, int parentIndex,
                                       const std::string& xml, unsigned flags) = 0;
};

}  // namespace corral::drivers
