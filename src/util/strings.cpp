// SPDX-License-Identifier: LGPL-2.1-or-later
// String helpers.
#include "util/strings.hpp"

#include <algorithm>

#include <charconv>
#include <cstdio>
#include <set>

namespace corral {

std::vector<std::string> splitString(std::string_view text, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        std::size_t pos = text.find(sep, start);
        if (pos == std::string_view::npos) {
            out.emplace_back(text.substr(start));
            break;
        }
        out.emplace_back(text.substr(start, pos - start));
        start = pos + 1;
    }
    return out;
}

std::string_view trimString(std::string_view text) {
    const char* blanks = " \t\r\n";
    std::size_t b = text.find_first_not_of(blanks);
    if (b == std::string_view::npos) {
        return {};
    }
    std::size_t e = text.find_last_not_of(blanks);
    return text.substr(b, e - b + 1);
}

bool startsWith(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

bool endsWith(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::optional<std::uint64_t> parseUnsigned(std::string_view text) {
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    }
    if (text.empty()) {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
    if (ec != std::errc() || p != text.data() + text.size()) {
        return std::nullopt;
    }
    return v;
}

std::optional<std::int64_t> parseSigned(std::string_view text) {
    if (text.empty()) {
        return std::nullopt;
    }
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 10);
    if (ec != std::errc() || p != text.data() + text.size()) {
        return std::nullopt;
    }
    return v;
}

bool globMatch(std::string_view pattern, std::string_view text) {
    // Iterative matcher with single backtrack point for the last '*': linear in practice.
    std::size_t p = 0;
    std::size_t t = 0;
    std::size_t starP = std::string_view::npos;
    std::size_t starT = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            starP = p++;
            starT = t;
        } else if (starP != std::string_view::npos) {
            p = starP + 1;
            t = ++starT;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') {
        ++p;
    }
    return p == pattern.size();
}

std::vector<unsigned> parseCpuList(std::string_view text, unsigned limit) {
    std::set<unsigned> on;
    std::set<unsigned> off;
    for (const auto& raw : splitString(text, ',')) {
        std::string part(trimString(raw));
        const bool negate = !part.empty() && part[0] == '^';
        unsigned first = 0, last = 0;
        int n = std::sscanf(part.c_str() + (negate ? 1 : 0), "%u-%u", &first, &last);
        if (n < 1) {
            continue;
        }
        if (n == 1) {
            last = first;
        }
        for (unsigned c = first; c <= last && c < limit; ++c) {
            (negate ? off : on).insert(c);
        }
    }
    std::vector<unsigned> out;
    for (unsigned c : on) {
        if (off.count(c) == 0) {
            out.push_back(c);
        }
    }
    return out;
}

std::string formatCpuList(std::vector<unsigned> cpus) {
    std::sort(cpus.begin(), cpus.end());
    cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
    std::string out;
    for (std::size_t i = 0; i < cpus.size();) {
        std::size_t j = i;
        while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) {
            ++j;
        }
        out += (out.empty() ? "" : ",") + std::to_string(cpus[i]);
        if (j > i) {
            out += "-" + std::to_string(cpus[j]);
        }
        i = j + 1;
    }
    return out;
}

std::vector<unsigned> cpumapToList(const std::vector<std::uint8_t>& cpumap) {
    std::vector<unsigned> cpus;
    for (std::size_t byte = 0; byte < cpumap.size(); ++byte) {
        for (unsigned bit = 0; bit < 8; ++bit) {
            if ((cpumap[byte] & (1u << bit)) != 0) {
                cpus.push_back(static_cast<unsigned>(byte * 8 + bit));
            }
        }
    }
    return cpus;
}

std::vector<std::uint8_t> cpumapFromList(const std::vector<unsigned>& cpus, std::size_t bytes) {
    std::vector<std::uint8_t> map(bytes, 0);
    for (unsigned cpu : cpus) {
        if (cpu / 8 < bytes) {
            map[cpu / 8] = static_cast<std::uint8_t>(map[cpu / 8] | (1u << (cpu % 8)));
        }
    }
    return map;
}

}  // namespace corral
