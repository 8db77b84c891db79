// SPDX-License-Identifier: LGPL-2.1-or-later
// The whole check of a QEMU guest's definition, before it is stored or started: pure, so the
// coverage tests run it without a host.
#pragma once

#include "conf/domain_def.hpp"
#include "security/security_manager.hpp"
#include "util/result.hpp"

namespace corral::drivers::qemu {

/// Accepts `def` only if a start would act on every part of it: the command line, the labels of
/// `security` (may be null: no security drivers), the cgroup tuning (`cgroups` false: qemu.conf
/// turned cgroups off), qemu.conf's spice_tls (`spiceTls`: SPICE TLS ports and secure channels
/// can be offered). Everything else is refused with ConfigUnsupported naming it
/// (conf::refuseUnreadParts), as are values the driver cannot apply.
Result<void> checkQemuGuestDefinition(const conf::DomainDef& def, const security::SecurityManager* security,
                                      bool cgroups, bool spiceTls = false);

}  // namespace corral::drivers::qemu
