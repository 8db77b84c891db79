// SPDX-License-Identifier: LGPL-2.1-or-later
// Capabilities, domain capabilities and sysinfo XML.
#include "conf/host_caps.hpp"

#include "conf/xml_node.hpp"

namespace corral::conf {

namespace {

std::string yesNo(bool b) { return b ? "yes" : "no"; }

void formatEnums(const std::vector<CapsEnum>& enums, const std::string& pad, std::string& out) {
    for (const auto& e : enums) {
        if (e.values.empty()) {
            out += pad + "<enum name='" + xmlEscape(e.name) + "'/>\n";
            continue;
        }
        out += pad + "<enum name='" + xmlEscape(e.name) + "'>\n";
        for (const auto& v : e.values) {
            out += pad + "  <value>" + xmlEscape(v) + "</value>\n";
        }
        out += pad + "</enum>\n";
    }
}

void formatFacet(const CapsFacet& f, const std::string& pad, std::string& out) {
    if (!f.supported || f.enums.empty()) {
        out += pad + "<" + f.name + " supported='" + yesNo(f.supported) + "'/>\n";
        return;
    }
    out += pad + "<" + f.name + " supported='yes'>\n";
    formatEnums(f.enums, pad + "  ", out);
    out += pad + "</" + f.name + ">\n";
}

}  // namespace

std::string formatCapabilities(const HostCapabilities& caps) {
    std::string x = "<capabilities>\n\n  <host>\n";
    if (!caps.uuid.empty()) {
        x += "    <uuid>" + xmlEscape(caps.uuid) + "</uuid>\n";
    }
    x += "    <cpu>\n      <arch>" + xmlEscape(caps.arch) + "</arch>\n";
    x += "      <topology sockets='" + std::to_string(caps.sockets) + "' dies='" + std::to_string(caps.dies) +
         "' cores='" + std::to_string(caps.cores) + "' threads='" + std::to_string(caps.threads) + "'/>\n";
    x += "    </cpu>\n    <power_management/>\n";
    x += "    <topology>\n      <cells num='" + std::to_string(caps.cells.size()) + "'>\n";
    for (const auto& cell : caps.cells) {
        x += "        <cell id='" + std::to_string(cell.id) + "'>\n";
        x += "          <memory unit='KiB'>" + std::to_string(cell.memoryKiB) + "</memory>\n";
        x += "          <cpus num='" + std::to_string(cell.cpus.size()) + "'>\n";
        for (unsigned cpu : cell.cpus) {
            x += "            <cpu id='" + std::to_string(cpu) + "'/>\n";
        }
        x += "          </cpus>\n        </cell>\n";
    }
    x += "      </cells>\n    </topology>\n";
    for (const auto& [model, doi] : caps.secmodels) {
        x += "    <secmodel>\n      <model>" + xmlEscape(model) + "</model>\n      <doi>" + xmlEscape(doi) +
             "</doi>\n    </secmodel>\n";
    }
    x += "  </host>\n\n";
    for (const auto& g : caps.guests) {
        x += "  <guest>\n    <os_type>" + xmlEscape(g.osType) + "</os_type>\n";
        x += "    <arch name='" + xmlEscape(g.arch) + "'>\n";
        x += "      <wordsize>" + std::to_string(g.wordsize) + "</wordsize>\n";
        if (!g.emulator.empty()) {
            x += "      <emulator>" + xmlEscape(g.emulator) + "</emulator>\n";
        }
        for (const auto& m : g.machines) {
            x += "      <machine";
            if (!m.canonical.empty()) {
                x += " canonical='" + xmlEscape(m.canonical) + "'";
            }
            if (m.maxCpus != 0) {
                x += " maxCpus='" + std::to_string(m.maxCpus) + "'";
            }
            x += ">" + xmlEscape(m.name) + "</machine>\n";
        }
        for (const auto& t : g.domainTypes) {
            x += "      <domain type='" + xmlEscape(t) + "'/>\n";
        }
        x += "    </arch>\n";
        if (!g.features.empty()) {
            x += "    <features>\n";
            for (const auto& f : g.features) {
                x += "      <" + f.name;
                if (f.defaultOn) {
                    x += std::string(" default='") + (*f.defaultOn ? "on" : "off") + "'";
                }
                if (f.toggle) {
                    x += " toggle='" + yesNo(*f.toggle) + "'";
                }
                x += "/>\n";
            }
            x += "    </features>\n";
        }
        x += "  </guest>\n\n";
    }
    x += "</capabilities>\n";
    return x;
}

std::string formatDomainCapabilities(const DomainCapabilities& caps) {
    std::string x = "<domainCapabilities>\n";
    x += "  <path>" + xmlEscape(caps.path) + "</path>\n";
    x += "  <domain>" + xmlEscape(caps.domain) + "</domain>\n";
    if (!caps.machine.empty()) {
        x += "  <machine>" + xmlEscape(caps.machine) + "</machine>\n";
    }
    x += "  <arch>" + xmlEscape(caps.arch) + "</arch>\n";
    x += "  <vcpu max='" + std::to_string(caps.maxVcpus) + "'/>\n";
    x += "  <iothreads supported='" + yesNo(caps.iothreads) + "'/>\n";
    if (!caps.os) {
        x += "  <os supported='no'/>\n";
    } else {
        x += "  <os supported='yes'>\n";
        formatEnums({{"firmware", caps.firmware}}, "    ", x);
        formatFacet(caps.loader, "    ", x);
        x += "  </os>\n";
    }
    x += "  <cpu>\n";
    for (const auto& mode : caps.cpuModes) {
        if (mode.models.empty()) {
            x += "    <mode name='" + xmlEscape(mode.name) + "' supported='" + yesNo(mode.supported) + "'/>\n";
            continue;
        }
        x += "    <mode name='" + xmlEscape(mode.name) + "' supported='" + yesNo(mode.supported) + "'>\n";
        for (const auto& model : mode.models) {
            // usable='unknown': QEMU runs every model it lists (TCG emulates missing features).
            x += "      <model usable='unknown'>" + xmlEscape(model) + "</model>\n";
        }
        x += "    </mode>\n";
    }
    x += "  </cpu>\n  <devices>\n";
    for (const auto& d : caps.devices) {
        formatFacet(d, "    ", x);
    }
    x += "  </devices>\n  <features>\n";
    for (const auto& [name, supported] : caps.features) {
        x += "    <" + name + " supported='" + yesNo(supported) + "'/>\n";
    }
    x += "  </features>\n</domainCapabilities>\n";
    return x;
}

std::string formatSysinfo(const std::vector<SysinfoSection>& sections) {
    std::string x = "<sysinfo type='smbios'>\n";
    for (const auto& s : sections) {
        if (s.entries.empty()) {
            continue;
        }
        x += "  <" + s.name + ">\n";
        for (const auto& [name, value] : s.entries) {
            x += "    <entry name='" + xmlEscape(name) + "'>" + xmlEscape(value) + "</entry>\n";
        }
        x += "  </" + s.name + ">\n";
    }
    x += "</sysinfo>\n";
    return x;
}

}  // namespace corral::conf
