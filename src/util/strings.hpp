// SPDX-License-Identifier: LGPL-2.1-or-later
// Small string helpers shared by every layer: splitting, trimming, number parsing, glob matching.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corral {

std::vector<std::string> splitString(std::string_view text, char sep);

/// A CPU list as the kernel and libvirt write it ("0-3,8,^2"), in ascending order; numbers at or
/// above `limit` and malformed parts are left out.
std::vector<unsigned> parseCpuList(std::string_view text, unsigned limit = 65536);
/// The shortest libvirt cpuset text for `cpus` ("0-3,6"); "" for none.
std::string formatCpuList(std::vector<unsigned> cpus);
/// CPUs set in a libvirt cpumap (bit i of byte i/8 = CPU i), and back.
std::vector<unsigned> cpumapToList(const std::vector<std::uint8_t>& cpumap);
std::vector<std::uint8_t> cpumapFromList(const std::vector<unsigned>& cpus, std::size_t bytes);
std::string_view trimString(std::string_view text);
bool startsWith(std::string_view text, std::string_view prefix);
bool endsWith(std::string_view text, std::string_view suffix);

/// Parses a whole string as a decimal (or 0x hex) unsigned number; nullopt on junk or overflow.
std::optional<std::uint64_t> parseUnsigned(std::string_view text);
/// Parses a whole string as a decimal signed number; nullopt on junk or overflow.
std::optional<std::int64_t> parseSigned(std::string_view text);

/// Shell-style glob with '*' and '?' (no classes), as GLib's g_pattern_match_simple which
/// libvirt uses for tls_allowed_dn_list and sasl_allowed_username_list.
bool globMatch(std::string_view pattern, std::string_view text);

}  // namespace corral
