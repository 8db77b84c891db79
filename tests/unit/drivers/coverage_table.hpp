// SPDX-License-Identifier: LGPL-2.1-or-later
// The parts of a definition as paths ("devices/disk/driver@cache"), and the per-driver tables of
// docs/domain-xml.md that list what each driver acts on: shared by the coverage test and the
// libvirt corpus test.
#pragma once

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "conf/domain_coverage.hpp"

namespace corral::drivers::coverage {

inline std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

/// Every part of the tree under `n` ("disk", "disk@type", "disk/driver@cache"), or only those
/// `tracker` saw read; descriptive elements are left out with what is in them.
inline void collectParts(const conf::XmlNode& n, const conf::XmlReadTracker* tracker, const std::string& parent,
                         std::set<std::string>& out) {
    if (conf::isDescriptiveDomainElement(n.name)) {
        return;
    }
    const std::string path = parent.empty() ? n.name : parent + "/" + n.name;
    if (tracker == nullptr || tracker->wasRead(n)) {
        out.insert(path);
    }
    for (std::size_t i = 0; i < n.attrs.size(); ++i) {
        const std::string& key = n.attrs[i].first;
        if ((tracker == nullptr || tracker->attrWasRead(n, i)) && key != "xmlns" && !key.starts_with("xmlns:")) {
            out.insert(path + "@" + key);
        }
    }
    for (const auto& c : n.children) {
        collectParts(c, tracker, path, out);
    }
}

/// The parts of a domain definition, all of them (`tracker` null) or those read.
inline std::set<std::string> domainParts(const conf::DomainDef& def, const conf::XmlReadTracker* tracker) {
    std::set<std::string> out;
    for (const auto& e : def.elements) {
        collectParts(e, tracker, "", out);
    }
    for (std::size_t i = 0; i < def.os.attributes.attrs.size(); ++i) {
        if (tracker == nullptr || tracker->attrWasRead(def.os.attributes, i)) {
            out.insert("os@" + def.os.attributes.attrs[i].first);
        }
    }
    for (const auto& e : def.os.elements) {
        collectParts(e, tracker, "os", out);
    }
    for (const auto& d : def.devices) {
        collectParts(d, tracker, "devices", out);
    }
    for (const auto& u : def.unknown) {
        collectParts(u, tracker, "", out);
    }
    return out;
}

/// The parts a driver's table lists: rows "| `path` | `attr` `attr` |" between
/// <!-- coverage:DRIVER --> and <!-- /coverage:DRIVER -->. Empty when there is no table.
inline std::set<std::string> documentedParts(const std::string& docs, const std::string& driver) {
    const std::string open = "<!-- coverage:" + driver + " -->", close = "<!-- /coverage:" + driver + " -->";
    auto begin = docs.find(open), end = docs.find(close);
    std::set<std::string> out;
    if (begin == std::string::npos || end == std::string::npos) {
        return out;
    }
    std::istringstream rows(docs.substr(begin, end - begin));
    std::string row;
    while (std::getline(rows, row)) {
        if (!row.starts_with("| `")) {
            continue;
        }
        const std::string path = row.substr(3, row.find('`', 3) - 3);
        out.insert(path);
        const std::string attrs = row.substr(row.find('|', 3) + 1);
        for (auto at = attrs.find('`'); at != std::string::npos;) {
            auto last = attrs.find('`', at + 1);
            out.insert(path + "@" + attrs.substr(at + 1, last - at - 1));
            at = attrs.find('`', last + 1);
        }
    }
    return out;
}

}  // namespace corral::drivers::coverage
