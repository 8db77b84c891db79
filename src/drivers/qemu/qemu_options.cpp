// SPDX-License-Identifier: LGPL-2.1-or-later
// QemuOpts and the ",," escape.
#include "drivers/qemu/qemu_options.hpp"

#include "util/result.hpp"

namespace corral::drivers::qemu {

std::string escapeQemuOptionValue(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        out += c;
        if (c == ',') {
            out += ',';
        }
    }
    return out;
}

QemuOpts::QemuOpts(std::string_view leading) : text_(escapeQemuOptionValue(leading)) {}

QemuOpts& QemuOpts::add(std::string_view key, std::string_view value) {
    CORRAL_CHECK(!key.empty() && key.find_first_of(",=") == std::string_view::npos);
    if (!text_.empty()) {
        text_ += ',';
    }
    text_ += key;
    text_ += '=';
    text_ += escapeQemuOptionValue(value);
    return *this;
}

QemuOpts& QemuOpts::add(std::string_view key, std::uint64_t value) { return add(key, std::to_string(value)); }

}  // namespace corral::drivers::qemu
