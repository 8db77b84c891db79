// SPDX-License-Identifier: LGPL-2.1-or-later
// JsonValue: a parsed JSON document (QMP replies and events). Parsing is strict RFC 8259 with
// limits on nesting, length and parsed size, so a hostile or broken peer gets an error, never a
// crash or a daemon out of memory.
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

/// What one document may cost. Each bound is checked while parsing, so a document over it is
/// refused before it has taken more memory than the bound.
struct JsonLimits {
    std::size_t maxBytes = static_cast<std::size_t>(-1);  ///< length of the text
    /// An estimate of the most memory the parse takes at any moment (JsonValue nodes, map
    /// nodes, vector blocks, the old one too while a vector grows, string buffers), as glibc's
    /// malloc counts it. Measured: a parse refused at 12 MiB peaked at 14 MiB resident (what
    /// malloc and the kernel add on top). A text of two-byte array elements ("[0,0,...]")
    /// costs 28 to 42 times its length, 56 to 84 bytes an element.
    std::size_t maxParsedBytes = static_cast<std::size_t>(-1);
    int maxDepth = 64;  ///< arrays and objects inside each other
};

class JsonValue {
public:
    using Array = std::vector<JsonValue>;
    using Object = std::map<std::string, JsonValue, std::less<>>;

    JsonValue() = default;  // null

    /// Parses one document. Strings keep every byte except what is not UTF-8: each byte of a
    /// malformed or overlong sequence becomes U+FFFD, so a peer's bytes never reach a client
    /// (whose UTF-8 decoder would fail) as they are. Errors (InternalError) name the offset and
    /// what is wrong, or which limit the document passes.
    static Result<JsonValue> parse(std::string_view text, const JsonLimits& limits = {});

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
