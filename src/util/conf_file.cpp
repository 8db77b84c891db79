// SPDX-License-Identifier: LGPL-2.1-or-later
// libvirt-style configuration file parser.
#include "util/conf_file.hpp"

#include <cctype>
#include <cerrno>
#include <fstream>
#include <sstream>

#include "util/strings.hpp"

namespace corral {

namespace {

class ConfParser {
public:
    ConfParser(std::string_view text, std::string_view path) : t_(text), path_(path) {}

    Result<ConfFile> parse() {
        ConfFile file;
        file.path = std::string(path_);
        while (true) {
            skipBlanksAndComments(true);
            if (p_ >= t_.size()) {
                break;
            }
            int line = line_;
            std::string key;
            while (p_ < t_.size() && (std::isalnum(static_cast<unsigned char>(t_[p_])) || t_[p_] == '_' ||
                                      t_[p_] == '.')) {
                key += t_[p_++];
            }
            if (key.empty()) {
                return error(line, "", std::string("expected a key name, found '") + t_[p_] + "'");
            }
            skipBlanksAndComments(false);
            if (p_ >= t_.size() || t_[p_] != '=') {
                return error(line, key, "expected '=' after the key");
            }
            ++p_;
            skipBlanksAndComments(false);
            CORRAL_ASSIGN_OR_RETURN(ConfValue value, parseValue(key));
            value.line = line;
            skipBlanksAndComments(false);
            if (p_ < t_.size() && t_[p_] != '\n' && t_[p_] != ';') {
                return error(line_, key, "unexpected text after the value");
            }
            if (p_ < t_.size() && t_[p_] == ';') {
                ++p_;
            }
            file.entries.emplace_back(key, std::move(value));
        }
        return file;
    }

private:
    Unexpected error(int line, const std::string& key, const std::string& what) const {
        std::string msg = std::string(path_) + ":" + std::to_string(line) + ": ";
        if (!key.empty()) {
            msg += "key '" + key + "': ";
        }
        return fail(ErrorCode::ConfSyntax, msg + what);
    }

    void skipBlanksAndComments(bool newlines) {
        while (p_ < t_.size()) {
            char c = t_[p_];
            if (c == '#') {
                while (p_ < t_.size() && t_[p_] != '\n') {
                    ++p_;
                }
            } else if (c == ' ' || c == '\t' || c == '\r') {
                ++p_;
            } else if (c == '\n' && newlines) {
                ++line_;
                ++p_;
            } else {
                break;
            }
        }
    }

    Result<std::string> parseString(const std::string& key) {
        char quote = t_[p_++];
        std::string out;
        while (p_ < t_.size() && t_[p_] != quote) {
            if (t_[p_] == '\n') {
                return error(line_, key, "unterminated string");
            }
            out += t_[p_++];
        }
        if (p_ >= t_.size()) {
            return error(line_, key, "unterminated string");
        }
        ++p_;
        return out;
    }

    Result<ConfValue> parseValue(const std::string& key) {
        ConfValue v;
        if (p_ >= t_.size() || t_[p_] == '\n') {
            return error(line_, key, "expected a value");
        }
        char c = t_[p_];
        if (c == '"' || c == '\'') {
            v.kind = ConfValue::Kind::String;
            CORRAL_ASSIGN_OR_RETURN(v.s, parseString(key));
            return v;
        }
        if (c == '[') {
            ++p_;
            v.kind = ConfValue::Kind::List;
            while (true) {
                skipBlanksAndComments(true);
                if (p_ >= t_.size()) {
                    return error(line_, key, "unterminated list");
                }
                if (t_[p_] == ']') {
                    ++p_;
                    break;
                }
                if (t_[p_] != '"' && t_[p_] != '\'') {
                    return error(line_, key, "list elements must be quoted strings");
                }
                CORRAL_ASSIGN_OR_RETURN(std::string s, parseString(key));
                v.list.push_back(std::move(s));
                skipBlanksAndComments(true);
                if (p_ < t_.size() && t_[p_] == ',') {
                    ++p_;
                } else if (p_ < t_.size() && t_[p_] != ']') {
                    return error(line_, key, "expected ',' or ']' in list");
                }
            }
            return v;
        }
        std::string digits;
        if (c == '-' || c == '+') {
            digits += t_[p_++];
        }
        while (p_ < t_.size() && std::isdigit(static_cast<unsigned char>(t_[p_]))) {
            digits += t_[p_++];
        }
        auto n = parseSigned(digits[0] == '+' ? digits.substr(1) : digits);
        if (!n) {
            return error(line_, key, "expected a number, a quoted string or a list");
        }
        v.kind = ConfValue::Kind::Int;
        v.i = *n;
        return v;
    }

    std::string_view t_;
    std::string_view path_;
    std::size_t p_ = 0;
    int line_ = 1;
};

}  // namespace

Result<ConfFile> parseConfText(std::string_view text, std::string_view pathForMessages) {
    return ConfParser(text, pathForMessages).parse();
}

Result<ConfFile> readConfFile(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        if (errno == ENOENT) {
            ConfFile empty;
            empty.path = path;
            return empty;
        }
        return failErrno(errno, "cannot read configuration file '" + path + "'");
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return parseConfText(ss.str(), path);
}

}  // namespace corral
