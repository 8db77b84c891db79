// SPDX-License-Identifier: LGPL-2.1-or-later
// JsonValue: a small recursive-descent parser.
#include "util/json_value.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "util/json.hpp"
#include "util/utf8.hpp"

namespace corral {

namespace {

// The parse-cost estimate of JsonLimits::maxParsedBytes, in glibc malloc's terms: every heap
// block carries 8 bytes of header and is rounded up to 16.
constexpr std::size_t heapBlock(std::size_t n) { return (n + 8 + 15) / 16 * 16; }
// libstdc++ keeps strings of up to 15 bytes inside the object.
constexpr std::size_t kInlineString = 15;
// A std::map node: colour and three links, then the key and the value.
constexpr std::size_t kMapNode = heapBlock(32 + sizeof(std::string) + sizeof(JsonValue));

}  // namespace

class JsonParser {
public:
    JsonParser(std::string_view text, const JsonLimits& limits) : s_(text), limits_(limits) {}

    Result<JsonValue> document() {
        if (s_.size() > limits_.maxBytes) {
            return fail(ErrorCode::InternalError, "JSON document of " + std::to_string(s_.size()) +
                                                      " bytes is larger than the limit of " +
                                                      std::to_string(limits_.maxBytes) + " bytes");
        }
        JsonValue v;
        CORRAL_TRY(charge(sizeof(JsonValue)));
        CORRAL_TRY(value(v, 0));
        skipSpace();
        if (pos_ != s_.size()) {
            return error("trailing characters after the JSON value");
        }
        return v;
    }

private:
    Unexpected error(const std::string& what) const {
        return fail(ErrorCode::InternalError, "malformed JSON at offset " + std::to_string(pos_) + ": " + what);
    }

    /// Adds `bytes` to the estimated cost of what is parsed so far; refuses past the limit.
    Result<void> charge(std::size_t bytes) {
        cost_ += bytes;
        if (cost_ > limits_.maxParsedBytes) {
            return fail(ErrorCode::InternalError,
                        "JSON document would take more than " + std::to_string(limits_.maxParsedBytes) +
                            " bytes of memory once parsed (refused at offset " + std::to_string(pos_) + " of " +
                            std::to_string(s_.size()) + ")");
        }
        return {};
    }

    /// What a string of `size` bytes costs beyond its std::string object.
    Result<void> chargeString(std::size_t size) { return size > kInlineString ? charge(heapBlock(size + 1)) : Result<void>{}; }

