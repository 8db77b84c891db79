// SPDX-License-Identifier: LGPL-2.1-or-later
// InterfaceDef: a host network interface as libvirt's interface API shows it (virsh
// iface-dumpxml): ethernet devices and bridges with their ports. Facts a driver read from the
// host (or the test driver's fixture); this file only lays them out as XML.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace corral::conf {

struct InterfaceIp {
    std::string address;
    unsigned prefix = 0;
};

/// <protocol family='ipv4'>: addresses and a default route, as the test driver's eth1 has.
struct InterfaceProtocol {
    std::string family;  ///< ipv4, ipv6
    std::vector<InterfaceIp> ips;
    std::string gateway;
};

struct InterfaceDef {
    std::string type = "ethernet";  ///< ethernet, bridge
    std::string name;
    std::string mac;
    bool active = false;        ///< listed among the active interfaces (operstate "up")
    std::string startMode;      ///< <start mode>: onboot, none, hotplug; "" leaves it out
    unsigned mtu = 0;           ///< 0 leaves <mtu> out
    std::string linkState;      ///< "" leaves <link> out
    std::optional<std::uint64_t> linkSpeed;
    std::vector<InterfaceProtocol> protocols;
    bool stp = false;           ///< bridge: <bridge stp>
    std::string delay;          ///< bridge: <bridge delay>, as the host states it
    std::vector<InterfaceDef> ports;  ///< bridge: the interfaces enslaved to it
};

/// libvirt's layout (virsh iface-dumpxml).
std::string formatInterfaceXml(const InterfaceDef& def);

}  // namespace corral::conf
