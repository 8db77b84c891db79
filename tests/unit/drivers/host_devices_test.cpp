// SPDX-License-Identifier: LGPL-2.1-or-later
// The host node-device and interface scan over a fixture sysfs tree: libvirt's names, parents
// found through the device tree, partitions and loop devices left out, bridge ports shown
// inside their bridge, and the XML libvirt writes for each capability.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "drivers/nodedev/host_devices.hpp"
#include "drivers/nodedev/node_device_driver.hpp"

namespace corral::drivers::nodedev {
namespace {

class SysfsFixture : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/corral-sysfs-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        root_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(root_); }

    void dir(const std::string& rel) { std::filesystem::create_directories(root_ + "/" + rel); }
    void file(const std::string& rel, const std::string& text) {
        dir(rel.substr(0, rel.rfind('/')));
        std::ofstream(root_ + "/" + rel) << text << "\n";
    }
    void link(const std::string& rel, const std::string& target) {
        dir(rel.substr(0, rel.rfind('/')));
        ASSERT_EQ(::symlink(target.c_str(), (root_ + "/" + rel).c_str()), 0) << rel;
    }

    /// A small host: a virtio NIC and disk on PCI, a USB hub with one interface, a SCSI host,
    /// a loop device, a partition, and a bridge with one port.
    void buildHost() {
        const std::string nic = "devices/pci0000:00/0000:00:03.0";
        file(nic + "/class", "0x020000");
        file(nic + "/vendor", "0x1af4");
        file(nic + "/device", "0x1041");
        file(nic + "/numa_node", "-1");
        dir("bus/pci/drivers/virtio-pci");
        link(nic + "/driver", "../../../bus/pci/drivers/virtio-pci");
        link("bus/pci/devices/0000:00:03.0", "../../../" + nic);
        const std::string eth0 = nic + "/virtio2/net/eth0";
        file(eth0 + "/address", "02:fc:00:00:00:01");
        file(eth0 + "/operstate", "up");
        file(eth0 + "/speed", "-1");
        file(eth0 + "/mtu", "1400");
        file(eth0 + "/uevent", "INTERFACE=eth0\nIFINDEX=2");
        link("class/net/eth0", "../../" + eth0);

        const std::string disk = "devices/pci0000:00/0000:00:02.0";
        file(disk + "/class", "0x010000");
        file(disk + "/vendor", "0x1af4");
        file(disk + "/device", "0x1042");
        link("bus/pci/devices/0000:00:02.0", "../../../" + disk);
        const std::string vda = disk + "/virtio1/block/vda";
        file(disk + "/virtio1/vendor", "0x1af4");
        link(vda + "/device", "../../../virtio1");
        file(vda + "/size", "2048");
        file(vda + "/removable", "0");
        file(vda + "/queue/logical_block_size", "512");
        file(vda + "/uevent", "MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk");
        link("class/block/vda", "../../" + vda);
        file(vda + "/vda1/partition", "1");
        link("class/block/vda1", "../../" + vda + "/vda1");
        file("devices/virtual/block/loop0/size", "0");
        link("class/block/loop0", "../../devices/virtual/block/loop0");

        const std::string usb = "devices/pci0000:00/0000:00:01.2/usb1";
        file(usb + "/busnum", "1");
        file(usb + "/devnum", "1");
        file(usb + "/idVendor", "1d6b");
        file(usb + "/idProduct", "0001");
        file(usb + "/manufacturer", "Linux 6.1.0 uhci_hcd");
        file(usb + "/product", "UHCI Host Controller");
        file(usb + "/uevent", "DEVNAME=bus/usb/001/001\nDEVTYPE=usb_device");
        link("bus/usb/devices/usb1", "../../../" + usb);
        file(usb + "/1-0:1.0/bInterfaceNumber", "00");
        file(usb + "/1-0:1.0/bInterfaceClass", "09");
        file(usb + "/1-0:1.0/bInterfaceSubClass", "00");
        file(usb + "/1-0:1.0/bInterfaceProtocol", "00");
        link("bus/usb/devices/1-0:1.0", "../../../" + usb + "/1-0:1.0");

        const std::string scsi = "devices/pci0000:00/0000:00:04.0/host0";
        dir(scsi + "/scsi_host/host0");
        link(scsi + "/scsi_host/host0/device", "../../../host0");
        file(scsi + "/scsi_host/host0/unique_id", "1");
        link("class/scsi_host/host0", "../../" + scsi + "/scsi_host/host0");

        const std::string br = "devices/virtual/net/br0";
        file(br + "/address", "92:8c:82:5a:75:06");
        file(br + "/operstate", "down");
        file(br + "/mtu", "1500");
        file(br + "/uevent", "DEVTYPE=bridge\nINTERFACE=br0");
        file(br + "/bridge/stp_state", "0");
        file(br + "/bridge/forward_delay", "1500");
        const std::string port = "devices/virtual/net/veth0";
        file(port + "/address", "92:8c:82:5a:75:06");
        file(port + "/operstate", "down");
        file(port + "/mtu", "1500");
        link(port + "/master", "../br0");
        link(br + "/brif/veth0", "../../veth0/brport");
        dir(port + "/brport");
        link("class/net/br0", "../../" + br);
        link("class/net/veth0", "../../" + port);
    }