    void skipSpace() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
            ++pos_;
        }
    }

    bool consume(std::string_view word) {
        if (s_.substr(pos_, word.size()) == word) {
            pos_ += word.size();
            return true;
        }
        return false;
    }

    Result<void> value(JsonValue& out, int depth) {
        if (depth > limits_.maxDepth) {
            return error("nesting deeper than " + std::to_string(limits_.maxDepth));
        }
        skipSpace();
        if (pos_ >= s_.size()) {
            return error("unexpected end of input");
        }
        char c = s_[pos_];
        if (c == '{') {
            return object(out, depth);
        }
        if (c == '[') {
            return array(out, depth);
        }
        if (c == '"') {
            std::string str;
            CORRAL_TRY(string(str));
            CORRAL_TRY(chargeString(str.size()));
            out.v_ = std::move(str);
            return {};
        }
        if (consume("true")) {
            out.v_ = true;
            return {};
        }
        if (consume("false")) {
            out.v_ = false;
            return {};
        }
        if (consume("null")) {
            out.v_ = std::monostate{};
            return {};
        }
        return number(out);
    }

    Result<void> object(JsonValue& out, int depth) {
        ++pos_;
        JsonValue::Object members;
        skipSpace();
        if (pos_ < s_.size() && s_[pos_] == '}') {
            ++pos_;
            out.v_ = std::move(members);
            return {};
        }
        while (true) {
            skipSpace();
            if (pos_ >= s_.size() || s_[pos_] != '"') {
                return error("expected a member name");
            }
            std::string key;
            CORRAL_TRY(string(key));
            CORRAL_TRY(charge(kMapNode));
            CORRAL_TRY(chargeString(key.size()));
            skipSpace();
            if (pos_ >= s_.size() || s_[pos_] != ':') {
                return error("expected ':' after member name");
            }
            ++pos_;
            JsonValue v;
            CORRAL_TRY(value(v, depth + 1));
            members.insert_or_assign(std::move(key), std::move(v));
            skipSpace();
            if (pos_ < s_.size() && s_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < s_.size() && s_[pos_] == '}') {
                ++pos_;
                out.v_ = std::move(members);
                return {};
            }
            return error("expected ',' or '}' in object");
        }
    }

    Result<void> array(JsonValue& out, int depth) {
        ++pos_;
        JsonValue::Array items;
        skipSpace();
        if (pos_ < s_.size() && s_[pos_] == ']') {
            ++pos_;
            out.v_ = std::move(items);
            return {};
        }
        while (true) {
            // The vector doubles as it grows, and the old block lives until the elements are
            // moved to the new one: both count at that moment, then only the new one.
            if (items.size() == items.capacity()) {
                std::size_t old = items.capacity() == 0 ? 0 : heapBlock(items.capacity() * sizeof(JsonValue));
                CORRAL_TRY(charge(heapBlock(std::max<std::size_t>(1, items.capacity() * 2) * sizeof(JsonValue))));
                cost_ -= old;
            }
            JsonValue v;
            CORRAL_TRY(value(v, depth + 1));
            items.push_back(std::move(v));
            skipSpace();
            if (pos_ < s_.size() && s_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < s_.size() && s_[pos_] == ']') {
                ++pos_;
                out.v_ = std::move(items);
                return {};
            }
            return error("expected ',' or ']' in array");
        }
    }

    Result<unsigned> hex4() {
        if (pos_ + 4 > s_.size()) {
            return error("truncated \\u escape");
        }
        unsigned v = 0;
        for (int i = 0; i < 4; ++i) {
            char c = s_[pos_++];
            v <<= 4;
            if (c >= '0' && c <= '9') {
                v |= static_cast<unsigned>(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                v |= static_cast<unsigned>(c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                v |= static_cast<unsigned>(c - 'A' + 10);
            } else {
                return error("bad hex digit in \\u escape");
            }
        }
        return v;
    }

    Result<void> string(std::string& out) {
        ++pos_;  // opening quote
        while (pos_ < s_.size()) {
            char c = s_[pos_++];
            if (c == '"') {
                return {};
            }
            if (static_cast<unsigned char>(c) < 0x20) {
                return error("control character in string");
            }
            if (c != '\\') {
                // The run of plain characters up to the next quote, escape or control character
                // at once. JSON is UTF-8 (RFC 8259 section 8.1): a peer that sends other bytes
                // gets them replaced one by one, as WHATWG's decoder does, not passed on.
                std::size_t end = pos_;
                while (end < s_.size() && s_[end] != '"' && s_[end] != '\\' &&
                       static_cast<unsigned char>(s_[end]) >= 0x20) {
                    ++end;
                }
                appendSanitizedUtf8(out, s_.substr(pos_ - 1, end - (pos_ - 1)));
                pos_ = end;
                continue;
            }
            if (pos_ >= s_.size()) {
                break;
            }
            char e = s_[pos_++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    CORRAL_ASSIGN_OR_RETURN(unsigned cp, hex4());
                    if (cp >= 0xD800 && cp < 0xDC00 && consume("\\u")) {
                        CORRAL_ASSIGN_OR_RETURN(unsigned low, hex4());
                        if (low < 0xDC00 || low > 0xDFFF) {
                            return error("bad surrogate pair");
                        }
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    } else if (cp >= 0xD800 && cp <= 0xDFFF) {
                        // A lone surrogate has no UTF-8 form; QEMU never sends one.
                        return error("unpaired surrogate in string");
                    }
                    appendUtf8(out, cp);
                    break;
                }
                default: return error("unknown escape in string");
            }
        }
        return error("unterminated string");
    }

    // number = [ "-" ] int [ frac ] [ exp ], RFC 8259 section 6.
    Result<void> number(JsonValue& out) {
        std::size_t start = pos_;
        auto digit = [this] { return pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9'; };
        auto digits = [&] {
            std::size_t first = pos_;
            while (digit()) {
                ++pos_;
            }
            return pos_ > first;
        };
        consume("-");
        if (consume("0")) {
            if (digit()) {
                return error("leading zero in number");
            }
        } else if (!digits()) {
            pos_ = start;
            return error("unexpected character '" + std::string(1, s_[start]) + "'");
        }
        if (consume(".") && !digits()) {
            return error("digits expected after the decimal point");
        }
        if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
            ++pos_;
            if (!consume("+")) {
                consume("-");
            }
            if (!digits()) {
                return error("digits expected in the exponent");
            }
        }
        std::string text(s_.substr(start, pos_ - start));
        if (!std::isfinite(std::strtod(text.c_str(), nullptr))) {
            pos_ = start;
            return error("number out of range '" + text + "'");
        }
        CORRAL_TRY(chargeString(text.size()));
        out.v_ = JsonValue::Number{std::move(text)};
        return {};
    }

    std::string_view s_;
    const JsonLimits& limits_;
    std::size_t pos_ = 0;
    std::size_t cost_ = 0;
};

