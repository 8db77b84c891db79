// SPDX-License-Identifier: LGPL-2.1-or-later
// Network XML <-> NetworkDef.
#include "conf/network_def.hpp"

#include <arpa/inet.h>

#include <cctype>

#include "conf/object_name.hpp"
#include "conf/xml_node.hpp"
#include "conf/xml_read_tracker.hpp"
#include "util/strings.hpp"

namespace corral::conf {

namespace {

Unexpected xmlError(const std::string& message) { return fail(ErrorCode::XmlError, message, ErrorDomain::Network); }

Unexpected unsupported(const std::string& message) {
    return fail(ErrorCode::ConfigUnsupported, message, ErrorDomain::Network);
}

bool validMac(const std::string& mac) {
    if (mac.size() != 17) {
        return false;
    }
    for (std::size_t i = 0; i < mac.size(); ++i) {
        bool colon = i % 3 == 2;
        if (colon != (mac[i] == ':') || (!colon && !std::isxdigit(static_cast<unsigned char>(mac[i])))) {
            return false;
        }
    }
    return true;
}

Result<void> parseIp(const XmlNode& ip, NetworkDef& def) {
    const std::string family = ip.attrOr("family");
    if (!family.empty() && family != "ipv4") {
        return unsupported("<ip family='" + family + "'>: only IPv4 networks are supported");
    }
    if (!def.ipAddress.empty()) {
        return unsupported("<ip>: only one IPv4 address per network is supported");
    }
    def.ipAddress = ip.attrOr("address");
    CORRAL_ASSIGN_OR_RETURN(std::uint32_t address, parseIpv4(def.ipAddress));
    const std::string prefix = ip.attrOr("prefix");
    const std::string netmask = ip.attrOr("netmask");
    if (!prefix.empty()) {
        auto p = parseUnsigned(prefix);
        if (!p || *p > 30 || *p < 8) {
            return xmlError("<ip prefix='" + prefix + "'>: expected 8 to 30");
        }
        def.prefix = static_cast<unsigned>(*p);
    } else if (!netmask.empty()) {
        CORRAL_ASSIGN_OR_RETURN(std::uint32_t mask, parseIpv4(netmask));
        unsigned bits = 0;
        while (bits < 32 && (mask & (0x80000000u >> bits)) != 0) {
            ++bits;
        }
        if (mask != prefixMask(bits) || bits < 8 || bits > 30) {
            return xmlError("<ip netmask='" + netmask + "'>: not a contiguous netmask of /8 to /30");
        }
        def.prefix = bits;
    }
    const std::uint32_t mask = prefixMask(def.prefix);
    if ((address & ~mask) == 0 || (address & ~mask) == ~mask) {
        return xmlError("<ip address='" + def.ipAddress + "'>: the network or broadcast address cannot be the bridge's");
    }
    auto inSubnet = [&](const std::string& what, const std::string& text) -> Result<void> {
        CORRAL_ASSIGN_OR_RETURN(std::uint32_t a, parseIpv4(text));
        if ((a & mask) != (address & mask)) {
            return xmlError(what + " '" + text + "' is outside the network " + def.ipAddress + "/" +
                            std::to_string(def.prefix));
        }
        return {};
    };
    for (const auto& c : ip.children) {
        if (c.name != "dhcp") {
            return unsupported("<ip><" + c.name + ">: not supported (dhcp)");
        }
        c.markRead();
        for (const auto& d : c.children) {
            d.markRead();
            if (d.name == "range") {
                if (!def.dhcpStart.empty()) {
                    return unsupported("<dhcp>: only one <range> is supported");
                }
                def.dhcpStart = d.attrOr("start");
                def.dhcpEnd = d.attrOr("end");
                CORRAL_TRY(inSubnet("<range start>", def.dhcpStart));
                CORRAL_TRY(inSubnet("<range end>", def.dhcpEnd));
                if (*parseIpv4(def.dhcpStart) > *parseIpv4(def.dhcpEnd)) {
                    return xmlError("<range>: start " + def.dhcpStart + " is after end " + def.dhcpEnd);
                }
            } else if (d.name == "host") {
                NetworkDhcpHost h{d.attrOr("mac"), d.attrOr("name"), d.attrOr("ip")};
                if (!validMac(h.mac)) {
                    return xmlError("<dhcp><host mac='" + h.mac + "'>: not a MAC address");
                }
                CORRAL_TRY(inSubnet("<host ip>", h.ip));
                def.dhcpHosts.push_back(std::move(h));
            } else {
                return unsupported("<dhcp><" + d.name + ">: not supported (range, host)");
            }
        }
    }
    return {};
}

}  // namespace

Result<std::uint32_t> parseIpv4(std::string_view text) {
    in_addr a{};
    std::string s(text);
    if (::inet_pton(AF_INET, s.c_str(), &a) != 1) {
        return xmlError("'" + s + "' is not an IPv4 address");
    }
    return ntohl(a.s_addr);
}

std::uint32_t prefixMask(unsigned prefix) { return prefix == 0 ? 0 : ~0u << (32 - prefix); }

std::string formatIpv4(std::uint32_t address) {
    in_addr a{};
    a.s_addr = htonl(address);
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &a, buf, sizeof buf);
    return buf;
}

