// SPDX-License-Identifier: LGPL-2.1-or-later
// Reader for libvirt's configuration file syntax: `key = value` lines where a value is an
// integer, a quoted string or a [ list, of, strings ], with # comments.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace corral {

struct ConfValue {
    enum class Kind { Int, String, List };
    Kind kind = Kind::Int;
    std::int64_t i = 0;
    std::string s;
    std::vector<std::string> list;
    int line = 0;
};

struct ConfFile {
    std::string path;
    std::vector<std::pair<std::string, ConfValue>> entries;
};

/// Parses `text`; errors are ConfSyntax naming `pathForMessages`, the line and the key.
Result<ConfFile> parseConfText(std::string_view text, std::string_view pathForMessages);
/// Reads and parses a file; a missing file is an empty configuration.
Result<ConfFile> readConfFile(const std::string& path);

}  // namespace corral
