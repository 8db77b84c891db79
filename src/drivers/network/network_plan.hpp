// SPDX-License-Identifier: LGPL-2.1-or-later
// What starting a network sets up, as text: the nftables table (NAT, forwarding limits) and
// dnsmasq's configuration. Pure, so unit tests read exactly what the host will get.
#pragma once

#include <string>

#include "conf/network_def.hpp"

namespace corral::drivers::network {

/// Paths and names chosen at start.
struct NetworkRuntime {
    std::string bridge;        ///< virbr0
    std::string pidFile;       ///< dnsmasq's
    std::string leaseFile;
    std::string hostsFile;     ///< static DHCP hosts
};

/// The nft table of a network: "corral_net_" + name with anything but [A-Za-z0-9_] as '_'.
std::string nftTableName(const std::string& networkName);

/// The body of table `ip nftTableName(...)`: masquerading (nat) and forwarding limited to the
/// network's subnet (nat, route); an isolated network forwards nothing.
std::string nftRuleset(const conf::NetworkDef& def, const std::string& bridge);

/// dnsmasq's configuration file: DHCP (range, static hosts) and DNS on the bridge only.
std::string dnsmasqConfig(const conf::NetworkDef& def, const NetworkRuntime& rt);

/// Whether the network needs dnsmasq at all (it has an IPv4 address).
bool needsDnsmasq(const conf::NetworkDef& def);

}  // namespace corral::drivers::network
