// SPDX-License-Identifier: LGPL-2.1-or-later
// 16-byte UUIDs: random generation, parsing (with or without dashes) and the canonical text form.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace corral {

struct Uuid {
    std::array<std::uint8_t, 16> bytes{};

    /// A random version-4 UUID from the kernel's CSPRNG (getrandom).
    static Uuid generate();
    /// Accepts the 36-character dashed form or 32 hex digits, as libvirt does; nullopt otherwise.
    static std::optional<Uuid> parse(std::string_view text);
    /// The canonical lower-case dashed form, 36 characters.
    [[nodiscard]] std::string toString() const;
    [[nodiscard]] bool isNull() const;

    friend bool operator==(const Uuid&, const Uuid&) = default;
    friend auto operator<=>(const Uuid&, const Uuid&) = default;
};

struct UuidHash {
    std::size_t operator()(const Uuid& u) const noexcept;
};

}  // namespace corral