    std::string root_;
};

const conf::NodeDeviceDef* find(const std::vector<conf::NodeDeviceDef>& all, const std::string& name) {
    for (const auto& d : all) {
        if (d.name == name) {
            return &d;
        }
    }
    return nullptr;
}

TEST_F(SysfsFixture, NamesAndParentsFollowLibvirtAndTheDeviceTree) {
    buildHost();
    auto all = scanHostNodeDevices(host::SysfsTree(root_), false);
    ASSERT_TRUE(all) << all.error().message;
    std::vector<std::string> names;
    for (const auto& d : *all) {
        names.push_back(d.name);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"block_vda", "computer", "net_br0_92_8c_82_5a_75_06",
                                               "net_eth0_02_fc_00_00_00_01", "net_veth0_92_8c_82_5a_75_06",
                                               "pci_0000_00_02_0", "pci_0000_00_03_0", "scsi_host0", "usb_1_0_1_0",
                                               "usb_usb1"}));
    EXPECT_EQ(find(*all, "net_eth0_02_fc_00_00_00_01")->parent, "pci_0000_00_03_0");
    EXPECT_EQ(find(*all, "block_vda")->parent, "pci_0000_00_02_0");
    EXPECT_EQ(find(*all, "usb_1_0_1_0")->parent, "usb_usb1");
    EXPECT_EQ(find(*all, "usb_usb1")->parent, "computer");  // its PCI controller is not in the tree
    EXPECT_EQ(find(*all, "net_br0_92_8c_82_5a_75_06")->parent, "computer");
    EXPECT_EQ(find(*all, "computer")->parent, "");
}

TEST_F(SysfsFixture, PciNetAndStorageXmlIsLibvirts) {
    buildHost();
    auto all = scanHostNodeDevices(host::SysfsTree(root_), false);
    ASSERT_TRUE(all);
    EXPECT_EQ(conf::formatNodeDeviceXml(*find(*all, "pci_0000_00_03_0")),
              "<device>\n"
              "  <name>pci_0000_00_03_0</name>\n"
              "  <path>/sys/devices/pci0000:00/0000:00:03.0</path>\n"
              "  <parent>computer</parent>\n"
              "  <driver>\n"
              "    <name>virtio-pci</name>\n"
              "  </driver>\n"
              "  <capability type='pci'>\n"
              "    <class>0x020000</class>\n"
              "    <domain>0</domain>\n"
              "    <bus>0</bus>\n"
              "    <slot>3</slot>\n"
              "    <function>0</function>\n"
              "    <product id='0x1041'>Virtio 1.0 network device</product>\n"
              "    <vendor id='0x1af4'>Red Hat, Inc.</vendor>\n"
              "  </capability>\n"
              "</device>\n");
    EXPECT_EQ(conf::formatNodeDeviceXml(*find(*all, "net_eth0_02_fc_00_00_00_01")),
              "<device>\n"
              "  <name>net_eth0_02_fc_00_00_00_01</name>\n"
              "  <path>/sys/devices/pci0000:00/0000:00:03.0/virtio2/net/eth0</path>\n"
              "  <parent>pci_0000_00_03_0</parent>\n"
              "  <capability type='net'>\n"
              "    <interface>eth0</interface>\n"
              "    <address>02:fc:00:00:00:01</address>\n"
              "    <link speed='4294967295' state='up'/>\n"
              "    <capability type='80203'/>\n"
              "  </capability>\n"
              "</device>\n");
    EXPECT_EQ(conf::formatNodeDeviceXml(*find(*all, "block_vda")),
              "<device>\n"
              "  <name>block_vda</name>\n"
              "  <path>/sys/devices/pci0000:00/0000:00:02.0/virtio1/block/vda</path>\n"
              "  <devnode type='dev'>/dev/vda</devnode>\n"
              "  <parent>pci_0000_00_02_0</parent>\n"
              "  <capability type='storage'>\n"
              "    <block>/dev/vda</block>\n"
              "    <drive_type>disk</drive_type>\n"
              "    <vendor>0x1af4</vendor>\n"
              "    <size>1048576</size>\n"
              "    <logical_block_size>512</logical_block_size>\n"
              "    <num_blocks>2048</num_blocks>\n"
              "  </capability>\n"
              "</device>\n");
}

