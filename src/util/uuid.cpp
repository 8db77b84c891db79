// SPDX-License-Identifier: LGPL-2.1-or-later
// UUID generation and text conversion.
#include "util/uuid.hpp"

#include <sys/random.h>

#include <cstring>

#include "util/result.hpp"

namespace corral {

namespace {
int hexValue(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}
}  // namespace

Uuid Uuid::generate() {
    Uuid u;
    std::size_t got = 0;
    while (got < u.bytes.size()) {
        ssize_t n = getrandom(u.bytes.data() + got, u.bytes.size() - got, 0);
        CORRAL_CHECK(n > 0 || errno == EINTR);
        if (n > 0) {
            got += static_cast<std::size_t>(n);
        }
    }
    u.bytes[6] = static_cast<std::uint8_t>((u.bytes[6] & 0x0F) | 0x40);
    u.bytes[8] = static_cast<std::uint8_t>((u.bytes[8] & 0x3F) | 0x80);
    return u;
}

std::optional<Uuid> Uuid::parse(std::string_view text) {
    // libvirt accepts dashes anywhere between byte pairs and surrounding blanks; we accept the
    // two forms people actually write.
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    Uuid u;
    std::size_t byte = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] == '-') {
            ++i;
            continue;
        }
        if (byte >= 16 || i + 1 >= text.size()) {
            return std::nullopt;
        }
        int hi = hexValue(text[i]);
        int lo = hexValue(text[i + 1]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        u.bytes[byte++] = static_cast<std::uint8_t>(hi * 16 + lo);
        i += 2;
    }
    if (byte != 16) {
        return std::nullopt;
    }
    return u;
}

std::string Uuid::toString() const {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out += '-';
        }
        out += kHex[bytes[i] >> 4];
        out += kHex[bytes[i] & 0x0F];
    }
    return out;
}

bool Uuid::isNull() const {
    for (auto b : bytes) {
        if (b != 0) {
            return false;
        }
    }
    return true;
}

std::size_t UuidHash::operator()(const Uuid& u) const noexcept {
    std::size_t h = 0;
    std::memcpy(&h, u.bytes.data(), sizeof h);
    return h;
}

}  // namespace corral
