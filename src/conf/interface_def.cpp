// SPDX-License-Identifier: LGPL-2.1-or-later
// The interface XML layout as libvirt 9.0 writes it: a bridge's own MAC and link are not shown,
// its ports are, without their MTU.
#include "conf/interface_def.hpp"

#include "conf/xml_node.hpp"

namespace corral::conf {

namespace {

void formatInterface(std::string& out, const InterfaceDef& def, int level) {
    const std::string pad(static_cast<std::size_t>(level) * 2, ' ');
    const bool port = level > 0;
    out += pad + "<interface type='" + def.type + "' name='" + xmlEscape(def.name) + "'>\n";
    if (!def.startMode.empty()) {
        out += pad + "  <start mode='" + def.startMode + "'/>\n";
    }
    if (def.mtu != 0 && !port) {
        out += pad + "  <mtu size='" + std::to_string(def.mtu) + "'/>\n";
    }
    for (const auto& p : def.protocols) {
        out += pad + "  <protocol family='" + p.family + "'>\n";
        for (const auto& ip : p.ips) {
            out += pad + "    <ip address='" + xmlEscape(ip.address) + "' prefix='" + std::to_string(ip.prefix) + "'/>\n";
        }
        if (!p.gateway.empty()) {
            out += pad + "    <route gateway='" + xmlEscape(p.gateway) + "'/>\n";
        }
        out += pad + "  </protocol>\n";
    }
    if (def.type == "bridge") {
        out += pad + "  <bridge stp='" + (def.stp ? "on" : "off") + "'" +
               (def.delay.empty() ? std::string() : " delay='" + def.delay + "'");
        if (def.ports.empty()) {
            out += "/>\n";
        } else {
            out += ">\n";
            for (const auto& p : def.ports) {
                formatInterface(out, p, level + 2);
            }
            out += pad + "  </bridge>\n";
        }
    } else {
        if (!def.linkState.empty()) {
            out += pad + "  <link";
            if (def.linkSpeed) {
                out += " speed='" + std::to_string(*def.linkSpeed) + "'";
            }
            out += " state='" + def.linkState + "'/>\n";
        }
        if (!def.mac.empty()) {
            out += pad + "  <mac address='" + def.mac + "'/>\n";
        }
    }
    out += pad + "</interface>\n";
}

}  // namespace

std::string formatInterfaceXml(const InterfaceDef& def) {
    std::string out;
    formatInterface(out, def, 0);
    return out;
}

}  // namespace corral::conf
