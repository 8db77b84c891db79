// SPDX-License-Identifier: LGPL-2.1-or-later
// addImplicitDevices: what libvirt's QEMU driver adds to a pc or q35 definition that names none
// (its qemuxml2xmloutdata minimal and q35-default-devices-only), less the USB controller and the
// emulator path (docs/qemu.md "Devices a definition gets unasked").
#include <gtest/gtest.h>

#include "conf/domain_def.hpp"
#include "drivers/qemu/qemu_implicit_devices.hpp"
#include "drivers/qemu/qemu_pci_addresses.hpp"

namespace corral::drivers::qemu {
namespace {

std::unique_ptr<conf::DomainDef> parse(const std::string& machine, const std::string& devices,
                                       const std::string& type = "qemu") {
    auto def = conf::parseDomainXml("<domain type='" + type + "'><name>p</name><memory>65536</memory><os><type machine='" +
                                    machine + "'>hvm</type></os><devices>" + devices + "</devices></domain>");
    EXPECT_TRUE(def) << def.error().message;
    return def ? std::move(*def) : nullptr;
}

/// The devices as "name[type|model|bus]" in document order.
std::string devices(const conf::DomainDef& def) {
    std::string out;
    for (const auto& dev : def.devices) {
        out += (out.empty() ? "" : " ") + dev.name;
        for (const char* key : {"type", "model", "bus", "id"}) {
            if (auto* v = dev.attr(key)) {
                out += std::string(",") + key + "=" + *v;
            }
        }
    }
    return out;
}

TEST(QemuImplicitDevices, AGuestNamingNoneGetsLibvirtsBalloonInputsAndAudioButNoUsb) {
    for (const char* machine : {"pc", "q35", "pc-i440fx-7.2", "pc-q35-7.2"}) {
        auto def = parse(machine, "");
        addImplicitDevices(*def);
        EXPECT_EQ(devices(*def), "input,type=mouse,bus=ps2 input,type=keyboard,bus=ps2 audio,type=none,id=1 "
                                 "memballoon,model=virtio")
            << machine;
    }
}

TEST(QemuImplicitDevices, WhatTheDefinitionNamesIsKept) {
    auto def = parse("pc", "<memballoon model='none'/><input type='mouse'/><audio id='1' type='none'/>"
                           "<input type='tablet' bus='usb'/>");
    addImplicitDevices(*def);
    // The PS/2 keyboard is added (libvirt adds it beside a USB tablet too), nothing else.
    EXPECT_EQ(devices(*def), "memballoon,model=none input,type=mouse audio,type=none,id=1 input,type=tablet,bus=usb "
                             "input,type=keyboard,bus=ps2");
}

TEST(QemuImplicitDevices, SpiceGraphicsGetSpicesAudioBackend) {
    auto def = parse("pc", "<graphics type='spice'/>");
    addImplicitDevices(*def);
    EXPECT_NE(devices(*def).find("audio,type=spice,id=1"), std::string::npos) << devices(*def);
}

TEST(QemuImplicitDevices, OtherMachinesAndDriversAreLeftAlone) {
    auto microvm = parse("microvm", "");
    addImplicitDevices(*microvm);
    EXPECT_EQ(devices(*microvm), "");
    auto unknown = parse("virt", "");
    addImplicitDevices(*unknown);
    EXPECT_EQ(devices(*unknown), "");
    auto lxc = parse("pc", "", "lxc");
    addImplicitDevices(*lxc);
    EXPECT_EQ(devices(*lxc), "");
}

TEST(QemuImplicitDevices, TheBalloonTakesLibvirtsPlace) {
    // libvirt's minimal (pc): the balloon at slot 2 when there is no video; q35: on a root port
    // of its own (bus 1 here, as nothing else needs one), plus the spare port.
    auto pc = parse("pc", "");
    addImplicitDevices(*pc);
    ASSERT_TRUE(assignPciAddresses(*pc));
    auto q35 = parse("q35", "");
    addImplicitDevices(*q35);
    ASSERT_TRUE(assignPciAddresses(*q35));
    for (auto* def : {pc.get(), q35.get()}) {
        for (const auto& dev : def->devices) {
            if (dev.name != "memballoon") {
                continue;
            }
            auto pci = conf::pciAddressOf(dev);
            ASSERT_TRUE(pci && *pci);
            EXPECT_EQ(def == pc.get() ? 0u : 1u, (*pci)->bus);
            EXPECT_EQ(def == pc.get() ? 2u : 0u, (*pci)->slot);
        }
    }
}

}  // namespace
}  // namespace corral::drivers::qemu
