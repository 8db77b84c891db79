// SPDX-License-Identifier: LGPL-2.1-or-later
// Standard base64 (RFC 4648, with padding): how virsh shows and takes secret values.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace corral {

std::string base64Encode(std::span<const std::uint8_t> data);

/// The bytes `text` encodes; nullopt for a character outside the alphabet, a bad length or bad
/// padding. Whitespace (a file's final newline) is skipped.
std::optional<std::vector<std::uint8_t>> base64Decode(std::string_view text);

}  // namespace corral
