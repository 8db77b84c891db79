// SPDX-License-Identifier: LGPL-2.1-or-later
// PCI addresses given at define and kept in the definition, as libvirt's QEMU driver gives them:
// a device added later takes a free slot and never moves the devices already there, so a guest's
// device names (a Linux guest's enpNsM) survive a restart after the definition changed. Pure:
// works on the definition only.
#pragma once

#include "conf/domain_def.hpp"
#include "util/result.hpp"

namespace corral::drivers::qemu {

/// Gives every PCI device of `def` that has no PCI address (or libvirt's all-zero "put it where
/// it goes") the slot libvirt's QEMU driver gives it, and writes it into the definition:
/// pc (i440FX): slot 1 is PIIX3 (IDE 1.1, its UHCI 1.2), the primary video slot 2, the rest from
/// slot 3 in libvirt's order; q35: the primary video at slot 1, ICH9 HD audio at 0x1b, SATA at
/// 0x1f.2, PCIe devices (virtio, e1000e, xHCI) each on a pcie-root-port of its own, the root
/// ports together on the functions of one slot; conventional PCI devices on the root bus.
/// Adds the controllers it places devices on: pcie-root-ports where the definition has too few
/// (one more for a later hotplug), and the controllers the command line would add unasked (SATA
/// on pc, SCSI, virtio-serial, USB) and the VGA a display without <video> gets.
/// With `addControllers` false (a device added to a running guest) nothing is added: a device
/// that would need a new controller is refused. Refuses two devices on one address, an address
/// on a bus no controller provides, and two controllers of the same type and index. Machines
/// without PCI (microvm) and machine types the driver does not know are left alone.
Result<void> assignPciAddresses(conf::DomainDef& def, bool addControllers = true);

}  // namespace corral::drivers::qemu
