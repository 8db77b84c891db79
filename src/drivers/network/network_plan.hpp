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

/// The nft table of a network: "corral_net_" + the name with letters and digits kept, '_' as
/// "__" and every other byte as '_' and two hex digits ("my-net" -> "corral_net_my_2dnet"):
/// an identifier nft takes unquoted, and a different one for every name.
std::string nftTableName(const std::string& networkName);

/// The table name daemons before that used (every byte but [A-Za-z0-9] as '_', so "a-b" and
/// "a.b" shared one): where a network started by one of them has its rules.
std::string legacyNftTableName(const std::string& networkName);

/// The body of table `ip nftTableName(...)`: masquerading (nat) and forwarding limited to the
/// network's subnet (nat, route); an isolated network forwards nothing.
std::string nftRuleset(const conf::NetworkDef& def, const std::string& bridge);

/// dnsmasq's configuration file: DHCP (range, static hosts) and DNS on the bridge only.
std::string dnsmasqConfig(const conf::NetworkDef& def, const NetworkRuntime& rt);

/// Whether the network needs dnsmasq at all (it has an IPv4 address).
bool needsDnsmasq(const conf::NetworkDef& def);

}  // namespace corral::drivers::network
