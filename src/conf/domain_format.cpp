// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainDef -> XML in libvirt's canonical order and layout.
#include <algorithm>

#include "conf/domain_def.hpp"
#include "conf/domain_schema.hpp"

namespace corral::conf {

namespace {

void line(std::string& out, int indent, const std::string& text) {
    out.append(static_cast<std::size_t>(indent), ' ');
    out += text;
    out += '\n';
}

std::string textElement(const std::string& name, const std::string& value) {
    return "<" + name + ">" + xmlEscape(value) + "</" + name + ">";
}

/// A copy of `n` with what must not leave the daemon removed (unless `secure`), and live-only
/// attributes dropped for the inactive form.
XmlNode scrub(const XmlNode& n, const FormatOptions& opts) {
    XmlNode copy = n;
    if (copy.name == "graphics") {
        if (!opts.secure) {
            copy.removeAttr("passwd");
        }
        if (opts.inactive) {
            const std::string* autoport = copy.attr("autoport");
            if (autoport != nullptr && *autoport == "yes") {
                // An automatically chosen port belongs to one run, not to the definition.
                copy.setAttr("port", "-1");
                if (copy.attr("tlsPort") != nullptr) {
                    copy.setAttr("tlsPort", "-1");
                }
            }
        }
    }
    if (copy.name == "interface" && opts.inactive) {
        // Tap names the daemon chose ("vnetN") belong to one run, as in libvirt.
        std::erase_if(copy.children, [](const XmlNode& c) {
            const std::string* dev = c.attr("dev");
            return c.name == "target" && dev != nullptr && dev->starts_with("vnet");
        });
    }
    return copy;
}

}  // namespace

std::string formatDomainXml(const DomainDef& def, const FormatOptions& opts, int liveId) {
    std::string out;
    std::string open = "<domain type='" + xmlEscape(def.type) + "'";
    if (liveId >= 0) {
        open += " id='" + std::to_string(liveId) + "'";
    }
    for (const auto& [k, v] : def.rootAttrs) {
        open += " " + k + "='" + xmlEscape(v) + "'";
    }
    out += open + ">\n";

    // Schema-known elements, stable-sorted into libvirt's order, emitted around the typed ones.
    std::vector<const XmlNode*> others;
    for (const auto& e : def.elements) {
        others.push_back(&e);
    }
    std::stable_sort(others.begin(), others.end(), [](const XmlNode* a, const XmlNode* b) {
        return topLevelOrder(a->name) < topLevelOrder(b->name);
    });
    std::size_t next = 0;
    auto emitOthersBefore = [&](std::string_view anchor) {
        int limit = topLevelOrder(anchor);
        while (next < others.size() && topLevelOrder(others[next]->name) < limit) {
            formatXmlNode(scrub(*others[next], opts), 2, out);
            ++next;
        }
    };

    line(out, 2, textElement("name", def.name));
    line(out, 2, textElement("uuid", def.uuid.toString()));
    emitOthersBefore("title");
    if (!def.title.empty()) {
        line(out, 2, textElement("title", def.title));
    }
    if (!def.description.empty()) {
        line(out, 2, textElement("description", def.description));
    }
    emitOthersBefore("memory");
    std::string memory = "<memory unit='KiB'";
    if (!def.memoryDumpCore.empty()) {
        memory += " dumpCore='" + xmlEscape(def.memoryDumpCore) + "'";
    }
    line(out, 2, memory + ">" + std::to_string(def.memoryKiB) + "</memory>");
    line(out, 2, "<currentMemory unit='KiB'>" + std::to_string(def.currentMemoryKiB) + "</currentMemory>");
    emitOthersBefore("vcpu");
    if (def.vcpus > 0) {
        std::string vcpu = "<vcpu placement='" + xmlEscape(def.vcpuPlacement.empty() ? "static" : def.vcpuPlacement) + "'";
        if (!def.vcpuCpuset.empty()) {
            vcpu += " cpuset='" + xmlEscape(def.vcpuCpuset) + "'";
        }
        if (def.vcpuCurrent != 0 && def.vcpuCurrent != def.vcpus) {
            vcpu += " current='" + std::to_string(def.vcpuCurrent) + "'";
        }
        line(out, 2, vcpu + ">" + std::to_string(def.vcpus) + "</vcpu>");
    }
    emitOthersBefore("os");
    std::string os = "<os";
    for (const auto& [k, v] : def.os.attributes.attrs) {
        os += " " + k + "='" + xmlEscape(v) + "'";
    }
    line(out, 2, os + ">");
    std::string type = "<type";
    if (!def.os.arch.empty()) {
        type += " arch='" + xmlEscape(def.os.arch) + "'";
    }
    if (!def.os.machine.empty()) {
        type += " machine='" + xmlEscape(def.os.machine) + "'";
    }
    line(out, 4, type + ">" + xmlEscape(def.os.type) + "</type>");
    for (const auto& e : def.os.elements) {
        formatXmlNode(e, 4, out);
    }
    line(out, 2, "</os>");
    emitOthersBefore("on_poweroff");
    line(out, 2, textElement("on_poweroff", def.onPoweroff));
    line(out, 2, textElement("on_reboot", def.onReboot));
    line(out, 2, textElement("on_crash", def.onCrash));
    emitOthersBefore("devices");

    std::vector<const XmlNode*> devices;
    for (const auto& d : def.devices) {
        devices.push_back(&d);
    }
    auto rank = [](const XmlNode* d) {
        int r = deviceOrder(d->name);
        return r < 0 ? 1000 : r;  // unknown devices last, in document order
    };
    std::stable_sort(devices.begin(), devices.end(),
                     [&](const XmlNode* a, const XmlNode* b) { return rank(a) < rank(b); });
    if (!def.emulator.empty() || !devices.empty()) {
        line(out, 2, "<devices>");
        if (!def.emulator.empty()) {
            line(out, 4, textElement("emulator", def.emulator));
        }
        for (const XmlNode* d : devices) {
            formatXmlNode(scrub(*d, opts), 4, out);
        }
        line(out, 2, "</devices>");
    }
    while (next < others.size()) {
        formatXmlNode(scrub(*others[next++], opts), 2, out);
    }
    for (const auto& u : def.unknown) {
        formatXmlNode(u, 2, out);
    }
    out += "</domain>\n";
    return out;
}

}  // namespace corral::conf
