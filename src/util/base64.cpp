// SPDX-License-Identifier: LGPL-2.1-or-later
// Base64 encoding and strict decoding.
#include "util/base64.hpp"

namespace corral {

namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sextet(char c) {
    auto pos = kAlphabet.find(c);
    return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

}  // namespace

std::string base64Encode(std::span<const std::uint8_t> data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < data.size(); i += 3) {
        const std::size_t n = std::min<std::size_t>(3, data.size() - i);
        std::uint32_t group = static_cast<std::uint32_t>(data[i]) << 16;
        if (n > 1) {
            group |= static_cast<std::uint32_t>(data[i + 1]) << 8;
        }
        if (n > 2) {
            group |= data[i + 2];
        }
        out += kAlphabet[(group >> 18) & 63];
        out += kAlphabet[(group >> 12) & 63];
        out += n > 1 ? kAlphabet[(group >> 6) & 63] : '=';
        out += n > 2 ? kAlphabet[group & 63] : '=';
    }
    return out;
}

std::optional<std::vector<std::uint8_t>> base64Decode(std::string_view text) {
    std::string clean;
    for (char c : text) {
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
            clean += c;
        }
    }
    if (clean.size() % 4 != 0) {
        return std::nullopt;
    }
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i < clean.size(); i += 4) {
        const bool last = i + 4 == clean.size();
        int pad = 0;
        std::uint32_t group = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            char c = clean[i + j];
            if (c == '=' && last && j >= 2) {
                ++pad;
                group <<= 6;
                continue;
            }
            int v = sextet(c);
            if (v < 0 || pad > 0) {
                return std::nullopt;
            }
            group = (group << 6) | static_cast<std::uint32_t>(v);
        }
        out.push_back(static_cast<std::uint8_t>(group >> 16));
        if (pad < 2) {
            out.push_back(static_cast<std::uint8_t>(group >> 8));
        }
        if (pad < 1) {
            out.push_back(static_cast<std::uint8_t>(group));
        }
    }
    return out;
}

}  // namespace corral
