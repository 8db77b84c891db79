// SPDX-License-Identifier: LGPL-2.1-or-later
// The node-device XML layout: element order, indentation and number formats as libvirt 9.0
// writes them, so that scripts comparing nodedev-dumpxml output see the same text.
#include "conf/node_device_def.hpp"

#include <cctype>
#include <cstdio>

#include "conf/xml_node.hpp"

namespace corral::conf {

namespace {

// virNodeDevCapType's order: bit n of virConnectListAllNodeDevices' flags is the n-th name.
constexpr std::string_view kCapNames[] = {"system", "pci", "usb_device", "usb", "net", "scsi_host", "scsi_target",
                                          "scsi", "storage", "fc_host", "vports", "scsi_generic", "drm", "mdev_types",
                                          "mdev", "ccw", "css", "vdpa", "ap_card", "ap_queue", "ap_matrix", "vpd"};

std::string hex(unsigned value, int width) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%0*x", width, value);
    return buf;
}

/// `<tag>text</tag>` at `indent` spaces, or nothing when `text` is empty.
void element(std::string& out, int indent, std::string_view tag, const std::string& text) {
    if (text.empty()) {
        return;
    }
    out.append(static_cast<std::size_t>(indent), ' ');
    out += "<" + std::string(tag) + ">" + xmlEscape(text) + "</" + std::string(tag) + ">\n";
}

/// `<tag id='0x1234'>name</tag>`, self-closed when the name is unknown.
void idElement(std::string& out, std::string_view tag, unsigned id, const std::string& name) {
    out += "    <" + std::string(tag) + " id='" + hex(id, 4) + "'";
    out += name.empty() ? "/>\n" : ">" + xmlEscape(name) + "</" + std::string(tag) + ">\n";
}

std::string pciAddressElement(const PciAddress& a) {
    return "<address domain='" + hex(a.domain, 4) + "' bus='" + hex(a.bus, 2) + "' slot='" + hex(a.slot, 2) +
           "' function='" + hex(a.function, 1) + "'/>";
}

void formatSystem(std::string& out, const SystemCap& c) {
    element(out, 4, "product", c.product);
    out += "    <hardware>\n";
    element(out, 6, "vendor", c.hwVendor);
    element(out, 6, "version", c.hwVersion);
    element(out, 6, "serial", c.hwSerial);
    element(out, 6, "uuid", c.hwUuid.empty() ? "00000000-0000-0000-0000-000000000000" : c.hwUuid);
    out += "    </hardware>\n    <firmware>\n";
    element(out, 6, "vendor", c.fwVendor);
    element(out, 6, "version", c.fwVersion);
    element(out, 6, "release_date", c.fwReleaseDate);
    out += "    </firmware>\n";
}

void formatPci(std::string& out, const PciCap& c) {
    out += "    <class>" + hex(c.klass, 6) + "</class>\n";
    out += "    <domain>" + std::to_string(c.address.domain) + "</domain>\n";
    out += "    <bus>" + std::to_string(c.address.bus) + "</bus>\n";
    out += "    <slot>" + std::to_string(c.address.slot) + "</slot>\n";
    out += "    <function>" + std::to_string(c.address.function) + "</function>\n";
    idElement(out, "product", c.productId, c.productName);
    idElement(out, "vendor", c.vendorId, c.vendorName);
    if (c.iommuGroup) {
        out += "    <iommuGroup number='" + std::to_string(*c.iommuGroup) + "'>\n";
        for (const auto& a : c.iommuGroupMembers) {
            out += "      " + pciAddressElement(a) + "\n";
        }
        out += "    </iommuGroup>\n";
    }
    if (c.numaNode) {
        out += "    <numa node='" + std::to_string(*c.numaNode) + "'/>\n";
    }
}

void formatUsbDevice(std::string& out, const UsbDeviceCap& c) {
    out += "    <bus>" + std::to_string(c.bus) + "</bus>\n";
    out += "    <device>" + std::to_string(c.device) + "</device>\n";
    idElement(out, "product", c.productId, c.productName);
    idElement(out, "vendor", c.vendorId, c.vendorName);
}

void formatUsbInterface(std::string& out, const UsbInterfaceCap& c) {
    out += "    <number>" + std::to_string(c.number) + "</number>\n";
    out += "    <class>" + std::to_string(c.klass) + "</class>\n";
    out += "    <subclass>" + std::to_string(c.subclass) + "</subclass>\n";
    out += "    <protocol>" + std::to_string(c.protocol) + "</protocol>\n";
}

void formatNet(std::string& out, const NetCap& c) {
    element(out, 4, "interface", c.interface);
    element(out, 4, "address", c.address);
    out += "    <link";
    if (c.speed) {
        out += " speed='" + std::to_string(*c.speed) + "'";
    }
    out += " state='" + (c.linkState.empty() ? std::string("unknown") : c.linkState) + "'/>\n";
    for (const auto& f : c.features) {
        out += "    <feature name='" + f + "'/>\n";
    }
    out += "    <capability type='" + c.subtype + "'/>\n";
}

void formatScsiHost(std::string& out, const ScsiHostCap& c) {
    out += "    <host>" + std::to_string(c.host) + "</host>\n";
    if (c.uniqueId) {
        out += "    <unique_id>" + std::to_string(*c.uniqueId) + "</unique_id>\n";
    }
    if (c.fcHost) {
        out += "    <capability type='fc_host'>\n";
        element(out, 6, "wwnn", c.wwnn);
        element(out, 6, "wwpn", c.wwpn);
        element(out, 6, "fabric_wwn", c.fabricWwn);
        out += "    </capability>\n";
    }
    if (c.vportOps) {
        out += "    <capability type='vport_ops'>\n";
        out += "      <max_vports>" + std::to_string(c.maxVports) + "</max_vports>\n";
        out += "      <vports>" + std::to_string(c.vports) + "</vports>\n";
        out += "    </capability>\n";
    }
}

void formatStorage(std::string& out, const StorageCap& c) {
    element(out, 4, "block", c.block);
    element(out, 4, "drive_type", c.driveType);
    element(out, 4, "model", c.model);
    element(out, 4, "vendor", c.vendor);
    element(out, 4, "serial", c.serial);
    if (c.removable) {
        out += "    <capability type='removable'>\n";
        out += std::string("      <media_available>") + (c.mediaAvailable ? "1" : "0") + "</media_available>\n";
        out += "      <media_size>" + std::to_string(c.size) + "</media_size>\n";
        out += "    </capability>\n";
    } else {
        out += "    <size>" + std::to_string(c.size) + "</size>\n";
    }
    if (c.logicalBlockSize != 0) {
        out += "    <logical_block_size>" + std::to_string(c.logicalBlockSize) + "</logical_block_size>\n";
        out += "    <num_blocks>" + std::to_string(c.numBlocks) + "</num_blocks>\n";
    }
}

}  // namespace

