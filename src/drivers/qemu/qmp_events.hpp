// SPDX-License-Identifier: LGPL-2.1-or-later
// The QMP events that become libvirt domain events with a payload (RTC change, watchdog, I/O
// error, VNC client, balloon), translated as libvirt's QEMU driver reports them. Pure: the
// backend feeds it the event and the live definition, and sends what comes out.
#pragma once

#include <optional>
#include <string>

#include "conf/domain_def.hpp"
#include "drivers/interfaces/hypervisor.hpp"
#include "util/json_value.hpp"

namespace corral::drivers::qemu {

/// The domain event for QMP event `name` with `data`, or nothing for events that are not of this
/// kind (the lifecycle ones the backend handles itself, and everything unknown). `def` is the
/// guest's live definition: a block node is traced back to its <disk> for the I/O error's path.
std::optional<DomainEvent> domainEventFromQmp(const std::string& name, const JsonValue& data,
                                              const conf::DomainDef& def);

}  // namespace corral::drivers::qemu