Result<std::unique_ptr<NetworkDef>> parseNetworkXml(std::string_view xml) {
    CORRAL_ASSIGN_OR_RETURN(XmlNode root, parseXmlDocument(xml, "(network_definition)"));
    if (root.name != "network") {
        return xmlError("expected root element <network>, found <" + root.name + ">");
    }
    auto def = std::make_unique<NetworkDef>();
    // Every part read below is acted on when the network starts; what is left unread is
    // refused at the end, naming it ("accepted means enforced").
    XmlReadTracker reads;
    for (const auto& c : root.children) {
        c.markRead();
        if (c.name == "name") {
            def->name = std::string(trimString(c.text));
        } else if (c.name == "uuid") {
            auto u = Uuid::parse(trimString(c.text));
            if (!u) {
                return xmlError("<uuid>: '" + c.text + "' is not a UUID");
            }
            def->uuid = *u;
            def->uuidGiven = true;
        } else if (c.name == "bridge") {
            def->bridge = c.attrOr("name");
            const std::string stp = c.attrOr("stp", "on");
            if (stp != "on" && stp != "off") {
                return xmlError("<bridge stp='" + stp + "'>: expected 'on' or 'off'");
            }
            def->stp = stp == "on";
            const std::string delay = c.attrOr("delay", "0");
            auto seconds = parseUnsigned(delay);
            if (!seconds || *seconds > 30) {
                return xmlError("<bridge delay='" + delay + "'>: expected a forward delay of 0 to 30 seconds");
            }
            def->delaySeconds = static_cast<unsigned>(*seconds);
            if (def->bridge.size() > 15) {
                return xmlError("<bridge name='" + def->bridge + "'>: longer than 15 characters");
            }
        } else if (c.name == "forward") {
            def->forwardMode = c.attrOr("mode").empty() ? "nat" : c.attrOr("mode");
            def->forwardDev = c.attrOr("dev");
            if (def->forwardMode != "nat" && def->forwardMode != "route") {
                return unsupported("<forward mode='" + def->forwardMode + "'>: not supported (nat, route, or no "
                                   "<forward> for an isolated network)");
            }
        } else if (c.name == "mac") {
            def->mac = c.attrOr("address");
            if (!validMac(def->mac)) {
                return xmlError("<mac address='" + def->mac + "'>: not a MAC address");
            }
        } else if (c.name == "ip") {
            CORRAL_TRY(parseIp(c, *def));
        } else if (c.name == "domain") {
            def->domainName = c.attrOr("name");
            const std::string localOnly = c.attrOr("localOnly", "no");
            if (def->domainName.empty() || (localOnly != "yes" && localOnly != "no")) {
                return xmlError("<domain>: needs name='...' and localOnly 'yes' or 'no'");
            }
            def->domainLocalOnly = localOnly == "yes";
            // It goes into dnsmasq's configuration: a DNS name and nothing else.
            for (char ch : def->domainName) {
                if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '.') {
                    return xmlError("<domain name='" + def->domainName + "'>: not a DNS domain name");
                }
            }
            if (def->domainName.size() > 253) {
                return xmlError("<domain name>: longer than 253 characters");
            }
        } else if (c.name == "dns") {
            // Only DNS on or off; records and forwarders (its children) are left unread, so refused.
            const std::string enable = c.attrOr("enable", "yes");
            if (enable != "yes" && enable != "no") {
                return xmlError("<dns enable='" + enable + "'>: expected 'yes' or 'no'");
            }
            def->dnsEnabled = enable == "yes";
        } else if (c.name == "mtu") {
            auto size = parseUnsigned(c.attrOr("size"));
            if (!size || *size < 68 || *size > 65535) {
                return xmlError("<mtu size='" + c.attrOr("size") + "'>: expected 68 to 65535");
            }
            def->mtu = static_cast<unsigned>(*size);
        } else {
            return unsupported("<network><" + c.name + ">: not supported by this network driver");
        }
    }
    if (def->name.empty()) {
        return xmlError("missing <name> in network definition");
    }
    if (def->name.find('/') != std::string::npos || def->name.size() > 64) {
        return xmlError("network name '" + def->name + "' must not contain '/' and be at most 64 characters");
    }
    if (!def->dhcpStart.empty() && def->ipAddress.empty()) {
        return xmlError("<dhcp> needs an <ip address>");
    }
    std::vector<UnreadPart> unread;
    for (const auto& c : root.children) {
        collectUnreadParts(c, reads, "", [](std::string_view) { return false; }, unread);
    }
    for (const auto& [key, value] : root.attrs) {
        if (!isNamespaceDeclaration(key)) {
            unread.push_back({"<network " + key + "='" + value + "'>", root.line});
        }
    }
    if (!unread.empty()) {
        return unsupported(describeUnreadParts(unread, "the network driver"));
    }
    return def;
}

