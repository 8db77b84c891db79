// SPDX-License-Identifier: LGPL-2.1-or-later
// The empty vCPU slots of a running QEMU, read from its query-hotpluggable-cpus reply (untrusted
// input: every field used is checked before it reaches a device_add).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/json_value.hpp"
#include "util/result.hpp"

namespace corral::drivers::qemu {

/// One empty slot: the CPU type to plug and its topology ids (die -1: the machine has no dies).
struct CpuSlot {
    std::string type;
    std::int64_t socket = 0, die = -1, core = 0, thread = 0;
};

/// The slots without a plugged CPU, in topology order. A reply that is not a list, or a slot with
/// a missing or out-of-range id, more than one vCPU or a type name that is not a plain word, is
/// refused whole (InternalError): QEMU never sends one.
Result<std::vector<CpuSlot>> parseEmptyCpuSlots(const JsonValue& reply);

}  // namespace corral::drivers::qemu
