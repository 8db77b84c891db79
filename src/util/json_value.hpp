// SPDX-License-Identifier: LGPL-2.1-or-later
// JsonValue: a parsed JSON document (QMP replies and events). Parsing is strict RFC 8259 with a
// nesting limit, so a hostile or broken peer gets an error, never a crash.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/result.hpp"

namespace corral {

class JsonValue {
public:
    using Array = std::vector<JsonValue>;
    using Object = std::map<std::string, JsonValue, std::less<>>;

    JsonValue() = default;  // null

    static Result<JsonValue> parse(std::string_view text);

    [[nodiscard]] bool isNull() const { return std::holds_alternative<std::monostate>(v_); }
    [[nodiscard]] bool isObject() const { return std::holds_alternative<Object>(v_); }
    [[nodiscard]] bool isArray() const { return std::holds_alternative<Array>(v_); }
    [[nodiscard]] bool isString() const { return std::holds_alternative<std::string>(v_); }
    [[nodiscard]] bool isNumber() const { return std::holds_alternative<Number>(v_); }
    [[nodiscard]] bool isBool() const { return std::holds_alternative<bool>(v_); }

    /// Member `key` of an object; a null value when absent or when this is not an object.
    [[nodiscard]] const JsonValue& operator[](std::string_view key) const;
    [[nodiscard]] bool has(std::string_view key) const;

    [[nodiscard]] std::string asString(std::string fallback = {}) const;
    [[nodiscard]] std::int64_t asInt(std::int64_t fallback = 0) const;
    [[nodiscard]] std::uint64_t asUnsigned(std::uint64_t fallback = 0) const;
    [[nodiscard]] double asDouble(double fallback = 0) const;
    [[nodiscard]] bool asBool(bool fallback = false) const;
    [[nodiscard]] const Array& items() const;
    [[nodiscard]] const Object& members() const;

    /// Compact JSON text of this value (numbers keep their original text).
    [[nodiscard]] std::string toJson() const;

private:
    friend class JsonParser;
    /// A number keeps its text: QEMU's byte counters exceed 2^53, which a double cannot hold.
    struct Number {
        std::string text;
    };
    std::variant<std::monostate, bool, Number, std::string, Array, Object> v_;
};

}  // namespace corral
