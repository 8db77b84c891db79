// SPDX-License-Identifier: LGPL-2.1-or-later
// The devices libvirt's QEMU driver gives an x86 guest whose definition names none, added at
// define so that the definition shows what the guest gets. Pure: works on the definition only.
#pragma once

#include "conf/domain_def.hpp"

namespace corral::drivers::qemu {

/// For a pc or q35 guest, as libvirt 9.0 does (its qemuxml2xmloutdata `minimal` and
/// `q35-default-devices-only`): a virtio <memballoon> unless one is named (model='none' keeps
/// the guest without), PS/2 mouse and keyboard <input>s (the i8042 is part of those machines;
/// the elements only describe it), and <audio id='1'> of type none, or spice with SPICE
/// graphics (the backend the command line gets anyway). Unlike libvirt, no USB controller: a
/// guest has USB only when its definition asks for a controller or a USB device (docs/qemu.md).
/// Other machines are left alone.
void addImplicitDevices(conf::DomainDef& def);

}  // namespace corral::drivers::qemu
