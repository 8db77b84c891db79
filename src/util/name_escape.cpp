// SPDX-License-Identifier: LGPL-2.1-or-later
// escapePathComponent and its cgroup and legacy variants.
#include "util/name_escape.hpp"

namespace corral {

namespace {

bool keptAsIs(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' || c == '_' ||
           c == '.' || c == '-';
}

void appendEscaped(std::string& out, unsigned char c) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
}

/// Whether `component` has the shape of a cgroup interface file: "tasks", "notify_on_release",
/// "release_agent", or a prefix of [a-z_] before a first '.' ("cgroup.procs", "net_cls.classid",
/// and whatever files a future controller brings in the same shape).
bool looksLikeCgroupFile(std::string_view component) {
    if (component == "tasks" || component == "notify_on_release" || component == "release_agent") {
        return true;
    }
    const std::size_t dot = component.find('.');
    if (dot == std::string_view::npos || dot == 0) {
        return false;
    }
    for (char c : component.substr(0, dot)) {
        if (!((c >= 'a' && c <= 'z') || c == '_')) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::string escapePathComponent(std::string_view name) {
    if (name.empty()) {
        return "\\x00";  // no name is empty (a definition needs one); this can never be a real name's
    }
    std::string out;
    out.reserve(name.size());
    for (std::size_t i = 0; i < name.size(); ++i) {
        const auto c = static_cast<unsigned char>(name[i]);
        if (keptAsIs(c) && !(i == 0 && c == '.')) {
            out += static_cast<char>(c);
        } else {
            appendEscaped(out, c);
        }
    }
    return out;
}

std::string escapeCgroupComponent(std::string_view name) {
    std::string escaped = escapePathComponent(name);
    if (escaped.front() == '_' || looksLikeCgroupFile(escaped)) {
        escaped.insert(escaped.begin(), '_');
    }
    return escaped;
}

namespace {
bool wasSafeComponent(std::string_view name) {
    return !name.empty() && name != "." && name != ".." &&
           name.find_first_of(std::string_view("/\\\0", 3)) == std::string_view::npos;
}
}  // namespace

std::optional<std::string> legacyPathComponent(std::string_view name) {
    if (!wasSafeComponent(name) || escapePathComponent(name) == name) {
        return std::nullopt;
    }
    return std::string(name);
}

std::optional<std::string> legacyCgroupComponent(std::string_view name) {
    if (!wasSafeComponent(name) || name.front() == '_' || escapeCgroupComponent(name) == name) {
        return std::nullopt;
    }
    return std::string(name);
}

bool isPlainRelativePath(std::string_view path) {
    if (path.empty()) {
        return false;
    }
    std::size_t start = 0;
    while (true) {
        const std::size_t end = path.find('/', start);
        const std::string_view component = path.substr(start, end == std::string_view::npos ? end : end - start);
        if (component.empty() || component == "." || component == "..") {
            return false;
        }
        if (end == std::string_view::npos) {
            return true;
        }
        start = end + 1;
    }
}

std::string pathForName(std::string_view dir, std::string_view name, std::string_view suffix) {
    std::string path(dir);
    path += '/';
    path += escapePathComponent(name);
    path += suffix;
    return path;
}

}  // namespace corral
