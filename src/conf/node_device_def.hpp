// SPDX-License-Identifier: LGPL-2.1-or-later
// NodeDeviceDef: a host device as libvirt's node-device API shows it (virsh nodedev-dumpxml):
// the computer itself, PCI and USB devices, USB interfaces, network interfaces, SCSI hosts and
// block storage. Read-only facts gathered by a driver; this file only lays them out as XML.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/domain_def.hpp"  // PciAddress

namespace corral::conf {

/// <capability type='system'>: DMI facts; an empty field is left out (uuid: all zeros).
struct SystemCap {
    std::string product;
    std::string hwVendor, hwVersion, hwSerial, hwUuid;
    std::string fwVendor, fwVersion, fwReleaseDate;
};

struct PciCap {
    unsigned klass = 0;  ///< class, subclass and programming interface: 0x020000
    PciAddress address;
    unsigned productId = 0, vendorId = 0;
    std::string productName, vendorName;  ///< "" where pci.ids has no name
    std::optional<unsigned> iommuGroup;
    std::vector<PciAddress> iommuGroupMembers;
    std::optional<int> numaNode;
};

struct UsbDeviceCap {
    unsigned bus = 0, device = 0;
    unsigned productId = 0, vendorId = 0;
    std::string productName, vendorName;
};

struct UsbInterfaceCap {
    unsigned number = 0, klass = 0, subclass = 0, protocol = 0;
};

struct NetCap {
    std::string interface, address;
    std::string linkState;               ///< operstate: "up", "down", "unknown" ...
    std::optional<std::uint64_t> speed;  ///< Mbit/s, only while the link is up
    std::vector<std::string> features;   ///< offloads in libvirt's order: rx, tx, sg ...
    std::string subtype = "80203";       ///< "80211" for wireless
};

struct ScsiHostCap {
    unsigned host = 0;
    std::optional<unsigned> uniqueId;
    bool fcHost = false;
    std::string wwnn, wwpn, fabricWwn;
    bool vportOps = false;
    unsigned maxVports = 0, vports = 0;
};

struct StorageCap {
    std::string block;      ///< /dev/vda
    std::string driveType;  ///< disk, cdrom ...
    std::string model, vendor, serial;
    bool removable = false;
    bool mediaAvailable = false;
    std::uint64_t size = 0;  ///< bytes (media size when removable)
    std::uint64_t logicalBlockSize = 0, numBlocks = 0;
};

/// One capability of a device; `type` names which member is meant.
struct NodeDeviceCap {
    std::string type;  ///< system, pci, usb_device, usb, net, scsi_host, storage
    SystemCap system;
    PciCap pci;
    UsbDeviceCap usbDevice;
    UsbInterfaceCap usbInterface;
    NetCap net;
    ScsiHostCap scsiHost;
    StorageCap storage;
};

struct NodeDeviceDef {
    std::string name;    ///< pci_0000_00_03_0, net_eth0_02_fc_00_00_00_01, computer ...
    std::string path;    ///< /sys/devices/...; "" for the computer
    std::string devnode; ///< /dev/... where the device has one
    std::string parent;  ///< "" only for the computer
    std::string driver;  ///< the kernel driver bound to it
    std::vector<NodeDeviceCap> caps;
};

/// libvirt's layout (virsh nodedev-dumpxml).
std::string formatNodeDeviceXml(const NodeDeviceDef& def);

/// The capability names a device answers to (virNodeDeviceListCaps): its own, and the nested
/// ones libvirt lists beside them (fc_host, vports under a SCSI host).
std::vector<std::string> nodeDeviceCapNames(const NodeDeviceDef& def);

/// The virConnectListAllNodeDevices flag bit of a capability name; 0 for an unknown one.
unsigned nodeDeviceCapFlag(std::string_view cap);

/// True when the device answers to `cap`: one of its capabilities, or fc_host / vports nested
/// in its SCSI host capability (virsh nodedev-list --cap fc_host finds the HBA).
bool nodeDeviceHasCap(const NodeDeviceDef& def, std::string_view cap);

/// True when virConnectListAllNodeDevices' `flags` select the device: no capability bit, or
/// one of a capability it has; every device is active (INACTIVE alone selects none).
bool nodeDeviceMatchesFlags(const NodeDeviceDef& def, unsigned flags);

/// The capability flag bits virConnectListAllNodeDevices knows (libvirt 9.0: bits 0 to 21).
inline constexpr unsigned kNodeDeviceCapFlagsMask = (1u << 22) - 1;
/// VIR_CONNECT_LIST_NODE_DEVICES_INACTIVE and _ACTIVE.
inline constexpr unsigned kNodeDeviceListInactive = 1u << 30;
inline constexpr unsigned kNodeDeviceListActive = 1u << 31;

/// libvirt's device-name spelling: every character but letters and digits becomes '_'.
std::string nodeDeviceNamePart(std::string_view text);

}  // namespace corral::conf
