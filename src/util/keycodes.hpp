// SPDX-License-Identifier: LGPL-2.1-or-later
// Keycode sets of virDomainSendKey: libvirt's set numbers, the Linux input key names clients
// type (KEY_A), and the translation to QEMU's "qnum" numbers (PC set-1 scancodes, with 0x80
// set for the 0xe0-prefixed keys). Only the linux and qnum sets are known; a driver refuses the
// others by name.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace corral {

/// libvirt's virKeycodeSet numbers.
namespace keycode_set {
inline constexpr unsigned kLinux = 0, kXt = 1, kAtset1 = 2, kAtset2 = 3, kAtset3 = 4, kOsx = 5, kXtKbd = 6,
                          kUsb = 7, kWin32 = 8, kQnum = 9;
}

/// The set's name as virsh spells it ("linux", "qnum"; "rfb" is another name of qnum).
std::optional<unsigned> keycodeSetFromName(std::string_view name);
std::string keycodeSetName(unsigned set);

/// A Linux key's code from its name ("KEY_A" -> 30), for the keys this table knows.
std::optional<unsigned> linuxKeycodeFromName(std::string_view name);

/// The qnum of key `code` of `set`. Errors: InvalidArg naming the set or the code.
Result<unsigned> keycodeToQnum(unsigned set, unsigned code);

}  // namespace corral
