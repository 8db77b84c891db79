// SPDX-License-Identifier: LGPL-2.1-or-later
// assignPciAddresses: the PCI places libvirt's QEMU driver gives (its qemuxml2xmloutdata: minimal,
// q35-default-devices-only, q35-virt-manager-basic), kept in the definition, so that a device
// added later never moves one already placed; and the refusals of clashing addresses.
#include <gtest/gtest.h>

#include "conf/domain_def.hpp"
#include "drivers/qemu/qemu_pci_addresses.hpp"

namespace corral::drivers::qemu {
namespace {

std::unique_ptr<conf::DomainDef> parse(const std::string& machine, const std::string& devices) {
    auto def = conf::parseDomainXml("<domain type='qemu'><name>p</name><memory>65536</memory><os><type machine='" +
                                    machine + "'>hvm</type></os><devices>" + devices + "</devices></domain>");
    EXPECT_TRUE(def) << def.error().message;
    return def ? std::move(*def) : nullptr;
}

/// "bus:slot.function" of a device's <address type='pci'>, "-" without one.
std::string placeOf(const conf::XmlNode& dev) {
    auto pci = conf::pciAddressOf(dev);
    if (!pci || !*pci) {
        return "-";
    }
    char text[32];
    std::snprintf(text, sizeof text, "%x:%x.%x", (*pci)->bus, (*pci)->slot, (*pci)->function);
    return text;
}

/// Every device with its place, in document order: "disk=0:3.0 memballoon=0:2.0 ...".
std::string places(const conf::DomainDef& def) {
    std::string out;
    for (const auto& dev : def.devices) {
        std::string name = dev.name;
        if (dev.name == "controller") {
            name += "/" + dev.attrOr("type") + dev.attrOr("index", "0");
        }
        if (dev.name == "disk") {
            name += "/" + dev.childAttr("target", "dev");
        }
        out += (out.empty() ? "" : " ") + name + "=" + placeOf(dev);
    }
    return out;
}

TEST(QemuPciAddresses, PcFollowsLibvirtsMinimalGuest) {
    // libvirt's minimal.xml output: UHCI at PIIX3's 1.2, IDE at 1.1, balloon at slot 2 (no video).
    auto def = parse("pc", "<controller type='usb' index='0'/><controller type='ide' index='0'/>"
                           "<memballoon model='virtio'/>");
    ASSERT_TRUE(assignPciAddresses(*def));
    EXPECT_EQ(places(*def), "controller/usb0=0:1.2 controller/ide0=0:1.1 memballoon=0:2.0");
}

TEST(QemuPciAddresses, PcPrimaryVideoTakesSlotTwoAndTheRestFollowInLibvirtsOrder) {
    auto def = parse("pc", "<disk type='file'><source file='/a'/><target dev='vda' bus='virtio'/></disk>"
                           "<interface type='user'><model type='virtio'/></interface>"
                           "<video><model type='vga'/></video><memballoon model='virtio'/>"
                           "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>");
    ASSERT_TRUE(assignPciAddresses(*def));
    // Interfaces before disks, then balloon and rng: qemuDomainAssignDevicePCISlots' order.
    EXPECT_EQ(places(*def), "disk/vda=0:4.0 interface=0:3.0 video=0:2.0 memballoon=0:5.0 rng=0:6.0");
}

TEST(QemuPciAddresses, GivenAddressesAreKeptAndOthersGoAroundThem) {
    auto def = parse("pc", "<disk type='file'><source file='/a'/><target dev='vda' bus='virtio'/>"
                           "<address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/></disk>"
                           "<memballoon model='virtio'/>");
    ASSERT_TRUE(assignPciAddresses(*def));
    EXPECT_EQ(places(*def), "disk/vda=0:3.0 memballoon=0:2.0");
    ASSERT_TRUE(assignPciAddresses(*def));  // a second pass changes nothing
    EXPECT_EQ(places(*def), "disk/vda=0:3.0 memballoon=0:2.0");
}

TEST(QemuPciAddresses, ADeviceAddedLaterDoesNotMoveTheOthers) {
    auto def = parse("pc", "<interface type='user'><model type='virtio'/></interface>"
                           "<disk type='file'><source file='/a'/><target dev='vdb' bus='virtio'/></disk>"
                           "<memballoon model='virtio'/>");
    ASSERT_TRUE(assignPciAddresses(*def));
    const std::string before = places(*def);
    EXPECT_EQ(before, "interface=0:2.0 disk/vdb=0:3.0 memballoon=0:4.0");
    // Without kept addresses an interface added now would come first in libvirt's order and
    // push the disk and the balloon one slot on.
    auto added = parse("pc", "<interface type='user'><model type='e1000'/></interface>");
    def->devices.insert(def->devices.begin(), added->devices.front());
    ASSERT_TRUE(assignPciAddresses(*def));
    EXPECT_EQ(places(*def), "interface=0:5.0 " + before);
}

TEST(QemuPciAddresses, Q35FollowsLibvirtsDefaultDevices) {
    // libvirt's q35-default-devices-only output: root ports on the functions of slot 1 (no
    // video), xHCI and balloon each on one, and one root port spare for a hotplug.
    auto def = parse("q35", "<controller type='usb' index='0' model='qemu-xhci'/><controller type='sata' index='0'/>"
                            "<controller type='pci' index='0' model='pcie-root'/><memballoon model='virtio'/>");
    ASSERT_TRUE(assignPciAddresses(*def));
    EXPECT_EQ(places(*def), "controller/usb0=1:0.0 controller/sata0=0:1f.2 controller/pci0=- memballoon=2:0.0 "
                            "controller/pci1=0:1.0 controller/pci2=0:1.1 controller/pci3=0:1.2");
    const conf::XmlNode& port = def->devices[4];
    EXPECT_EQ(port.childAttr("model", "name"), "pcie-root-port");
    EXPECT_EQ(port.childAttr("target", "chassis"), "1");
    EXPECT_EQ(port.childAttr("target", "port"), "0x8");
    EXPECT_EQ(port.childAttr("address", "multifunction"), "on");
}

TEST(QemuPciAddresses, Q35FollowsLibvirtsVirtManagerGuest) {
    // q35-virt-manager-basic: qxl at slot 1, ich9 sound at 0x1b, root ports from slot 2; the
    // interface, USB, virtio-serial, disk and balloon on ports 1 to 5 in that order; port 6 spare.
    auto def = parse("q35", "<disk type='file'><source file='/a'/><target dev='vda' bus='virtio'/></disk>"
                            "<controller type='usb' model='nec-xhci'/><controller type='sata'/>"
                            "<controller type='virtio-serial' index='0'/>"
                            "<interface type='user'><model type='virtio'/></interface>"
                            "<sound model='ich9'/><video><model type='qxl'/></video><memballoon model='virtio'/>");
    ASSERT_TRUE(assignPciAddresses(*def));
    EXPECT_EQ(places(*def), "disk/vda=4:0.0 controller/usb0=2:0.0 controller/sata0=0:1f.2 "
                            "controller/virtio-serial0=3:0.0 interface=1:0.0 sound=0:1b.0 video=0:1.0 memballoon=5:0.0 "
                            "controller/pci1=0:2.0 controller/pci2=0:2.1 controller/pci3=0:2.2 controller/pci4=0:2.3 "
                            "controller/pci5=0:2.4 controller/pci6=0:2.5");
}

TEST(QemuPciAddresses, Q35UsesTheDefinitionsOwnRootPortsFirst) {
    auto def = parse("q35", "<controller type='pci' index='1' model='pcie-root-port'/>"
                            "<controller type='pci' index='2' model='pcie-root-port'/>"
                            "<disk type='file'><source file='/a'/><target dev='vda' bus='virtio'/></disk>"
                            "<interface type='user'><model type='e1000'/></interface>");
    ASSERT_TRUE(assignPciAddresses(*def));
    // Enough ports: none added. A conventional PCI NIC goes on the root bus.
    EXPECT_EQ(places(*def), "controller/pci1=0:1.0 controller/pci2=0:1.1 disk/vda=1:0.0 interface=0:2.0");
}

TEST(QemuPciAddresses, ARunningQ35GuestGetsNoNewRootPort) {
    auto def = parse("q35", "<controller type='pci' index='1' model='pcie-root-port'/>"
                            "<disk type='file'><source file='/a'/><target dev='vda' bus='virtio'/></disk>");
    ASSERT_TRUE(assignPciAddresses(*def));
    auto added = parse("q35", "<disk type='file'><source file='/b'/><target dev='vdb' bus='virtio'/></disk>");
    def->devices.push_back(added->devices.front());
    auto refused = assignPciAddresses(*def, false);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("no free pcie-root-port"), std::string::npos) << refused.error().message;
}

TEST(QemuPciAddresses, TwoDevicesOnOneAddressAreRefused) {
    auto def = parse("pc", "<disk type='file'><source file='/a'/><target dev='vda' bus='virtio'/>"
                           "<address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/></disk>"
                           "<memballoon model='virtio'>"
                           "<address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/></memballoon>");
    auto refused = assignPciAddresses(*def);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message,
              "Attempted double use of PCI Address 0000:00:05.0 (<memballoon> and <disk> with target 'vda')");
}

