// SPDX-License-Identifier: LGPL-2.1-or-later
// Names follow libvirt's udev backend: "<subsystem>_<sysname>" with every character but letters
// and digits turned into '_', the MAC appended for network interfaces; the computer is
// "computer". Paths are shown under /sys whatever tree was read.
#include "drivers/nodedev/host_devices.hpp"

#include <algorithm>
#include <map>

#include "host/ethtool_features.hpp"
#include "host/pci_names.hpp"
#include "util/strings.hpp"

namespace corral::drivers::nodedev {

namespace {

unsigned hexValue(const std::optional<std::string>& text) {
    if (!text) {
        return 0;
    }
    std::string_view t = *text;
    if (startsWith(t, "0x")) {
        t.remove_prefix(2);
    }
    unsigned result = 0;
    for (char c : t) {
        int digit = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                                     : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (digit < 0) {
            break;
        }
        result = result * 16 + static_cast<unsigned>(digit);
    }
    return result;
}

unsigned decValue(const std::optional<std::string>& text) {
    auto v = text ? parseUnsigned(*text) : std::nullopt;
    return v ? static_cast<unsigned>(*v) : 0;
}

std::string value(const std::optional<std::string>& text) { return text.value_or(""); }

/// "0000:00:03.0" -> its parts.
conf::PciAddress parsePciAddress(const std::string& text) {
    conf::PciAddress a;
    auto colon = splitString(text, ':');
    if (colon.size() == 3) {
        a.domain = hexValue(colon[0]);
        a.bus = hexValue(colon[1]);
        auto dot = splitString(colon[2], '.');
        a.slot = hexValue(dot[0]);
        a.function = dot.size() > 1 ? hexValue(dot[1]) : 0;
    }
    return a;
}

/// A device before its parent is known: where it lives in the tree.
struct Found {
    conf::NodeDeviceDef def;
    std::string treePath;  ///< relative to the sysfs root: devices/...
};

Found makeFound(const host::SysfsTree& sys, const std::string& rel, std::string name) {
    Found f;
    f.treePath = sys.resolve(rel);
    f.def.name = std::move(name);
    f.def.path = "/sys/" + f.treePath;
    if (auto devname = sys.ueventValue(rel, "DEVNAME")) {
        f.def.devnode = "/dev/" + *devname;
    }
    f.def.driver = value(sys.linkName(rel + "/driver"));
    return f;
}

conf::NodeDeviceDef computer(const host::SysfsTree& sys) {
    conf::NodeDeviceDef def;
    def.name = "computer";
    conf::NodeDeviceCap cap;
    cap.type = "system";
    const std::string dmi = "class/dmi/id/";
    auto& s = cap.system;
    s.product = value(sys.attr(dmi + "product_name"));
    s.hwVendor = value(sys.attr(dmi + "sys_vendor"));
    s.hwVersion = value(sys.attr(dmi + "product_version"));
    s.hwSerial = value(sys.attr(dmi + "product_serial"));
    s.hwUuid = value(sys.attr(dmi + "product_uuid"));
    s.fwVendor = value(sys.attr(dmi + "bios_vendor"));
    s.fwVersion = value(sys.attr(dmi + "bios_version"));
    s.fwReleaseDate = value(sys.attr(dmi + "bios_date"));
    def.caps.push_back(std::move(cap));
    return def;
}

void addPci(const host::SysfsTree& sys, std::vector<Found>& out) {
    for (const auto& n : sys.list("bus/pci/devices")) {
        const std::string rel = "bus/pci/devices/" + n;
        Found f = makeFound(sys, rel, "pci_" + conf::nodeDeviceNamePart(n));
        conf::NodeDeviceCap cap;
        cap.type = "pci";
        auto& p = cap.pci;
        p.klass = hexValue(sys.attr(rel + "/class"));
        p.address = parsePciAddress(n);
        p.vendorId = hexValue(sys.attr(rel + "/vendor"));
        p.productId = hexValue(sys.attr(rel + "/device"));
        auto names = host::pciNames(p.vendorId, p.productId);
        p.vendorName = names.vendor;
        p.productName = names.product;
        if (auto group = sys.linkName(rel + "/iommu_group")) {
            p.iommuGroup = decValue(group);
            for (const auto& member : sys.list("kernel/iommu_groups/" + *group + "/devices")) {
                p.iommuGroupMembers.push_back(parsePciAddress(member));
            }
        }
        if (auto numa = sys.attr(rel + "/numa_node")) {
            if (auto node = parseSigned(*numa); node && *node >= 0) {
                p.numaNode = static_cast<int>(*node);
            }
        }
        f.def.caps.push_back(std::move(cap));
        out.push_back(std::move(f));
    }
}

void addUsb(const host::SysfsTree& sys, std::vector<Found>& out) {
    for (const auto& n : sys.list("bus/usb/devices")) {
        const std::string rel = "bus/usb/devices/" + n;
        Found f = makeFound(sys, rel, "usb_" + conf::nodeDeviceNamePart(n));
        conf::NodeDeviceCap cap;
        if (n.find(':') != std::string::npos) {
            cap.type = "usb";
            cap.usbInterface.number = hexValue(sys.attr(rel + "/bInterfaceNumber"));
            cap.usbInterface.klass = hexValue(sys.attr(rel + "/bInterfaceClass"));
            cap.usbInterface.subclass = hexValue(sys.attr(rel + "/bInterfaceSubClass"));
            cap.usbInterface.protocol = hexValue(sys.attr(rel + "/bInterfaceProtocol"));
        } else {
            cap.type = "usb_device";
            auto& u = cap.usbDevice;
            u.bus = decValue(sys.attr(rel + "/busnum"));
            u.device = decValue(sys.attr(rel + "/devnum"));
            u.vendorId = hexValue(sys.attr(rel + "/idVendor"));
            u.productId = hexValue(sys.attr(rel + "/idProduct"));
            u.vendorName = value(sys.attr(rel + "/manufacturer"));
            u.productName = value(sys.attr(rel + "/product"));
        }
        f.def.caps.push_back(std::move(cap));
        out.push_back(std::move(f));
    }
}

void addNet(const host::SysfsTree& sys, bool readOffloads, std::vector<Found>& out) {
    for (const auto& n : sys.list("class/net")) {
        const std::string rel = "class/net/" + n;
        std::string mac = value(sys.attr(rel + "/address"));
        Found f = makeFound(sys, rel, "net_" + conf::nodeDeviceNamePart(n) + "_" + conf::nodeDeviceNamePart(mac));
        f.def.driver.clear();  // the class device has none; its parent (a PCI device) shows it
        conf::NodeDeviceCap cap;
        cap.type = "net";
        auto& c = cap.net;
        c.interface = n;
        c.address = mac;
        c.linkState = value(sys.attr(rel + "/operstate"));
        if (c.linkState == "up") {
            // Only meaningful while the link is up; virtual devices answer -1, shown unsigned.
            if (auto speed = sys.attr(rel + "/speed"); speed && !speed->empty()) {
                if (auto s = parseSigned(*speed)) {
                    c.speed = static_cast<std::uint32_t>(*s);
                }
            }
        }
        if (readOffloads) {
            c.features = host::interfaceOffloads(n);
        }
        if (sys.ueventValue(rel, "DEVTYPE") == std::optional<std::string>("wlan") || sys.exists(rel + "/wireless")) {
            c.subtype = "80211";
        }
        f.def.caps.push_back(std::move(cap));
        out.push_back(std::move(f));
    }
}

void addScsiHosts(const host::SysfsTree& sys, std::vector<Found>& out) {
    for (const auto& n : sys.list("class/scsi_host")) {
        if (!startsWith(n, "host")) {
            continue;
        }
        // The node is the SCSI bus device (.../host0), the class device's parent.
        const std::string rel = "class/scsi_host/" + n + "/device";
        Found f = makeFound(sys, rel, "scsi_" + conf::nodeDeviceNamePart(n));
        f.def.driver.clear();
        conf::NodeDeviceCap cap;
        cap.type = "scsi_host";
        auto& s = cap.scsiHost;
        s.host = decValue(std::string(n.substr(4)));
        if (auto id = sys.attr("class/scsi_host/" + n + "/unique_id")) {
            s.uniqueId = decValue(id);
        }
        const std::string fc = "class/fc_host/" + n;
        if (sys.exists(fc)) {
            auto strip = [](std::string v) { return startsWith(v, "0x") ? v.substr(2) : v; };
            s.fcHost = true;
            s.wwnn = strip(value(sys.attr(fc + "/node_name")));
            s.wwpn = strip(value(sys.attr(fc + "/port_name")));
            s.fabricWwn = strip(value(sys.attr(fc + "/fabric_name")));
            if (sys.exists("class/scsi_host/" + n + "/vport_create")) {
                s.vportOps = true;
                s.maxVports = decValue(sys.attr("class/scsi_host/" + n + "/max_npiv_vports"));
                s.vports = decValue(sys.attr("class/scsi_host/" + n + "/npiv_vports_inuse"));
            }
        }
        f.def.caps.push_back(std::move(cap));
        out.push_back(std::move(f));
    }
}

/// The kind of whole disk a block device name says it is; "" for what libvirt does not list
/// (loop, ram, zram, device-mapper, md and nbd devices).
std::string driveType(const std::string& name) {
    for (const char* prefix : {"vd", "xvd", "sd", "hd", "nvme", "mmcblk", "rbd"}) {
        if (startsWith(name, prefix)) {
            return "disk";
        }
    }
    if (startsWith(name, "sr")) {
        return "cdrom";
    }
    return "";
}

void addStorage(const host::SysfsTree& sys, std::vector<Found>& out) {
    for (const auto& n : sys.list("class/block")) {
        const std::string rel = "class/block/" + n;
        std::string type = driveType(n);
        if (type.empty() || sys.exists(rel + "/partition")) {
            continue;
        }
        Found f = makeFound(sys, rel, "block_" + conf::nodeDeviceNamePart(n));
        f.def.driver.clear();
        conf::NodeDeviceCap cap;
        cap.type = "storage";
        auto& s = cap.storage;
        s.block = f.def.devnode.empty() ? "/dev/" + n : f.def.devnode;
        s.driveType = type;
        s.model = value(sys.attr(rel + "/device/model"));
        s.vendor = value(sys.attr(rel + "/device/vendor"));
        std::uint64_t sectors = 0;
        if (auto v = sys.attr(rel + "/size")) {
            sectors = parseUnsigned(*v).value_or(0);
        }
        s.size = sectors * 512;  // the kernel counts 512-byte sectors whatever the block size
        s.removable = sys.attr(rel + "/removable") == std::optional<std::string>("1");
        s.mediaAvailable = s.removable && s.size > 0;
        s.logicalBlockSize = decValue(sys.attr(rel + "/queue/logical_block_size"));
        s.numBlocks = s.logicalBlockSize != 0 ? s.size / s.logicalBlockSize : 0;
        f.def.caps.push_back(std::move(cap));
        out.push_back(std::move(f));
    }
}

}  // namespace

Result<std::vector<conf::NodeDeviceDef>> scanHostNodeDevices(const host::SysfsTree& sys, bool readOffloads) {
    std::vector<Found> found;
    addPci(sys, found);
    addUsb(sys, found);
    addNet(sys, readOffloads, found);
    addScsiHosts(sys, found);
    addStorage(sys, found);

    std::map<std::string, std::string> nameByPath;
    for (const auto& f : found) {
        if (!f.treePath.empty()) {
            nameByPath.emplace(f.treePath, f.def.name);
        }
    }
    std::vector<conf::NodeDeviceDef> out;
    out.push_back(computer(sys));
    for (auto& f : found) {
        f.def.parent = "computer";
        std::string up = f.treePath;
        for (auto slash = up.rfind('/'); slash != std::string::npos; slash = up.rfind('/')) {
            up.resize(slash);
            if (auto it = nameByPath.find(up); it != nameByPath.end()) {
                f.def.parent = it->second;
                break;
            }
        }
        out.push_back(std::move(f.def));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
}

namespace {

conf::InterfaceDef readInterface(const host::SysfsTree& sys, const std::string& name) {
    const std::string rel = "class/net/" + name;
    conf::InterfaceDef def;
    def.name = name;
    def.mac = value(sys.attr(rel + "/address"));
    def.mtu = decValue(sys.attr(rel + "/mtu"));
    def.linkState = value(sys.attr(rel + "/operstate"));
    def.active = def.linkState == "up";
    if (def.active) {
        if (auto speed = sys.attr(rel + "/speed"); speed && !speed->empty()) {
            if (auto s = parseSigned(*speed)) {
                def.linkSpeed = static_cast<std::uint32_t>(*s);
            }
        }
    }
    if (sys.ueventValue(rel, "DEVTYPE") == std::optional<std::string>("bridge")) {
        def.type = "bridge";
        def.stp = sys.attr(rel + "/bridge/stp_state").value_or("0") != "0";
        def.delay = value(sys.attr(rel + "/bridge/forward_delay"));
        for (const auto& port : sys.list(rel + "/brif")) {
            def.ports.push_back(readInterface(sys, port));
        }
    }
    return def;
}

}  // namespace

Result<std::vector<conf::InterfaceDef>> scanHostInterfaces(const host::SysfsTree& sys) {
    std::vector<conf::InterfaceDef> out;
    for (const auto& n : sys.list("class/net")) {
        if (sys.exists("class/net/" + n + "/master")) {
            continue;  // a bridge port: shown inside its bridge
        }
        out.push_back(readInterface(sys, n));
    }
    return out;
}

}  // namespace corral::drivers::nodedev
