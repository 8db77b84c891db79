// SPDX-License-Identifier: LGPL-2.1-or-later
// JsonValue: a small recursive-descent parser.
#include "util/json_value.hpp"

#include "util/json.hpp"
#include "util/utf8.hpp"

#include <cstdio>

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace corral {

namespace {
constexpr int kMaxDepth = 64;
}

class JsonParser {
public:
    explicit JsonParser(std::string_view text) : s_(text) {}

    Result<JsonValue> document() {
        JsonValue v;
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
        if (depth > kMaxDepth) {
            return error("nesting deeper than " + std::to_string(kMaxDepth));
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
                out += c;
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
        out.v_ = JsonValue::Number{std::move(text)};
        return {};
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

Result<JsonValue> JsonValue::parse(std::string_view text) { return JsonParser(text).document(); }

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
