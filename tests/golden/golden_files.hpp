// SPDX-License-Identifier: LGPL-2.1-or-later
// What the golden tests share: reading a case's files, listing the cases of a directory, and
// the CORRAL_TEST_REGENERATE switch that rewrites expected files.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "conf/domain_def.hpp"

namespace corral::golden {

inline std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// The NAME of every NAME.xml in `dir`, sorted; files ending in `skipSuffix` are outputs.
inline std::vector<std::string> xmlCases(const std::filesystem::path& dir, const std::string& skipSuffix = {}) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        std::string name = e.path().filename();
        if (name.ends_with(".xml") && (skipSuffix.empty() || !name.ends_with(skipSuffix))) {
            out.push_back(name.substr(0, name.size() - 4));
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

inline bool regenerate() {
    const char* regen = std::getenv("CORRAL_TEST_REGENERATE");
    return regen != nullptr && std::string(regen) == "1";
}

/// Line-by-line difference, enough to see what moved.
inline std::string diff(const std::string& expected, const std::string& actual) {
    std::istringstream e(expected), a(actual);
    std::string le, la, out;
    int line = 1;
    while (true) {
        bool he = static_cast<bool>(std::getline(e, le));
        bool ha = static_cast<bool>(std::getline(a, la));
        if (!he && !ha) {
            break;
        }
        if (!he || !ha || le != la) {
            out += "@@ line " + std::to_string(line) + "\n-" + (he ? le : "<eof>") + "\n+" + (ha ? la : "<eof>") + "\n";
        }
        ++line;
    }
    return out;
}

/// Post-parse with a fixed UUID and MACs counting up from `counter`, so outputs are stable.
inline conf::PostParseContext deterministicPostParse(std::uint32_t& counter) {
    conf::PostParseContext ctx;
    ctx.generateUuid = [] { return *Uuid::parse("c7a5fdbd-edaf-9455-926a-d65c16db1809"); };
    ctx.random32 = [&counter] { return counter++; };
    ctx.macInUse = [](const std::string&) { return false; };
    return ctx;
}

/// Test names may not contain '-'.
inline std::string testName(std::string name) {
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
}

}  // namespace corral::golden
