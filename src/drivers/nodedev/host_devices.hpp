// SPDX-License-Identifier: LGPL-2.1-or-later
// The host's devices and interfaces as libvirt names and describes them, read from sysfs.
#pragma once

#include <vector>

#include "conf/interface_def.hpp"
#include "conf/node_device_def.hpp"
#include "host/sysfs_tree.hpp"
#include "util/result.hpp"

namespace corral::drivers::nodedev {

/// The computer, PCI and USB devices, USB interfaces, network interfaces, SCSI hosts and whole
/// disks, sorted by name, each with its parent (the nearest listed device above it in the
/// device tree, else the computer). `readOffloads`: ask the kernel for each interface's offloads.
Result<std::vector<conf::NodeDeviceDef>> scanHostNodeDevices(const host::SysfsTree& sys, bool readOffloads);

/// The network interfaces not enslaved to a bridge, sorted by name; a bridge carries its ports.
Result<std::vector<conf::InterfaceDef>> scanHostInterfaces(const host::SysfsTree& sys);

}  // namespace corral::drivers::nodedev
