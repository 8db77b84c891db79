// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/network/network_plan.hpp"

#include "util/name_escape.hpp"

namespace corral::drivers::network {

namespace {
std::string subnetOf(const conf::NetworkDef& def) {
    return conf::formatIpv4(*conf::parseIpv4(def.ipAddress) & conf::prefixMask(def.prefix)) + "/" +
           std::to_string(def.prefix);
}
}  // namespace

std::string nftTableName(const std::string& networkName) {
    // Injective, so that two networks never share (and replace) one table: '_' is doubled and
    // any other byte outside [A-Za-z0-9] becomes '_' and two lower-case hex digits.
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "corral_net_";
    for (char ch : networkName) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) != 0 && c < 0x80) {
            out += ch;
        } else if (c == '_') {
            out += "__";
        } else {
            out += '_';
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
        }
    }
    return out;
}

std::string legacyNftTableName(const std::string& networkName) {
    std::string out = "corral_net_";
    for (char c : networkName) {
        out += std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_';
    }
    return out;
}

std::string nftRuleset(const conf::NetworkDef& def, const std::string& bridge) {
    const std::string br = "\"" + bridge + "\"";
    std::string out;
    out += "  chain forward {\n    type filter hook forward priority filter; policy accept;\n";
    if (!def.forwardMode.empty() && !def.ipAddress.empty()) {
        const std::string net = subnetOf(def);
        const std::string uplink = def.forwardDev.empty() ? "" : " oifname \"" + def.forwardDev + "\"";
        const std::string downlink = def.forwardDev.empty() ? "" : " iifname \"" + def.forwardDev + "\"";
        out += "    iifname " + br + uplink + " ip saddr " + net + " accept\n";
        if (def.forwardMode == "nat") {
            out += "    oifname " + br + downlink + " ip daddr " + net + " ct state established,related accept\n";
        } else {
            out += "    oifname " + br + downlink + " ip daddr " + net + " accept\n";
        }
        out += "    iifname " + br + " oifname " + br + " accept\n";
    } else {
        // Isolated: guests reach each other and the host, nothing beyond.
        out += "    iifname " + br + " oifname " + br + " accept\n";
    }
    out += "    iifname " + br + " reject\n    oifname " + br + " reject\n  }\n";
    if (def.forwardMode == "nat" && !def.ipAddress.empty()) {
        const std::string net = subnetOf(def);
        out += "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n";
        // Multicast and broadcast stay local, as in libvirt's rules.
        out += "    ip saddr " + net + " ip daddr 224.0.0.0/24 return\n";
        out += "    ip saddr " + net + " ip daddr 255.255.255.255 return\n";
        out += "    ip saddr " + net + " ip daddr != " + net +
               (def.forwardDev.empty() ? "" : " oifname \"" + def.forwardDev + "\"") + " masquerade\n";
        out += "  }\n";
    }
    return out;
}

bool needsDnsmasq(const conf::NetworkDef& def) { return !def.ipAddress.empty(); }

std::string dnsmasqConfig(const conf::NetworkDef& def, const NetworkRuntime& rt) {
    std::string out;
    // The name as its files are named: a name from an older daemon may hold a newline.
    out += "# Written by corrald for network '" + escapePathComponent(def.name) + "'; rewritten at each start.\n";
    out += "strict-order\n";
    out += "pid-file=" + rt.pidFile + "\n";
    out += "except-interface=lo\n";
    out += "bind-dynamic\n";
    out += "interface=" + rt.bridge + "\n";
    out += "listen-address=" + def.ipAddress + "\n";
    if (!def.dnsEnabled) {
        out += "port=0\n";  // <dns enable='no'>: DHCP only
    }
    if (!def.domainName.empty()) {
        out += "domain=" + def.domainName + "\nexpand-hosts\n";
        if (def.domainLocalOnly) {
            out += "local=/" + def.domainName + "/\n";  // answered here, never forwarded
        }
    }
    if (!def.dhcpStart.empty()) {
        const std::uint32_t mask = conf::prefixMask(def.prefix);
        out += "dhcp-range=" + def.dhcpStart + "," + def.dhcpEnd + "," + conf::formatIpv4(mask) + "\n";
        out += "dhcp-no-override\n";
        out += "dhcp-authoritative\n";
        std::uint32_t size = *conf::parseIpv4(def.dhcpEnd) - *conf::parseIpv4(def.dhcpStart) + 1;
        out += "dhcp-lease-max=" + std::to_string(size) + "\n";
    }
    if (def.dhcpStart.empty() && !def.dhcpHosts.empty()) {
        // Static hosts only: dnsmasq answers them and nobody else.
        const std::uint32_t mask = conf::prefixMask(def.prefix);
        out += "dhcp-range=" + conf::formatIpv4(*conf::parseIpv4(def.ipAddress) & mask) + ",static," +
               conf::formatIpv4(mask) + "\n";
    }
    if (!def.dhcpStart.empty() || !def.dhcpHosts.empty()) {
        out += "dhcp-leasefile=" + rt.leaseFile + "\n";
        out += "dhcp-hostsfile=" + rt.hostsFile + "\n";
    }
    return out;
}

}  // namespace corral::drivers::network