TEST_F(SysfsFixture, UsbAndScsiHostXml) {
    buildHost();
    auto all = scanHostNodeDevices(host::SysfsTree(root_), false);
    ASSERT_TRUE(all);
    std::string usb = conf::formatNodeDeviceXml(*find(*all, "usb_usb1"));
    EXPECT_NE(usb.find("  <devnode type='dev'>/dev/bus/usb/001/001</devnode>\n"), std::string::npos) << usb;
    EXPECT_NE(usb.find("  <capability type='usb_device'>\n    <bus>1</bus>\n    <device>1</device>\n"
                       "    <product id='0x0001'>UHCI Host Controller</product>\n"
                       "    <vendor id='0x1d6b'>Linux 6.1.0 uhci_hcd</vendor>\n"),
              std::string::npos)
        << usb;
    std::string intf = conf::formatNodeDeviceXml(*find(*all, "usb_1_0_1_0"));
    EXPECT_NE(intf.find("    <number>0</number>\n    <class>9</class>\n    <subclass>0</subclass>\n"
                        "    <protocol>0</protocol>\n"),
              std::string::npos)
        << intf;
    std::string scsi = conf::formatNodeDeviceXml(*find(*all, "scsi_host0"));
    EXPECT_NE(scsi.find("  <path>/sys/devices/pci0000:00/0000:00:04.0/host0</path>\n"), std::string::npos) << scsi;
    EXPECT_NE(scsi.find("    <host>0</host>\n    <unique_id>1</unique_id>\n"), std::string::npos) << scsi;
}

TEST_F(SysfsFixture, CapabilityFlagsAndLookupsSelectAsLibvirt) {
    buildHost();
    auto driver = createHostNodeDeviceDriver(root_);
    auto pci = driver->listNodeDevices(conf::nodeDeviceCapFlag("pci"));
    ASSERT_TRUE(pci);
    EXPECT_EQ(pci->size(), 2u);
    auto inactive = driver->listNodeDevices(conf::kNodeDeviceListInactive);
    ASSERT_TRUE(inactive);
    EXPECT_TRUE(inactive->empty());
    auto bad = driver->listNodeDevices(1u << 25);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::InvalidArg);
    EXPECT_EQ(bad.error().message, "unsupported flags (0x2000000) in function nodeConnectListAllNodeDevices");
    auto missing = driver->lookupNodeDevice("pci_0000_00_09_0");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, kNoNodeDevice);
    EXPECT_EQ(missing.error().message, "no node device with matching name 'pci_0000_00_09_0'");
}

TEST_F(SysfsFixture, InterfacesShowBridgesWithTheirPortsAndListNoPort) {
    buildHost();
    auto driver = createHostNodeDeviceDriver(root_);
    auto all = driver->listInterfaces(0);
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].name, "br0");
    EXPECT_EQ((*all)[1].name, "eth0");
    auto active = driver->listInterfaces(interface_list_flags::kActive);
    ASSERT_TRUE(active);
    ASSERT_EQ(active->size(), 1u);
    EXPECT_EQ((*active)[0].name, "eth0");
    EXPECT_EQ(conf::formatInterfaceXml((*all)[0]),
              "<interface type='bridge' name='br0'>\n"
              "  <mtu size='1500'/>\n"
              "  <bridge stp='off' delay='1500'>\n"
              "    <interface type='ethernet' name='veth0'>\n"
              "      <link state='down'/>\n"
              "      <mac address='92:8c:82:5a:75:06'/>\n"
              "    </interface>\n"
              "  </bridge>\n"
              "</interface>\n");
    EXPECT_EQ(conf::formatInterfaceXml((*all)[1]),
              "<interface type='ethernet' name='eth0'>\n"
              "  <mtu size='1400'/>\n"
              "  <link speed='4294967295' state='up'/>\n"
              "  <mac address='02:fc:00:00:00:01'/>\n"
              "</interface>\n");
    auto port = driver->lookupInterfaceByName("veth0");
    ASSERT_TRUE(port);
    auto byMac = driver->lookupInterfaceByMac("02:fc:00:00:00:01");
    ASSERT_TRUE(byMac);
    EXPECT_EQ(byMac->name, "eth0");
    auto none = driver->lookupInterfaceByMac("00:11:22:33:44:55");
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().message, "couldn't find interface with MAC address '00:11:22:33:44:55'");
}

TEST_F(SysfsFixture, AnEmptyTreeHasOnlyTheComputer) {
    auto all = scanHostNodeDevices(host::SysfsTree(root_), false);
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ(conf::formatNodeDeviceXml(all->front()),
              "<device>\n"
              "  <name>computer</name>\n"
              "  <capability type='system'>\n"
              "    <hardware>\n"
              "      <uuid>00000000-0000-0000-0000-000000000000</uuid>\n"
              "    </hardware>\n"
              "    <firmware>\n"
              "    </firmware>\n"
              "  </capability>\n"
              "</device>\n");
}

}  // namespace
}  // namespace corral::drivers::nodedev