Result<void> checkNetworkHostValues(const NetworkDef& def) {
    if (!def.bridge.empty()) {
        CORRAL_TRY(validateInterfaceName(def.bridge, "<bridge name>", ErrorDomain::Network));
    }
    if (!def.forwardDev.empty()) {
        CORRAL_TRY(validateInterfaceName(def.forwardDev, "<forward dev>", ErrorDomain::Network));
    }
    for (const auto& h : def.dhcpHosts) {
        // A hosts-file line is "MAC,IP,NAME": a ',' or a newline in the name would add options.
        if (!h.name.empty() && !isDnsName(h.name)) {
            return xmlError("<dhcp><host name='" + printableText(h.name) +
                            "'>: not a host name (letters, digits, '-' and '.', starting with a letter or digit)");
        }
    }
    return {};
}

std::string formatNetworkXml(const NetworkDef& def) {
    std::string out = "<network>\n";
    out += "  <name>" + xmlEscape(def.name) + "</name>\n";
    out += "  <uuid>" + def.uuid.toString() + "</uuid>\n";
    if (!def.forwardMode.empty()) {
        out += "  <forward mode='" + def.forwardMode + "'" +
               (def.forwardDev.empty() ? std::string() : " dev='" + xmlEscape(def.forwardDev) + "'") + "/>\n";
    }
    if (!def.bridge.empty()) {
        out += "  <bridge name='" + xmlEscape(def.bridge) + "' stp='" + (def.stp ? "on" : "off") + "' delay='" +
               std::to_string(def.delaySeconds) + "'/>\n";
    }
    if (def.mtu != 0) {
        out += "  <mtu size='" + std::to_string(def.mtu) + "'/>\n";
    }
    if (!def.mac.empty()) {
        out += "  <mac address='" + def.mac + "'/>\n";
    }
    if (!def.domainName.empty()) {
        out += "  <domain name='" + xmlEscape(def.domainName) + "'" + (def.domainLocalOnly ? " localOnly='yes'" : "") +
               "/>\n";
    }
    if (!def.dnsEnabled) {
        out += "  <dns enable='no'/>\n";
    }
    if (!def.ipAddress.empty()) {
        out += "  <ip address='" + def.ipAddress + "' netmask='" + formatIpv4(prefixMask(def.prefix)) + "'>\n";
        if (!def.dhcpStart.empty() || !def.dhcpHosts.empty()) {
            out += "    <dhcp>\n";
            if (!def.dhcpStart.empty()) {
                out += "      <range start='" + def.dhcpStart + "' end='" + def.dhcpEnd + "'/>\n";
            }
            for (const auto& h : def.dhcpHosts) {
                out += "      <host mac='" + h.mac + "'" + (h.name.empty() ? "" : " name='" + xmlEscape(h.name) + "'") +
                       " ip='" + h.ip + "'/>\n";
            }
            out += "    </dhcp>\n";
        }
        out += "  </ip>\n";
    }
    out += "</network>\n";
    return out;
}

}  // namespace corral::conf
