// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/test/test_node_devices.hpp"

namespace corral::drivers {

namespace {

conf::NodeDeviceDef fcHost(unsigned host, unsigned uniqueId, const std::string& parent, const std::string& wwnn,
                           const std::string& wwpn, const std::string& fabric, bool vportOps) {
    conf::NodeDeviceDef def;
    def.name = "scsi_host" + std::to_string(host);
    def.parent = parent;
    conf::NodeDeviceCap cap;
    cap.type = "scsi_host";
    cap.scsiHost.host = host;
    cap.scsiHost.uniqueId = uniqueId;
    cap.scsiHost.fcHost = true;
    cap.scsiHost.wwnn = wwnn;
    cap.scsiHost.wwpn = wwpn;
    cap.scsiHost.fabricWwn = fabric;
    cap.scsiHost.vportOps = vportOps;
    def.caps.push_back(std::move(cap));
    return def;
}

std::vector<conf::NodeDeviceDef> testDevices() {
    conf::NodeDeviceDef computer;
    computer.name = "computer";
    conf::NodeDeviceCap system;
    system.type = "system";
    system.system.hwVendor = "Libvirt";
    system.system.hwVersion = "Test driver";
    system.system.hwSerial = "123456";
    system.system.hwUuid = "11111111-2222-3333-4444-555555555555";
    system.system.fwVendor = "Libvirt";
    system.system.fwVersion = "Test Driver";
    system.system.fwReleaseDate = "01/22/2007";
    computer.caps.push_back(std::move(system));
    // scsi_host11 is the virtual HBA libvirt's test driver creates on scsi_host1 at start.
    return {computer,
            fcHost(1, 0, "computer", "2000000012341234", "1000000012341234", "2000000043214321", true),
            fcHost(11, 10, "scsi_host1", "2000000034563456", "1000000034563456", "2000000043214321", false),
            fcHost(2, 1, "computer", "2000000056785678", "1000000056785678", "2000000087658765", true)};
}

conf::InterfaceDef testInterface() {
    conf::InterfaceDef eth1;
    eth1.name = "eth1";
    eth1.mac = "aa:bb:cc:dd:ee:ff";
    eth1.active = true;
    eth1.startMode = "onboot";
    eth1.mtu = 1492;
    eth1.protocols.push_back({"ipv4", {{"192.168.0.5", 24}}, "192.168.0.1"});
    return eth1;
}

}  // namespace

std::unique_ptr<nodedev::NodeDeviceDriver> createTestNodeDeviceDriver() {
    nodedev::NodeDeviceSource source;
    source.devices = []() -> Result<std::vector<conf::NodeDeviceDef>> { return testDevices(); };
    source.interfaces = []() -> Result<std::vector<conf::InterfaceDef>> {
        return std::vector<conf::InterfaceDef>{testInterface()};
    };
    source.testWording = true;
    source.listFunction = "testConnectListAllNodeDevices";
    return std::make_unique<nodedev::NodeDeviceDriver>(std::move(source));
}

}  // namespace corral::drivers
