// SPDX-License-Identifier: LGPL-2.1-or-later
#include "host/sysfs_tree.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "util/strings.hpp"

namespace corral::host {

namespace {

std::string realPath(const std::string& path) {
    char buf[PATH_MAX];
    if (::realpath(path.c_str(), buf) == nullptr) {
        return {};
    }
    return buf;
}

}  // namespace

SysfsTree::SysfsTree(std::string root) : root_(std::move(root)), realRoot_(realPath(root_)) {}

std::vector<std::string> SysfsTree::list(const std::string& rel) const {
    std::vector<std::string> names;
    DIR* dir = ::opendir((root_ + "/" + rel).c_str());
    if (dir == nullptr) {
        return names;
    }
    while (const dirent* e = ::readdir(dir)) {
        std::string name = e->d_name;
        if (name != "." && name != "..") {
            names.push_back(std::move(name));
        }
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
}

std::string SysfsTree::resolve(const std::string& rel) const {
    std::string full = realPath(root_ + "/" + rel);
    if (full.empty() || realRoot_.empty() || !startsWith(full, realRoot_ + "/")) {
        return {};
    }
    return full.substr(realRoot_.size() + 1);
}

std::optional<std::string> SysfsTree::attr(const std::string& rel) const {
    std::ifstream in(root_ + "/" + rel);
    if (!in) {
        return std::nullopt;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    if (in.bad()) {
        return std::nullopt;
    }
    // A read the attribute refuses (EINVAL for a down link's speed) leaves failbit and no text.
    std::string text = ss.str();
    if (text.empty() && !ss.good()) {
        return std::nullopt;
    }
    return std::string(trimString(text));
}

std::optional<std::string> SysfsTree::linkName(const std::string& rel) const {
    char buf[PATH_MAX];
    ssize_t n = ::readlink((root_ + "/" + rel).c_str(), buf, sizeof buf - 1);
    if (n <= 0) {
        return std::nullopt;
    }
    std::string target(buf, static_cast<std::size_t>(n));
    return target.substr(target.rfind('/') + 1);
}

std::optional<std::string> SysfsTree::ueventValue(const std::string& rel, const std::string& key) const {
    auto text = attr(rel + "/uevent");
    if (!text) {
        return std::nullopt;
    }
    for (const auto& line : splitString(*text, '\n')) {
        if (startsWith(line, key + "=")) {
            return line.substr(key.size() + 1);
        }
    }
    return std::nullopt;
}

bool SysfsTree::exists(const std::string& rel) const {
    struct stat st {};
    return ::stat((root_ + "/" + rel).c_str(), &st) == 0;
}

}  // namespace corral::host