std::string formatNodeDeviceXml(const NodeDeviceDef& def) {
    std::string out = "<device>\n";
    element(out, 2, "name", def.name);
    element(out, 2, "path", def.path);
    if (!def.devnode.empty()) {
        out += "  <devnode type='dev'>" + xmlEscape(def.devnode) + "</devnode>\n";
    }
    element(out, 2, "parent", def.parent);
    if (!def.driver.empty()) {
        out += "  <driver>\n";
        element(out, 4, "name", def.driver);
        out += "  </driver>\n";
    }
    for (const auto& cap : def.caps) {
        out += "  <capability type='" + cap.type + "'>\n";
        if (cap.type == "system") {
            formatSystem(out, cap.system);
        } else if (cap.type == "pci") {
            formatPci(out, cap.pci);
        } else if (cap.type == "usb_device") {
            formatUsbDevice(out, cap.usbDevice);
        } else if (cap.type == "usb") {
            formatUsbInterface(out, cap.usbInterface);
        } else if (cap.type == "net") {
            formatNet(out, cap.net);
        } else if (cap.type == "scsi_host") {
            formatScsiHost(out, cap.scsiHost);
        } else if (cap.type == "storage") {
            formatStorage(out, cap.storage);
        }
        out += "  </capability>\n";
    }
    out += "</device>\n";
    return out;
}

std::vector<std::string> nodeDeviceCapNames(const NodeDeviceDef& def) {
    std::vector<std::string> names;
    for (const auto& cap : def.caps) {
        names.push_back(cap.type);
    }
    return names;
}

unsigned nodeDeviceCapFlag(std::string_view cap) {
    for (std::size_t i = 0; i < std::size(kCapNames); ++i) {
        if (kCapNames[i] == cap) {
            return 1u << i;
        }
    }
    return 0;
}

bool nodeDeviceHasCap(const NodeDeviceDef& def, std::string_view cap) {
    for (const auto& c : def.caps) {
        if (c.type == cap || (c.type == "scsi_host" && ((cap == "fc_host" && c.scsiHost.fcHost) ||
                                                         (cap == "vports" && c.scsiHost.vportOps)))) {
            return true;
        }
    }
    return false;
}

bool nodeDeviceMatchesFlags(const NodeDeviceDef& def, unsigned flags) {
    if ((flags & (kNodeDeviceListActive | kNodeDeviceListInactive)) == kNodeDeviceListInactive) {
        return false;  // nothing read from the host is a defined-but-inactive device
    }
    if ((flags & kNodeDeviceCapFlagsMask) == 0) {
        return true;
    }
    for (std::size_t i = 0; i < std::size(kCapNames); ++i) {
        if ((flags & (1u << i)) != 0 && nodeDeviceHasCap(def, kCapNames[i])) {
            return true;
        }
    }
    return false;
}

std::string nodeDeviceNamePart(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0) {
            c = '_';
        }
    }
    return out;
}

}  // namespace corral::conf
