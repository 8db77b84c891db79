// SPDX-License-Identifier: LGPL-2.1-or-later
// UTF-8 encoding and strict decoding, for the JSON and XML readers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace corral {

/// Appends code point `cp` (at most U+10FFFF) to `out` as UTF-8.
void appendUtf8(std::string& out, std::uint32_t cp);

/// Decodes the UTF-8 sequence starting at `text[at]` into `cp`; returns its length in bytes, or 0
/// when it is malformed: a bad or missing continuation byte, an overlong form, a surrogate, or a
/// code point past U+10FFFF.
std::size_t decodeUtf8(std::string_view text, std::size_t at, std::uint32_t& cp);

}  // namespace corral
