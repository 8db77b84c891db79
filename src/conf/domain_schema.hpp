// SPDX-License-Identifier: LGPL-2.1-or-later
// Facts from libvirt's domain schema: which elements exist and the order libvirt writes them.
#pragma once

#include <string_view>

namespace corral::conf {

/// Position of a top-level element in libvirt's output; -1 when the schema does not know it.
int topLevelOrder(std::string_view name);
/// Position of a device element in libvirt's output; -1 when the schema does not know it.
int deviceOrder(std::string_view name);
/// Domain types libvirt accepts in <domain type=...>.
bool isKnownVirtType(std::string_view type);
/// Lifecycle actions valid for on_poweroff/on_reboot (crash = false) or on_crash (true).
bool isKnownLifecycleAction(std::string_view action, bool crash);

}  // namespace corral::conf
