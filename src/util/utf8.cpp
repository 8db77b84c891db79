// SPDX-License-Identifier: LGPL-2.1-or-later
#include "util/utf8.hpp"

namespace corral {

void appendUtf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::size_t decodeUtf8(std::string_view text, std::size_t at, std::uint32_t& cp) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[at + k]); };
    unsigned char lead = byte(0);
    std::size_t len = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || at + len > text.size()) {
        return 0;
    }
    cp = len == 1 ? lead : len == 2 ? (lead & 0x1Fu) : len == 3 ? (lead & 0x0Fu) : (lead & 0x07u);
    for (std::size_t k = 1; k < len; ++k) {
        if ((byte(k) & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (byte(k) & 0x3Fu);
    }
    static constexpr std::uint32_t kShortest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kShortest[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return len;
}

void appendSanitizedUtf8(std::string& out, std::string_view text) {
    for (std::size_t at = 0; at < text.size();) {
        std::size_t run = at;
        while (run < text.size() && static_cast<unsigned char>(text[run]) < 0x80) {
            ++run;
        }
        out.append(text.substr(at, run - at));
        at = run;
        if (at >= text.size()) {
            break;
        }
        std::uint32_t cp = 0;
        std::size_t len = decodeUtf8(text, at, cp);
        if (len == 0) {
            out += "\xEF\xBF\xBD";  // U+FFFD for this one byte; the next is looked at afresh
            ++at;
        } else {
            out.append(text.substr(at, len));
            at += len;
        }
    }
}

std::string sanitizeUtf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    appendSanitizedUtf8(out, text);
    return out;
}

}  // namespace corral
