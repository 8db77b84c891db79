// SPDX-License-Identifier: LGPL-2.1-or-later
// Name and address rules for values that reach the host.
#include "conf/object_name.hpp"

#include <arpa/inet.h>

#include "util/name_escape.hpp"

namespace corral::conf {

namespace {

bool isControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

bool isAsciiAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

}  // namespace

std::string printableText(std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\r') {
            out += "\\r";
        } else if (isControl(c)) {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
        } else {
            out += ch;
        }
    }
    return out;
}

Result<void> validateNewName(std::string_view name, ErrorDomain domain) {
    for (char ch : name) {
        if (isControl(static_cast<unsigned char>(ch))) {
            // libvirt's words for the newline it refuses; the same for the other control
            // characters Corral refuses, written so that the message stays on one line.
            return fail(ErrorCode::XmlDetail, "invalid char in name: " + printableText(std::string_view(&ch, 1)), domain);
        }
    }
    const std::string escaped = escapePathComponent(name);
    if (escaped.size() > kMaxEscapedNameLength) {
        return fail(ErrorCode::XmlDetail,
                    "name '" + std::string(name) + "' is too long: its files on the host would be named '" + escaped +
                        "', " + std::to_string(escaped.size()) + " bytes (at most " +
                        std::to_string(kMaxEscapedNameLength) + ")",
                    domain);
    }
    return {};
}

Result<void> validateInterfaceName(std::string_view name, std::string_view what, ErrorDomain domain) {
    bool ok = !name.empty() && name.size() <= 15 && name != "." && name != "..";
    for (char c : name) {
        ok = ok && (isAsciiAlnum(c) || c == '-' || c == '_' || c == '.' || c == '+' || c == '%');
    }
    if (!ok) {
        return fail(ErrorCode::XmlError,
                    std::string(what) + ": '" + printableText(name) +
                        "' is not a usable interface name (1 to 15 letters, digits or '-_.+%', not '.' or '..')",
                    domain);
    }
    return {};
}

bool isDnsName(std::string_view name) {
    if (name.empty() || name.size() > 253 || !isAsciiAlnum(name.front())) {
        return false;
    }
    for (char c : name) {
        if (!isAsciiAlnum(c) && c != '-' && c != '.') {
            return false;
        }
    }
    return true;
}

bool isListenAddress(std::string_view address) {
    const std::string text(address);
    in6_addr v6{};
    in_addr v4{};
    return ::inet_pton(AF_INET, text.c_str(), &v4) == 1 || ::inet_pton(AF_INET6, text.c_str(), &v6) == 1 ||
           isDnsName(address);
}

}  // namespace corral::conf
