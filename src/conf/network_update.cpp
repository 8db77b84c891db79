// SPDX-License-Identifier: LGPL-2.1-or-later
// virNetworkUpdate on a definition.
#include "conf/network_update.hpp"

#include <algorithm>
#include <array>

#include "conf/xml_node.hpp"
#include "conf/xml_read_tracker.hpp"

namespace corral::conf {

namespace {

Unexpected invalid(const std::string& message) {
    return fail(ErrorCode::OperationInvalid, message, ErrorDomain::Network);
}

/// The <host> element as given: mac, name and ip, each possibly empty (a delete names only what
/// identifies the entry).
Result<NetworkDhcpHost> parseHostElement(std::string_view xml) {
    CORRAL_ASSIGN_OR_RETURN(XmlNode root, parseXmlDocument(xml, "(network_update)"));
    if (root.name != "host") {
        return fail(ErrorCode::XmlError, "expected <host> for section 'ip-dhcp-host', found <" + root.name + ">",
                    ErrorDomain::Network);
    }
    XmlReadTracker reads;
    NetworkDhcpHost host{root.attrOr("mac"), root.attrOr("name"), root.attrOr("ip")};
    // Lower case, as dnsmasq and the definition's own hosts compare them.
    std::transform(host.mac.begin(), host.mac.end(), host.mac.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::vector<UnreadPart> unread;
    for (const auto& c : root.children) {
        collectUnreadParts(c, reads, "<host>", [](std::string_view) { return false; }, unread);
    }
    for (std::size_t i = 0; i < root.attrs.size(); ++i) {
        const auto& [key, value] = root.attrs[i];
        if (key != "mac" && key != "name" && key != "ip" && !isNamespaceDeclaration(key)) {
            unread.push_back({"<host " + key + "='" + value + "'>", root.line});
        }
    }
    if (!unread.empty()) {
        return fail(ErrorCode::ConfigUnsupported, describeUnreadParts(unread, "the network driver"),
                    ErrorDomain::Network);
    }
    if (host.mac.empty() && host.name.empty() && host.ip.empty()) {
        return fail(ErrorCode::XmlError, "<host> names no mac, name or ip", ErrorDomain::Network);
    }
    return host;
}

std::string describe(const NetworkDhcpHost& h) {
    std::string out = "<host";
    for (const auto& [key, value] : {std::pair{"mac", &h.mac}, std::pair{"name", &h.name}, std::pair{"ip", &h.ip}}) {
        if (!value->empty()) {
            out += std::string(" ") + key + "='" + *value + "'";
        }
    }
    return out + "/>";
}

/// An entry is the one meant when every attribute the request gives is the entry's.
bool identifies(const NetworkDhcpHost& request, const NetworkDhcpHost& entry) {
    return (request.mac.empty() || request.mac == entry.mac) && (request.name.empty() || request.name == entry.name) &&
           (request.ip.empty() || request.ip == entry.ip);
}

/// An entry a new host would collide with: the same MAC, name or address.
bool collides(const NetworkDhcpHost& added, const NetworkDhcpHost& entry) {
    return (!added.mac.empty() && added.mac == entry.mac) || (!added.name.empty() && added.name == entry.name) ||
           (!added.ip.empty() && added.ip == entry.ip);
}

}  // namespace

std::string_view networkUpdateSectionName(unsigned section) {
    static constexpr std::array<std::string_view, 13> kNames = {
        "none", "bridge", "domain", "ip", "ip-dhcp-host", "ip-dhcp-range", "forward", "forward-interface",
        "forward-pf", "portgroup", "dns-host", "dns-txt", "dns-srv"};
    return section < kNames.size() ? kNames[section] : std::string_view("unknown");
}

Result<NetworkDef> applyNetworkUpdate(const NetworkDef& def, unsigned command, unsigned section, int parentIndex,
                                      std::string_view xml) {
    if (section != kNetworkSectionIpDhcpHost) {
        return fail(ErrorCode::OperationUnsupported,
                    "can't update '" + std::string(networkUpdateSectionName(section)) +
                        "' section of network '" + def.name + "': only 'ip-dhcp-host' is supported",
                    ErrorDomain::Network);
    }
    if (command < 1 || command > 4) {
        return fail(ErrorCode::OperationUnsupported,
                    "unrecognized network update command " + std::to_string(command), ErrorDomain::Network);
    }
    // One IPv4 address per network here: index 0, or -1 for "the one with DHCP".
    if (def.ipAddress.empty() || (parentIndex != -1 && parentIndex != 0)) {
        return invalid("couldn't update dhcp host entry - no <ip> element found at index " +
                       std::to_string(parentIndex) + " in network '" + def.name + "'");
    }
    CORRAL_ASSIGN_OR_RETURN(NetworkDhcpHost host, parseHostElement(xml));
    NetworkDef out = def;
    auto& hosts = out.dhcpHosts;
    switch (static_cast<NetworkUpdateCommand>(command)) {
        case NetworkUpdateCommand::AddFirst:
        case NetworkUpdateCommand::AddLast: {
            if (std::any_of(hosts.begin(), hosts.end(), [&](const auto& e) { return collides(host, e); })) {
                return invalid("there is an existing dhcp host entry in network '" + def.name + "' that matches \"" +
                               describe(host) + "\"");
            }
            auto at = command == static_cast<unsigned>(NetworkUpdateCommand::AddFirst) ? hosts.begin() : hosts.end();
            hosts.insert(at, host);
            break;
        }
        case NetworkUpdateCommand::Modify: {
            // The entry with this MAC (or, without one, this name) gets the new values.
            NetworkDhcpHost key{host.mac, host.mac.empty() ? host.name : "", ""};
            auto it = std::find_if(hosts.begin(), hosts.end(), [&](const auto& e) { return identifies(key, e); });
            if (it == hosts.end() || (key.mac.empty() && key.name.empty())) {
                return invalid("couldn't locate an existing dhcp host entry with \"" + describe(key) + "\" in network '" +
                               def.name + "'");
            }
            *it = host;
            break;
        }
        case NetworkUpdateCommand::Delete: {
            auto it = std::find_if(hosts.begin(), hosts.end(), [&](const auto& e) { return identifies(host, e); });
            if (it == hosts.end()) {
                return invalid("couldn't locate a matching dhcp host entry in network '" + def.name + "'");
            }
            hosts.erase(it);
            break;
        }
    }
    // The result is checked as a definition: a MAC that is not one, an address outside the
    // network, a name dnsmasq's hosts file cannot hold are refused as net-define refuses them.
    CORRAL_ASSIGN_OR_RETURN(auto checked, parseNetworkXml(formatNetworkXml(out)));
    CORRAL_TRY(checkNetworkHostValues(*checked));
    return std::move(*checked);
}

}  // namespace corral::conf