Result<JsonValue> JsonValue::parse(std::string_view text, const JsonLimits& limits) {
    return JsonParser(text, limits).document();
}

const JsonValue& JsonValue::operator[](std::string_view key) const {
    static const JsonValue kNull;
    if (const auto* obj = std::get_if<Object>(&v_)) {
        auto it = obj->find(key);
        if (it != obj->end()) {
            return it->second;
        }
    }
    return kNull;
}

bool JsonValue::has(std::string_view key) const {
    const auto* obj = std::get_if<Object>(&v_);
    return obj != nullptr && obj->find(key) != obj->end();
}

std::string JsonValue::asString(std::string fallback) const {
    const auto* s = std::get_if<std::string>(&v_);
    return s != nullptr ? *s : fallback;
}

namespace {
bool isIntegerText(const std::string& text) { return text.find_first_of(".eE") == std::string::npos; }
}  // namespace

std::int64_t JsonValue::asInt(std::int64_t fallback) const {
    const auto* n = std::get_if<Number>(&v_);
    if (n == nullptr) {
        return fallback;
    }
    if (isIntegerText(n->text)) {
        errno = 0;
        long long v = std::strtoll(n->text.c_str(), nullptr, 10);
        return errno == 0 ? v : fallback;
    }
    double d = std::strtod(n->text.c_str(), nullptr);
    return std::fabs(d) < 9.2e18 ? static_cast<std::int64_t>(d) : fallback;
}

std::uint64_t JsonValue::asUnsigned(std::uint64_t fallback) const {
    const auto* n = std::get_if<Number>(&v_);
    if (n == nullptr || n->text.starts_with('-')) {
        return fallback;
    }
    if (isIntegerText(n->text)) {
        errno = 0;
        unsigned long long v = std::strtoull(n->text.c_str(), nullptr, 10);
        return errno == 0 ? v : fallback;
    }
    double d = std::strtod(n->text.c_str(), nullptr);
    return d < 1.8e19 ? static_cast<std::uint64_t>(d) : fallback;
}

double JsonValue::asDouble(double fallback) const {
    const auto* n = std::get_if<Number>(&v_);
    return n != nullptr ? std::strtod(n->text.c_str(), nullptr) : fallback;
}

bool JsonValue::asBool(bool fallback) const {
    const auto* b = std::get_if<bool>(&v_);
    return b != nullptr ? *b : fallback;
}

const JsonValue::Array& JsonValue::items() const {
    static const Array kEmpty;
    const auto* a = std::get_if<Array>(&v_);
    return a != nullptr ? *a : kEmpty;
}

const JsonValue::Object& JsonValue::members() const {
    static const Object kEmpty;
    const auto* o = std::get_if<Object>(&v_);
    return o != nullptr ? *o : kEmpty;
}

std::string JsonValue::toJson() const {
    std::string out;
    if (isNull()) {
        return "null";
    }
    if (const auto* b = std::get_if<bool>(&v_)) {
        return *b ? "true" : "false";
    }
    if (const auto* n = std::get_if<Number>(&v_)) {
        return n->text;
    }
    if (const auto* str = std::get_if<std::string>(&v_)) {
        return jsonQuoted(*str);
    }
    if (const auto* a = std::get_if<Array>(&v_)) {
        out += '[';
        for (std::size_t i = 0; i < a->size(); ++i) {
            out += (i == 0 ? "" : ",") + (*a)[i].toJson();
        }
        return out + ']';
    }
    out += '{';
    bool first = true;
    for (const auto& [key, value] : members()) {
        out += first ? "" : ",";
        first = false;
        out += jsonQuoted(key);
        out += ':' + value.toJson();
    }
    return out + '}';
}

}  // namespace corral
