// SPDX-License-Identifier: LGPL-2.1-or-later
// UTF-8 encoding, strict decoding and sanitizing, for the JSON and XML readers and for text
// from untrusted peers.
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

/// Appends `text` to `out` with each byte that does not belong to a well-formed sequence (as
/// decodeUtf8 defines it) replaced by U+FFFD, so that a peer's bytes can go to a client whose
/// decoder needs UTF-8 (python3-libvirt's).
void appendSanitizedUtf8(std::string& out, std::string_view text);

/// `text` as appendSanitizedUtf8 writes it.
std::string sanitizeUtf8(std::string_view text);

}  // namespace corral
