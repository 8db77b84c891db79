// SPDX-License-Identifier: LGPL-2.1-or-later
// <graphics passwdValidTo>: when a console password stops being accepted.
#include <cstdio>
#include <ctime>
#include <string>

#include "conf/object_name.hpp"
#include "drivers/qemu/qemu_command.hpp"

namespace corral::drivers::qemu {

Result<std::optional<std::int64_t>> graphicsPasswordExpiry(const conf::XmlNode& graphics) {
    const std::string* text = graphics.attr("passwdValidTo");
    if (text == nullptr) {
        return std::optional<std::int64_t>{};
    }
    // libvirt's format: YYYY-MM-DDTHH:MM:SS, in UTC.
    std::tm tm{};
    int consumed = 0;
    const bool parsed = std::sscanf(text->c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) == 6 &&
                        static_cast<std::size_t>(consumed) == text->size();
    const bool inRange = parsed && tm.tm_year >= 1970 && tm.tm_mon >= 1 && tm.tm_mon <= 12 && tm.tm_mday >= 1 &&
                         tm.tm_mday <= 31 && tm.tm_hour <= 23 && tm.tm_min <= 59 && tm.tm_sec <= 60;
    if (!inRange) {
        return fail(ErrorCode::XmlError,
                    "<graphics passwdValidTo='" + conf::printableText(*text) +
                        "'>: not a time (YYYY-MM-DDTHH:MM:SS, in UTC)",
                    ErrorDomain::Qemu);
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return std::optional<std::int64_t>{static_cast<std::int64_t>(::timegm(&tm))};
}

}  // namespace corral::drivers::qemu
