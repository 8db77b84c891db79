// SPDX-License-Identifier: LGPL-2.1-or-later
// Capabilities, domain capabilities and sysinfo XML: libvirt's element names and order, the
// canonical attribute on aliases, escaping of values that come from the host.
#include "conf/host_caps.hpp"

#include <gtest/gtest.h>

namespace corral::conf {
namespace {

TEST(HostCapsFormat, GuestWithEmulatorMachinesAndAliases) {
    HostCapabilities caps;
    caps.arch = "x86_64";
    caps.cores = 2;
    caps.cells.push_back({0, 1024, {0, 1}});
    caps.secmodels.emplace_back("none", "0");
    CapsGuest g;
    g.osType = "hvm";
    g.arch = "x86_64";
    g.emulator = "/usr/bin/qemu-system-x86_64";
    g.machines = {{"pc-q35-7.2", "", 288}, {"q35", "pc-q35-7.2", 288}};
    g.domainTypes = {"qemu"};
    g.features = {{"acpi", true, true}, {"apic", true, false}, {"cpuselection", std::nullopt, std::nullopt}};
    caps.guests.push_back(g);
    const std::string xml = formatCapabilities(caps);
    EXPECT_NE(xml.find("<topology sockets='1' dies='1' cores='2' threads='1'/>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<cells num='1'>"), std::string::npos);
    EXPECT_NE(xml.find("<cpus num='2'>\n            <cpu id='0'/>\n            <cpu id='1'/>"), std::string::npos);
    EXPECT_NE(xml.find("      <wordsize>64</wordsize>\n      <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
                       "      <machine maxCpus='288'>pc-q35-7.2</machine>\n"
                       "      <machine canonical='pc-q35-7.2' maxCpus='288'>q35</machine>\n"
                       "      <domain type='qemu'/>\n    </arch>\n"),
              std::string::npos)
        << xml;
    EXPECT_EQ(xml.find("type='kvm'"), std::string::npos);
    EXPECT_NE(xml.find("    </arch>\n    <features>\n      <acpi default='on' toggle='yes'/>\n"
                       "      <apic default='on' toggle='no'/>\n      <cpuselection/>\n    </features>\n  </guest>"),
              std::string::npos)
        << xml;
}

TEST(HostCapsFormat, ContainerGuestHasNoEmulatorAndValuesAreEscaped) {
    HostCapabilities caps;
    caps.arch = "x86_64";
    caps.secmodels.emplace_back("selinux", "<0>");
    caps.guests.push_back({"exe", "x86_64", 64, "", {}, {"lxc"}, {}});
    const std::string xml = formatCapabilities(caps);
    EXPECT_EQ(xml.find("<emulator>"), std::string::npos);
    EXPECT_NE(xml.find("<doi>&lt;0&gt;</doi>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<os_type>exe</os_type>"), std::string::npos);
}

TEST(DomainCapsFormat, EnumsFacetsModesAndFeatures) {
    DomainCapabilities dc;
    dc.path = "/usr/bin/qemu-system-x86_64";
    dc.domain = "qemu";
    dc.machine = "pc-q35-7.2";
    dc.arch = "x86_64";
    dc.maxVcpus = 288;
    dc.iothreads = true;
    dc.cpuModes = {{"host-passthrough", false, {}}, {"custom", true, {"qemu64"}}};
    dc.devices = {{"disk", true, {{"diskDevice", {"disk", "cdrom"}}, {"model", {}}}}, {"hostdev", false, {}}};
    dc.features = {{"gic", false}, {"genid", true}};
    const std::string xml = formatDomainCapabilities(dc);
    EXPECT_NE(xml.find("<domainCapabilities>\n  <path>/usr/bin/qemu-system-x86_64</path>\n  <domain>qemu</domain>\n"
                       "  <machine>pc-q35-7.2</machine>\n  <arch>x86_64</arch>\n  <vcpu max='288'/>\n"
                       "  <iothreads supported='yes'/>\n  <os supported='yes'>\n    <enum name='firmware'/>\n"
                       "    <loader supported='no'/>\n  </os>\n"),
              std::string::npos)
        << xml;
    EXPECT_NE(xml.find("<mode name='host-passthrough' supported='no'/>"), std::string::npos);
    EXPECT_NE(xml.find("<mode name='custom' supported='yes'>\n      <model usable='unknown'>qemu64</model>"),
              std::string::npos);
    EXPECT_NE(xml.find("    <disk supported='yes'>\n      <enum name='diskDevice'>\n        <value>disk</value>\n"
                       "        <value>cdrom</value>\n      </enum>\n      <enum name='model'/>\n    </disk>\n"
                       "    <hostdev supported='no'/>"),
              std::string::npos)
        << xml;
    EXPECT_NE(xml.find("<features>\n    <gic supported='no'/>\n    <genid supported='yes'/>\n  </features>"),
              std::string::npos);
}

TEST(SysinfoFormat, SectionsWithEntriesOnly) {
    const std::string xml = formatSysinfo({{"bios", {{"vendor", "A&B"}}}, {"system", {}}});
    EXPECT_EQ(xml, "<sysinfo type='smbios'>\n  <bios>\n    <entry name='vendor'>A&amp;B</entry>\n  </bios>\n"
                   "</sysinfo>\n");
}

}  // namespace
}  // namespace corral::conf