TEST(QemuPciAddresses, AnAddressOnABusNoControllerProvidesIsRefused) {
    for (const std::string machine : {"pc", "q35"}) {
        auto def = parse(machine, "<disk type='file'><source file='/a'/><target dev='vda' bus='virtio'/>"
                                  "<address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></disk>");
        auto refused = assignPciAddresses(*def);
        ASSERT_FALSE(refused) << machine;
        EXPECT_NE(refused.error().message.find("no PCI controller has index 3"), std::string::npos)
            << refused.error().message;
    }
}

TEST(QemuPciAddresses, TheMachinesOwnSlotsAreRefusedToOtherDevices) {
    auto def = parse("pc", "<memballoon model='virtio'>"
                           "<address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/></memballoon>");
    auto refused = assignPciAddresses(*def);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("the machine's own (PIIX3)"), std::string::npos) << refused.error().message;
}

TEST(QemuPciAddresses, TwoControllersOfOneTypeAndIndexAreRefused) {
    auto def = parse("q35", "<controller type='pci' index='1' model='pcie-root-port'/>"
                            "<controller type='pci' index='1' model='pcie-root-port'/>");
    auto refused = assignPciAddresses(*def);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message, "Multiple 'pci' controllers with index '1'");
}

TEST(QemuPciAddresses, ControllersTheCommandLineAddsBecomeReal) {
    // A SCSI disk's controller, a channel's virtio-serial, a tablet's USB and a display's VGA.
    auto def = parse("pc", "<disk type='file'><source file='/a'/><target dev='sda' bus='scsi'/></disk>"
                           "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
                           "<input type='tablet' bus='usb'/><graphics type='vnc'/>");
    ASSERT_TRUE(assignPciAddresses(*def));
    EXPECT_EQ(places(*def), "disk/sda=- channel=- input=- graphics=- controller/scsi0=0:3.0 "
                            "controller/virtio-serial0=0:4.0 controller/usb0=0:1.2 video=0:2.0");
}

TEST(QemuPciAddresses, MicrovmIsLeftAlone) {
    auto def = parse("microvm", "<memballoon model='virtio'/>");
    ASSERT_TRUE(assignPciAddresses(*def));
    EXPECT_EQ(places(*def), "memballoon=-");
}

}  // namespace
}  // namespace corral::drivers::qemu
