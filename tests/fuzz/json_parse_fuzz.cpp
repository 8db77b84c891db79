// SPDX-License-Identifier: LGPL-2.1-or-later
// Fuzzes the JSON reader as the QMP monitor uses it (QEMU is an untrusted peer once a guest
// escapes into it), with the monitor's limits. Properties checked on every accepted input:
// what toJson() writes is valid UTF-8 (the reader replaced what was not), parses again under
// the same limits, and writes the same text again (parse-serialise-parse is a fixed point).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "util/json_value.hpp"
#include "util/utf8.hpp"

using namespace corral;

namespace {

// The QMP monitor's figures (src/drivers/qemu/qmp_monitor.cpp).
constexpr JsonLimits kLimits{2 * 1024 * 1024, 12 * 1024 * 1024, 64};

bool validUtf8(std::string_view text) {
    for (std::size_t at = 0; at < text.size();) {
        std::uint32_t cp = 0;
        std::size_t len = decodeUtf8(text, at, cp);
        if (len == 0) {
            return false;
        }
        at += len;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto value = JsonValue::parse(text, kLimits);
    if (!value) {
        return 0;
    }
    std::string once = value->toJson();
    if (!validUtf8(once)) {
        __builtin_trap();
    }
    auto again = JsonValue::parse(once, kLimits);
    if (!again || again->toJson() != once) {
        __builtin_trap();
    }
    return 0;
}
