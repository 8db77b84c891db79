// SPDX-License-Identifier: LGPL-2.1-or-later
// NetworkDef: a libvirt virtual network definition, the part a host bridge with NAT and DHCP
// needs: name, UUID, bridge (STP, delay, MTU), forward mode, one IPv4 address with its DHCP
// range and static hosts, the DNS domain. Every other element or attribute is refused by name
// rather than silently ignored.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"
#include "util/uuid.hpp"

namespace corral::conf {

struct NetworkDhcpHost {
    std::string mac;
    std::string name;
    std::string ip;
};

struct NetworkDef {
    std::string name;
    Uuid uuid;
    bool uuidGiven = false;
    std::string bridge;         ///< <bridge name>; "" = the driver picks virbrN
    bool stp = true;            ///< <bridge stp>
    unsigned delaySeconds = 0;  ///< <bridge delay>: STP forward delay
    unsigned mtu = 0;           ///< <mtu size>; 0 = the kernel's default
    std::string domainName;     ///< <domain name>: DNS domain dnsmasq gives the guests
    bool domainLocalOnly = false;  ///< <domain localOnly='yes'>: names in it never go upstream
    bool dnsEnabled = true;     ///< <dns enable='no'> turns dnsmasq's DNS off (DHCP stays)
    std::string forwardMode;    ///< "" (isolated), "nat", "route"
    std::string forwardDev;     ///< <forward dev>: the uplink NAT and routing are limited to
    std::string mac;            ///< <mac address> of the bridge
    std::string ipAddress;      ///< IPv4 of the bridge ("" = no IP, no DHCP)
    unsigned prefix = 24;
    std::string dhcpStart, dhcpEnd;
    std::vector<NetworkDhcpHost> dhcpHosts;
};

/// Parses a <network> document. Errors: XmlDetail for malformed XML, XmlError naming the
/// element or attribute for bad values, ConfigUnsupported for what this driver does not run.
Result<std::unique_ptr<NetworkDef>> parseNetworkXml(std::string_view xml);

/// The values of a definition that reach nft rules, dnsmasq's files and the kernel, checked at
/// define and again at start (a definition an older daemon stored is loaded without the check,
/// so that it can still be listed and undefined): the bridge and uplink names
/// (validateInterfaceName) and the DHCP host names (DNS names). XmlError naming the element.
Result<void> checkNetworkHostValues(const NetworkDef& def);

/// libvirt's layout of the same facts.
std::string formatNetworkXml(const NetworkDef& def);

/// "192.168.122.1" -> host-order integer; nullopt-like error for anything else.
Result<std::uint32_t> parseIpv4(std::string_view text);
std::string formatIpv4(std::uint32_t address);
/// /24 -> 0xffffff00.
std::uint32_t prefixMask(unsigned prefix);

}  // namespace corral::conf
