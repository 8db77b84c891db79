// SPDX-License-Identifier: LGPL-2.1-or-later
// Parsing and matching of access rules (format in rules.hpp and docs/access.md).
#include "access/rules.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "util/files.hpp"

namespace corral::access {

namespace {

bool glob(const std::string& pattern, const std::string& text) {
    // No FNM_PATHNAME or FNM_PERIOD: '/' and '.' in DNs and names are ordinary characters.
    return fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

unsigned bitOf(OperationClass cls) {
    return 1u << static_cast<unsigned>(cls);
}

/// One word of a rule line: `allow`, `any` or `key=value` (value unquoted).
struct Token {
    std::string key;
    bool hasValue = false;
    std::string value;
    std::string raw;  ///< as written, for messages
};

class LineParser {
public:
    LineParser(std::string_view path, int line) : path_(path), line_(line) {}

    Unexpected error(const std::string& what) const {
        return fail(ErrorCode::ConfSyntax,
                    std::string(path_) + ":" + std::to_string(line_) + ": " + what,
                    ErrorDomain::Access);
    }

    /// Splits a line into tokens; a '#' at the start of a word ends the line.
    Result<std::vector<Token>> tokenize(std::string_view text) const {
        std::vector<Token> tokens;
        std::size_t p = 0;
        auto isBlank = [&](std::size_t i) { return text[i] == ' ' || text[i] == '\t'; };
        while (true) {
            while (p < text.size() && isBlank(p)) {
                ++p;
            }
            if (p == text.size() || text[p] == '#') {
                return tokens;
            }
            std::size_t start = p;
            Token token;
            while (p < text.size() && !isBlank(p) && text[p] != '=') {
                if (text[p] == '"') {
                    return error("unexpected '\"' in '" + std::string(wordAt(text, start)) + "'");
                }
                token.key += text[p++];
            }
            if (p < text.size() && text[p] == '=') {
                token.hasValue = true;
                ++p;
                if (p < text.size() && text[p] == '"') {
                    CORRAL_TRY(readQuoted(text, start, p, token.value));
                    if (p < text.size() && !isBlank(p)) {
                        return error("text after the closing quote in '" +
                                     std::string(wordAt(text, start)) + "'");
                    }
                } else {
                    while (p < text.size() && !isBlank(p)) {
                        if (text[p] == '"') {
                            return error("unexpected '\"' in '" + std::string(wordAt(text, start)) +
                                         "': quote the whole value");
                        }
                        token.value += text[p++];
                    }
                }
            }
            token.raw = std::string(text.substr(start, p - start));
            tokens.push_back(std::move(token));
        }
    }

    Result<AccessRule> parse(const std::vector<Token>& tokens) const {
        AccessRule rule;
        rule.line = line_;
        const Token& first = tokens.front();
        if (!first.hasValue && first.key == "allow") {
            rule.action = AccessRule::Action::Allow;
        } else if (!first.hasValue && first.key == "deny") {
            rule.action = AccessRule::Action::Deny;
        } else {
            return error("a rule starts with 'allow' or 'deny', not '" + first.raw + "'");
        }
        std::vector<std::string> seen;
        bool haveOps = false;
        for (std::size_t i = 1; i < tokens.size(); ++i) {
            const Token& t = tokens[i];
            if (std::find(seen.begin(), seen.end(), t.key) != seen.end()) {
                return error("'" + t.key + "' given twice in one rule (at '" + t.raw +
                             "'): write a second rule instead");
            }
            seen.push_back(t.key);
            if (!t.hasValue) {
                if (t.key != "any") {
                    return error("unknown word '" + t.raw + "': expected 'any' or key=value");
                }
                rule.who.push_back(IdentityMatcher{});
                continue;
            }
            if (t.value.empty()) {
                return error("empty value in '" + t.raw + "'");
            }
            if (t.key == "ops") {
                CORRAL_ASSIGN_OR_RETURN(rule.ops, parseOps(t));
                haveOps = true;
            } else if (t.key == "domains") {
                CORRAL_ASSIGN_OR_RETURN(rule.domains, splitList(t));
            } else {
                CORRAL_ASSIGN_OR_RETURN(IdentityMatcher m, parseMatcher(t));
                rule.who.push_back(std::move(m));
            }
        }
        if (rule.who.empty()) {
            return error(
                "the rule names nobody: add unix-user=, unix-group=, unix-uid=, sasl=, "
                "x509=, transport=, readonly= or 'any'");
        }
        if (rule.who.size() > 1 &&
            std::any_of(rule.who.begin(), rule.who.end(), [](const IdentityMatcher& m) {
                return m.kind == IdentityMatcher::Kind::Any;
            })) {
            return error("'any' cannot be combined with other identity matchers");
        }
        if (!haveOps) {
            return error("the rule has no ops= (use ops=* for every operation)");
        }
        return rule;
    }

private:
    static std::string_view wordAt(std::string_view text, std::size_t start) {
        std::size_t end = text.find_first_of(" \t", start);
        return text.substr(start,
                           end == std::string_view::npos ? std::string_view::npos : end - start);
    }

    Result<void> readQuoted(std::string_view text, std::size_t start, std::size_t& p,
                            std::string& out) const {
        ++p;  // the opening quote
        while (p < text.size()) {
            char c = text[p++];
            if (c == '"') {
                return {};
            }
            if (c == '\\') {
                if (p == text.size() || (text[p] != '"' && text[p] != '\\')) {
                    return error("only \\\" and \\\\ may follow a backslash in '" +
                                 std::string(text.substr(start)) + "'");
                }
                c = text[p++];
            }
            out += c;
        }
        return error("unterminated quote in '" + std::string(text.substr(start)) + "'");
    }

    Result<std::vector<std::string>> splitList(const Token& t) const {
        std::vector<std::string> items;
        std::size_t from = 0;
        while (true) {
            std::size_t comma = t.value.find(',', from);
            std::string item =
                t.value.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
            if (item.empty()) {
                return error("empty item in the list '" + t.raw + "'");
            }
            items.push_back(std::move(item));
            if (comma == std::string::npos) {
                return items;
            }
            from = comma + 1;
        }
    }

    Result<unsigned> parseOps(const Token& t) const {
        CORRAL_ASSIGN_OR_RETURN(std::vector<std::string> words, splitList(t));
        unsigned ops = 0;
        for (const std::string& word : words) {
            if (word == "*") {
                for (OperationClass cls :
                     {OperationClass::Read, OperationClass::Lifecycle, OperationClass::Config,
                      OperationClass::Console, OperationClass::Admin}) {
                    ops |= bitOf(cls);
                }
                continue;
            }
            auto cls = parseOperationClass(word);
            if (!cls) {
                return error("unknown operation class '" + word + "' in '" + t.raw +
                             "': expected read, lifecycle, config, console, admin or *");
            }
            ops |= bitOf(*cls);
        }
        return ops;
    }

    Result<IdentityMatcher> parseMatcher(const Token& t) const {
        using Kind = IdentityMatcher::Kind;
        IdentityMatcher m;
        m.pattern = t.value;
        if (t.key == "unix-user") {
            m.kind = Kind::UnixUser;
        } else if (t.key == "unix-group") {
            m.kind = Kind::UnixGroup;
        } else if (t.key == "sasl") {
            m.kind = Kind::Sasl;
        } else if (t.key == "x509") {
            m.kind = Kind::X509;
        } else if (t.key == "unix-uid") {
            m.kind = Kind::UnixUid;
            const char* end = t.value.data() + t.value.size();
            auto [ptr, ec] = std::from_chars(t.value.data(), end, m.id);
            if (ec != std::errc() || ptr != end) {
                return error("'" + t.value + "' is not a uid in '" + t.raw + "'");
            }
        } else if (t.key == "transport") {
            m.kind = Kind::Transport;
            auto transport = parseTransport(t.value);
            if (!transport) {
                return error("unknown transport '" + t.value + "' in '" + t.raw +
                             "': expected unix, tcp, tls or ssh");
            }
            m.transport = *transport;
        } else if (t.key == "readonly") {
            m.kind = Kind::ReadOnly;
            if (t.value != "yes" && t.value != "no") {
                return error("'" + t.raw + "' must be readonly=yes or readonly=no");
            }
            m.readOnly = t.value == "yes";
        } else {
            return error("unknown key '" + t.key + "' in '" + t.raw + "'");
        }
        return m;
    }

    std::string_view path_;
    int line_;
};

}  // namespace

bool IdentityMatcher::matches(const Identity& identity) const {
    switch (kind) {
        case Kind::Any:
            return true;
        case Kind::UnixUser:
            return !identity.unixUser.empty() && glob(pattern, identity.unixUser);
        case Kind::UnixGroup:
            return std::any_of(identity.unixGroups.begin(), identity.unixGroups.end(),
                               [&](const std::string& g) { return glob(pattern, g); });
        case Kind::UnixUid:
            return identity.uid && *identity.uid == id;
        case Kind::Sasl:
            return !identity.saslUser.empty() && glob(pattern, identity.saslUser);
        case Kind::X509:
            return !identity.x509Dn.empty() && glob(pattern, identity.x509Dn);
        case Kind::Transport:
            return identity.transport == transport;
        case Kind::ReadOnly:
            return identity.readOnly == readOnly;
    }
    return false;
}

bool AccessRule::coversOperation(OperationClass cls) const {
    return (ops & bitOf(cls)) != 0;
}

bool AccessRule::coversDomain(std::optional<std::string_view> domain) const {
    if (domains.empty()) {
        return true;
    }
    if (!domain) {
        return std::find(domains.begin(), domains.end(), "*") != domains.end();
    }
    std::string name(*domain);
    return std::any_of(domains.begin(), domains.end(),
                       [&](const std::string& g) { return glob(g, name); });
}

bool AccessRules::usesUnixNames() const {
    for (const AccessRule& rule : rules) {
        for (const IdentityMatcher& m : rule.who) {
            if (m.kind == IdentityMatcher::Kind::UnixUser ||
                m.kind == IdentityMatcher::Kind::UnixGroup) {
                return true;
            }
        }
    }
    return false;
}

Result<AccessRules> parseAccessRules(std::string_view text, std::string_view pathForMessages) {
    AccessRules result;
    result.path = std::string(pathForMessages);
    int lineNo = 0;
    std::size_t from = 0;
    while (from <= text.size()) {
        std::size_t nl = text.find('\n', from);
        std::string_view line =
            text.substr(from, nl == std::string_view::npos ? std::string_view::npos : nl - from);
        from = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
        ++lineNo;
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        LineParser parser(pathForMessages, lineNo);
        CORRAL_ASSIGN_OR_RETURN(std::vector<Token> tokens, parser.tokenize(line));
        if (tokens.empty()) {
            continue;
        }
        CORRAL_ASSIGN_OR_RETURN(AccessRule rule, parser.parse(tokens));
        result.rules.push_back(std::move(rule));
    }
    return result;
}

Result<AccessRules> loadAccessRules(const std::string& path) {
    CORRAL_ASSIGN_OR_RETURN(std::string text,
                            readTextFile(path).withContext("cannot load access rules"));
    return parseAccessRules(text, path);
}

}  // namespace corral::access
