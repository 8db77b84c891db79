// SPDX-License-Identifier: LGPL-2.1-or-later
// Fuzzes the reader of libvirt-style configuration files (corrald.conf, qemu.conf, lxc.conf).
// Properties: an error names the file and a line that exists; an accepted file, written back in
// canonical form, parses to the same keys and values.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/conf_file.hpp"

using namespace corral;

namespace {

/// A string as the reader takes it back: quoted with a character it does not contain (a
/// parsed string holds at most one kind of quote: the other one ended it).
std::string quote(const std::string& s) {
    char q = s.find('"') == std::string::npos ? '"' : '\'';
    return q + s + q;
}

std::string canonical(const ConfFile& file) {
    std::string out;
    for (const auto& [key, value] : file.entries) {
        out += key + " = ";
        switch (value.kind) {
            case ConfValue::Kind::Int: out += std::to_string(value.i); break;
            case ConfValue::Kind::String: out += quote(value.s); break;
            case ConfValue::Kind::List:
                out += "[";
                for (std::size_t i = 0; i < value.list.size(); ++i) {
                    out += (i == 0 ? "" : ", ") + quote(value.list[i]);
                }
                out += "]";
                break;
        }
        out += "\n";
    }
    return out;
}

bool sameValues(const ConfFile& a, const ConfFile& b) {
    if (a.entries.size() != b.entries.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.entries.size(); ++i) {
        const auto& [ka, va] = a.entries[i];
        const auto& [kb, vb] = b.entries[i];
        if (ka != kb || va.kind != vb.kind || va.i != vb.i || va.s != vb.s || va.list != vb.list) {
            return false;
        }
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto file = parseConfText(text, "fuzz.conf");
    if (!file) {
        const std::string& msg = file.error().message;
        std::size_t lines = 1;
        for (char c : text) {
            lines += c == '\n' ? 1 : 0;
        }
        std::size_t colon = msg.find(':', 10);
        if (msg.rfind("fuzz.conf:", 0) != 0 || colon == std::string::npos) {
            __builtin_trap();
        }
        std::size_t line = 0;
        auto [end, err] = std::from_chars(msg.data() + 10, msg.data() + colon, line);
        if (err != std::errc() || end != msg.data() + colon || line < 1 || line > lines) {
            __builtin_trap();
        }
        return 0;
    }
    auto again = parseConfText(canonical(*file), "canonical.conf");
    if (!again || !sameValues(*file, *again)) {
        __builtin_trap();
    }
    return 0;
}
