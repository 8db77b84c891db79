// SPDX-License-Identifier: LGPL-2.1-or-later
// parseXmlDocument: a strict, non-validating XML 1.0 reader (with namespaces) that builds the
// XmlNode tree directly.
//
// Corral reads its own documents (domain, network and the like) and needs no more of XML than
// elements, attributes, character data, CDATA sections, comments, processing instructions and the
// XML declaration. A DOCTYPE is refused, so there is no DTD, no user-defined entity and no external
// entity to resolve (no XXE, no entity expansion); only the five predefined entities and character
// references are read. Documents must be UTF-8, as libvirt's clients send them. Writing this
// instead of linking libxml2 keeps libxml2, and the ICU, zlib and lzma it brings, out of every
// process (1.8 MiB of resident memory in an idle corrald) and parses in one pass, with no
// intermediate tree to convert.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "conf/xml_node.hpp"
#include "util/utf8.hpp"

namespace corral::conf {

namespace {

constexpr std::size_t kMaxDocument = 32u << 20;
constexpr int kMaxDepth = 256;  // what libxml2 allows without its "huge" option

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/// XML 1.0 (fifth edition) NameStartChar and NameChar.
bool isNameStartCode(std::uint32_t cp) {
    if (cp < 0x80) {
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '_' || cp == ':';
    }
    return (cp >= 0xC0 && cp <= 0xD6) || (cp >= 0xD8 && cp <= 0xF6) || (cp >= 0xF8 && cp <= 0x2FF) ||
           (cp >= 0x370 && cp <= 0x37D) || (cp >= 0x37F && cp <= 0x1FFF) || (cp >= 0x200C && cp <= 0x200D) ||
           (cp >= 0x2070 && cp <= 0x218F) || (cp >= 0x2C00 && cp <= 0x2FEF) || (cp >= 0x3001 && cp <= 0xD7FF) ||
           (cp >= 0xF900 && cp <= 0xFDCF) || (cp >= 0xFDF0 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0xEFFFF);
}

bool isNameCode(std::uint32_t cp) {
    return isNameStartCode(cp) || (cp >= '0' && cp <= '9') || cp == '-' || cp == '.' || cp == 0xB7 ||
           (cp >= 0x300 && cp <= 0x36F) || (cp >= 0x203F && cp <= 0x2040);
}

constexpr std::string_view kXmlNamespace = "http://www.w3.org/XML/1998/namespace";

/// XML 1.0's Char production: what a document (or a character reference) may contain.
bool isXmlChar(std::uint32_t cp) {
    return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
           (cp >= 0x10000 && cp <= 0x10FFFF);
}

/// Why a document was refused: the message, and the byte offset the caret points at.
struct Refusal {
    std::string message;
    std::size_t at = 0;
    ErrorCode code = ErrorCode::XmlDetail;
};

/// One parse of one document. Each step returns false after recording why in `refusal_`.
class Reader {
public:
    explicit Reader(std::string_view text) : text_(text) {}

    bool document(XmlNode& root);
    [[nodiscard]] const Refusal& refusal() const { return refusal_; }

private:
    bool refuse(std::string message, std::size_t at, ErrorCode code = ErrorCode::XmlDetail) {
        refusal_ = {std::move(message), at, code};
        return false;
    }
    [[nodiscard]] bool at(std::string_view s) const {
        return text_.size() >= pos_ + s.size() && text_.compare(pos_, s.size(), s) == 0;
    }
    [[nodiscard]] bool atEnd() const { return pos_ >= text_.size(); }
    [[nodiscard]] char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
    bool skipSpace() {
        std::size_t start = pos_;
        while (pos_ < text_.size() && isSpace(text_[pos_])) {
            ++pos_;
        }
        return pos_ != start;
    }
    /// The character at `i` and its length in bytes (0 at the end or on malformed UTF-8).
    std::size_t codeAt(std::size_t i, std::uint32_t& cp) const {
        if (i >= text_.size()) {
            return 0;
        }
        auto b = static_cast<unsigned char>(text_[i]);
        if (b < 0x80) {
            cp = b;
            return 1;
        }
        return decodeUtf8(text_, i, cp);
    }
    [[nodiscard]] bool nameStartsAt(std::size_t i) const {
        std::uint32_t cp = 0;
        return codeAt(i, cp) != 0 && isNameStartCode(cp);
    }
    std::string_view name() {
        std::size_t start = pos_;
        std::uint32_t cp = 0;
        for (std::size_t len = 0; (len = codeAt(pos_, cp)) != 0 && (pos_ == start ? isNameStartCode(cp) : isNameCode(cp));) {
            pos_ += len;
        }
        return text_.substr(start, pos_ - start);
    }
    /// Line of `pos`; positions asked for only grow, so the document is counted once.
    int lineAt(std::size_t pos) {
        line_ += static_cast<int>(std::count(text_.begin() + static_cast<std::ptrdiff_t>(counted_),
                                             text_.begin() + static_cast<std::ptrdiff_t>(pos), '\n'));
        counted_ = pos;
        return line_;
    }

    bool declaration();
    bool declarationPart(std::string_view key, std::string& value, bool& present);
    bool characters();
    bool misc(bool& consumed);
    bool comment();
    bool processingInstruction();
    bool element(XmlNode& out, int depth);
    bool attributes(XmlNode& out, std::string_view elementName, std::vector<std::size_t>& keyAt);
    bool attributeValue(char quote, std::string& out);
    bool reference(std::string& out);
    bool content(XmlNode& out, int depth, std::size_t openedAt);
    bool namespaces(XmlNode& out, std::size_t openedAt, std::vector<std::size_t>& keyAt,
                    std::vector<std::string>& bound);
    bool resolve(std::string_view qname, bool isAttribute, std::size_t at, const std::string*& uri);

    std::string_view text_;
    std::size_t pos_ = 0;
    int line_ = 1;
    std::size_t counted_ = 0;
    /// Namespace prefix -> the URIs it is bound to in the elements open now, innermost last.
    std::unordered_map<std::string, std::vector<std::string>> bindings_;
    Refusal refusal_;
};

bool Reader::document(XmlNode& root) {
    if (at("\xEF\xBB\xBF")) {
        pos_ = 3;  // a UTF-8 byte order mark
    }
    bool declared = at("<?xml") && (pos_ + 5 >= text_.size() || isSpace(text_[pos_ + 5]) || text_[pos_ + 5] == '?');
    if (!characters()) {
        // A document declared in another encoding is refused for that, not for its first byte
        // that is not UTF-8.
        Refusal notUtf8 = refusal_;
        if (!declared || declaration() || !refusal_.message.starts_with("unsupported encoding")) {
            refusal_ = notUtf8;
        }
        return false;
    }
    if (declared && !declaration()) {
        return false;
    }
    for (bool consumed = true; consumed;) {
        if (!misc(consumed)) {
            return false;
        }
    }
    if (at("<!DOCTYPE")) {
        return refuse("a DOCTYPE is not allowed", pos_, ErrorCode::XmlError);
    }
    if (atEnd()) {
        return refuse("Document is empty", pos_);
    }
    if (peek() != '<' || !nameStartsAt(pos_ + 1)) {
        return refuse("Start tag expected, '<' not found", pos_);
    }
    if (!element(root, 1)) {
        return false;
    }
    for (bool consumed = true; consumed;) {
        if (!misc(consumed)) {
            return false;
        }
    }
    return atEnd() || refuse("Extra content at the end of the document", pos_);
}

/// One `S key Eq 'value'` of the declaration; `present` is false (and nothing consumed) when the
/// next part is not `key`.
bool Reader::declarationPart(std::string_view key, std::string& value, bool& present) {
    std::size_t before = pos_;
    present = false;
    if (!skipSpace() || !at(key)) {
        pos_ = before;
        return true;
    }
    std::size_t keyAt = pos_;
    pos_ += key.size();
    skipSpace();
    if (peek() != '=') {
        return refuse("malformed XML declaration: '=' expected after " + std::string(key), keyAt);
    }
    ++pos_;
    skipSpace();
    char quote = peek();
    std::size_t close = quote == '\'' || quote == '"' ? text_.find(quote, pos_ + 1) : std::string_view::npos;
    if (close == std::string_view::npos || close > text_.find("?>", pos_)) {
        return refuse("malformed XML declaration: the value of " + std::string(key) + " must be quoted", pos_);
    }
    value = text_.substr(pos_ + 1, close - pos_ - 1);
    pos_ = close + 1;
    present = true;
    return true;
}

/// `<?xml version='1.x' [encoding='...'] [standalone='yes|no']?>`, in that order. Only UTF-8
/// (or its ASCII subset) is read.
bool Reader::declaration() {
    std::size_t start = pos_;
    pos_ += 5;
    std::string version, encoding, standalone;
    bool hasVersion = false, hasEncoding = false, hasStandalone = false;
    if (!declarationPart("version", version, hasVersion)) {
        return false;
    }
    if (!hasVersion) {
        return refuse("Malformed declaration expecting version", start);
    }
    if (!declarationPart("encoding", encoding, hasEncoding) || !declarationPart("standalone", standalone, hasStandalone)) {
        return false;
    }
    skipSpace();
    if (!at("?>")) {
        return refuse("malformed XML declaration: '?>' expected (version, encoding and standalone, in that order)",
                      pos_);
    }
    pos_ += 2;
    if (version.size() < 3 || !version.starts_with("1.") ||
        version.find_first_not_of("0123456789", 2) != std::string::npos) {
        return refuse("unsupported XML version '" + version + "'", start);
    }
    std::string lower = encoding;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
    if (hasEncoding && lower != "utf-8" && lower != "utf8" && lower != "us-ascii" && lower != "ascii") {
        return refuse("unsupported encoding '" + encoding + "': documents must be UTF-8", start);
    }
    if (hasStandalone && standalone != "yes" && standalone != "no") {
        return refuse("standalone accepts only 'yes' or 'no'", start);
    }
    return true;
}

/// Checks that the whole document is UTF-8 made of characters XML allows.
bool Reader::characters() {
    for (std::size_t i = 0; i < text_.size();) {
        auto b = static_cast<unsigned char>(text_[i]);
        if (b >= 0x20 && b < 0x80) {
            ++i;
            continue;
        }
        std::uint32_t cp = 0;
        std::size_t len = decodeUtf8(text_, i, cp);
        if (len == 0) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02X", b);
            return refuse(std::string("Input is not proper UTF-8 (byte ") + hex + "): documents must be UTF-8", i);
        }
        if (!isXmlChar(cp)) {
            char code[12];
            std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(cp));
            return refuse(std::string("character ") + code + " is not allowed in XML", i);
        }
        i += len;
    }
    return true;
}

/// Whitespace, a comment or a processing instruction outside the root element.
bool Reader::misc(bool& consumed) {
    consumed = skipSpace();
    if (at("<!--")) {
        consumed = true;
        return comment();
    }
    if (at("<?")) {
        consumed = true;
        return processingInstruction();
    }
    return true;
}

bool Reader::comment() {
    std::size_t start = pos_;
    std::size_t dashes = text_.find("--", pos_ + 4);
    if (dashes == std::string_view::npos) {
        return refuse("Comment not terminated", start);
    }
    if (dashes + 2 >= text_.size() || text_[dashes + 2] != '>') {
        return refuse("'--' is not allowed inside a comment", dashes);
    }
    pos_ = dashes + 3;
    return true;
}

bool Reader::processingInstruction() {
    std::size_t start = pos_;
    pos_ += 2;
    std::string_view target = name();
    if (target.empty()) {
        return refuse("processing instruction has no target name", pos_);
    }
    if (target.size() == 3 && (target[0] | 0x20) == 'x' && (target[1] | 0x20) == 'm' && (target[2] | 0x20) == 'l') {
        return refuse("XML declaration allowed only at the start of the document", start);
    }
    if (target.find(':') != std::string_view::npos) {
        return refuse("processing instruction target '" + std::string(target) + "' contains a colon", start + 2);
    }
    std::size_t end = text_.find("?>", pos_);
    if (end == std::string_view::npos) {
        return refuse("processing instruction not terminated", start);
    }
    if (end != pos_ && !isSpace(peek())) {
        return refuse("malformed processing instruction '" + std::string(target) + "'", pos_);
    }
    pos_ = end + 2;
    return true;
}

bool Reader::element(XmlNode& out, int depth) {
    std::size_t openedAt = pos_;
    if (depth > kMaxDepth) {
        return refuse("Excessive depth in document: elements nest deeper than " + std::to_string(kMaxDepth), openedAt);
    }
    out.line = lineAt(pos_);
    ++pos_;
    std::string_view elementName = name();
    out.name = elementName;
    std::vector<std::size_t> keyAt;
    if (!attributes(out, elementName, keyAt)) {
        return false;
    }
    std::vector<std::string> bound;
    bool ok = namespaces(out, openedAt, keyAt, bound);
    if (ok && at("/>")) {
        pos_ += 2;
    } else if (ok) {
        ++pos_;  // '>'
        ok = content(out, depth, openedAt);
    }
    for (const auto& prefix : bound) {
        auto it = bindings_.find(prefix);
        it->second.pop_back();
        if (it->second.empty()) {
            bindings_.erase(it);
        }
    }
    return ok;
}

/// The attributes of a start tag, up to (not past) its closing '>' or '/>'; `keyAt` gets where
/// each name starts.
bool Reader::attributes(XmlNode& out, std::string_view elementName, std::vector<std::size_t>& keyAt) {
    std::unordered_set<std::string_view> seen;  // filled only for long attribute lists
    for (;;) {
        bool spaced = skipSpace();
        if (at(">") || at("/>")) {
            return true;
        }
        if (atEnd()) {
            return refuse("Couldn't find end of Start Tag " + std::string(elementName), pos_);
        }
        std::size_t nameAt = pos_;
        std::string_view key = name();
        if (key.empty()) {
            return refuse("malformed start tag <" + std::string(elementName) + ">: expected an attribute name, '>' or '/>'",
                          nameAt);
        }
        if (!spaced) {
            return refuse("attributes construct error: no space before attribute " + std::string(key), nameAt);
        }
        skipSpace();
        if (peek() != '=') {
            return refuse("Specification mandates value for attribute " + std::string(key), pos_);
        }
        ++pos_;
        skipSpace();
        char quote = peek();
        if (quote != '\'' && quote != '"') {
            return refuse("AttValue: \" or ' expected for attribute " + std::string(key), pos_);
        }
        ++pos_;
        std::string value;
        if (!attributeValue(quote, value)) {
            return false;
        }
        // A linear look is faster for the few attributes elements have; a set keeps a start tag
        // with a million of them from taking hours.
        if (out.attrs.size() == 16) {
            for (const auto& [k, v] : out.attrs) {
                seen.insert(k);
            }
        }
        bool repeated = out.attrs.size() < 16 ? out.attr(key) != nullptr : !seen.insert(key).second;
        if (repeated) {
            return refuse("Attribute " + std::string(key) + " redefined", nameAt);
        }
        out.attrs.emplace_back(std::string(key), std::move(value));
        keyAt.push_back(nameAt);
    }
}

/// An attribute value after its opening quote, through the closing one. Literal tabs and line
/// breaks become spaces (XML's attribute-value normalisation); character references keep them.
bool Reader::attributeValue(char quote, std::string& out) {
    for (;;) {
        std::size_t stop = text_.find_first_of(quote == '\'' ? "'<&\t\n" : "\"<&\t\n", pos_);
        if (stop == std::string_view::npos) {
            return refuse("AttValue: attribute value not terminated", pos_);
        }
        out.append(text_.substr(pos_, stop - pos_));
        pos_ = stop;
        switch (text_[pos_]) {
            case '<': return refuse("Unescaped '<' not allowed in attributes values", pos_);
            case '&':
                if (!reference(out)) {
                    return false;
                }
                break;
            case '\t':
            case '\n':
                out += ' ';
                ++pos_;
                break;
            default:
                ++pos_;  // the closing quote
                return true;
        }
    }
}

/// `&lt;` and the other predefined entities, `&#65;` and `&#x41;`. Any other name is refused:
/// with no DTD there is nothing it could refer to.
bool Reader::reference(std::string& out) {
    std::size_t start = pos_;
    ++pos_;
    if (peek() == '#') {
        ++pos_;
        bool hex = peek() == 'x';
        pos_ += hex ? 1 : 0;
        std::size_t digitsAt = pos_;
        std::uint32_t cp = 0;
        for (char c = peek();; c = peek()) {
            int d = c >= '0' && c <= '9'             ? c - '0'
                    : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                  : -1;
            if (d < 0) {
                break;
            }
            cp = std::min<std::uint32_t>(cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(d), 0x110000);
            ++pos_;
        }
        if (pos_ == digitsAt || peek() != ';' || !isXmlChar(cp)) {
            return refuse("invalid character reference " + std::string(text_.substr(start, std::min<std::size_t>(pos_ - start + 1, 24))),
                          start);
        }
        ++pos_;
        appendUtf8(out, cp);
        return true;
    }
    std::string_view entity = name();
    if (entity.empty() || peek() != ';') {
        return refuse("EntityRef: expecting ';' (write &amp; for a literal '&')", start);
    }
    ++pos_;
    static constexpr std::pair<std::string_view, char> kPredefined[] = {
        {"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"apos", '\''}, {"quot", '"'}};
    for (const auto& [predefined, c] : kPredefined) {
        if (entity == predefined) {
            out += c;
            return true;
        }
    }
    return refuse("Entity '" + std::string(entity) +
                      "' not defined: only &lt; &gt; &amp; &apos; &quot; and character references are allowed",
                  start);
}

/// What lies between a start tag and its end tag, which it consumes.
bool Reader::content(XmlNode& out, int depth, std::size_t openedAt) {
    std::string text;
    for (;;) {
        std::size_t stop = text_.find_first_of("<&]", pos_);
        if (stop == std::string_view::npos) {
            pos_ = text_.size();
            return refuse("Premature end of data in tag " + out.name + " line " + std::to_string(out.line), openedAt);
        }
        text.append(text_.substr(pos_, stop - pos_));
        pos_ = stop;
        if (peek() == '&') {
            if (!reference(text)) {
                return false;
            }
        } else if (peek() == ']') {
            if (at("]]>")) {
                return refuse("Sequence ']]>' not allowed in content", pos_);
            }
            text += ']';
            ++pos_;
        } else if (at("</")) {
            std::size_t nameAt = pos_ + 2;
            pos_ = nameAt;
            std::string_view closing = name();
            skipSpace();
            if (closing.empty()) {
                return refuse("expected the name of the element to close, </" + out.name + ">", nameAt);
            }
            if (closing != out.name) {
                return refuse("Opening and ending tag mismatch: " + out.name + " line " + std::to_string(out.line) +
                                  " and " + std::string(closing),
                              nameAt);
            }
            if (peek() != '>') {
                return refuse("expected '>' to end the tag </" + out.name + ">", pos_);
            }
            ++pos_;
            break;
        } else if (at("<!--")) {
            if (!comment()) {
                return false;
            }
        } else if (at("<![CDATA[")) {
            std::size_t end = text_.find("]]>", pos_ + 9);
            if (end == std::string_view::npos) {
                return refuse("CData section not terminated", pos_);
            }
            text.append(text_.substr(pos_ + 9, end - pos_ - 9));
            pos_ = end + 3;
        } else if (at("<?")) {
            if (!processingInstruction()) {
                return false;
            }
        } else if (nameStartsAt(pos_ + 1)) {
            if (!element(out.children.emplace_back(), depth + 1)) {
                return false;
            }
        } else {
            return refuse("StartTag: invalid element name", pos_ + 1);
        }
    }
    // Whitespace between child elements (and inside empty ones) is layout, not content; text
    // mixed with elements is not kept, as libvirt's documents have none.
    if (out.children.empty() && text.find_first_not_of(" \t\r\n") != std::string::npos) {
        out.text = std::move(text);
    }
    return true;
}

/// Brings this element's `xmlns` declarations into scope (recording each prefix in `bound` for
/// the caller to unbind), moves them before its other attributes (where libvirt's documents have
/// them), and checks the names it uses: every prefix declared, no attribute twice under two
/// prefixes of one namespace, the reserved prefixes left alone.
bool Reader::namespaces(XmlNode& out, std::size_t openedAt, std::vector<std::size_t>& keyAt,
                        std::vector<std::string>& bound) {
    auto isDeclaration = [](const std::string& key) { return key == "xmlns" || key.starts_with("xmlns:"); };
    if (std::any_of(out.attrs.begin(), out.attrs.end(), [&](const auto& a) { return isDeclaration(a.first); })) {
        std::vector<std::size_t> order(out.attrs.size());
        for (std::size_t i = 0; i < order.size(); ++i) {
            order[i] = i;
        }
        std::stable_partition(order.begin(), order.end(),
                              [&](std::size_t i) { return isDeclaration(out.attrs[i].first); });
        std::vector<std::pair<std::string, std::string>> attrs;
        std::vector<std::size_t> positions;
        attrs.reserve(order.size());
        positions.reserve(order.size());
        for (std::size_t i : order) {
            attrs.push_back(std::move(out.attrs[i]));
            positions.push_back(keyAt[i]);
        }
        out.attrs = std::move(attrs);
        keyAt = std::move(positions);
    }

    std::size_t declarations = 0;
    for (; declarations < out.attrs.size() && isDeclaration(out.attrs[declarations].first); ++declarations) {
        const auto& [key, uri] = out.attrs[declarations];
        std::size_t at = keyAt[declarations];
        if (key == "xmlns") {
            if (uri == kXmlNamespace) {
                return refuse("the xml namespace cannot be the default namespace", at);
            }
            continue;
        }
        std::string prefix = key.substr(6);
        if (prefix.empty() || prefix.find(':') != std::string::npos || prefix == "xmlns") {
            return refuse("malformed namespace declaration " + key, at);
        }
        if ((prefix == "xml") != (uri == kXmlNamespace)) {
            return refuse("the prefix xml belongs to " + std::string(kXmlNamespace) + " and nothing else", at);
        }
        if (uri.empty()) {
            return refuse("xmlns:" + prefix + ": an empty URI cannot be bound to a prefix", at);
        }
        bindings_[prefix].push_back(uri);
        bound.push_back(prefix);
    }
    const std::string* uri = nullptr;
    if (!resolve(out.name, false, openedAt + 1, uri)) {
        return false;
    }
    std::unordered_set<std::string> expanded;  // namespace URI, then the local name (no allocation while empty)
    for (std::size_t i = declarations; i < out.attrs.size(); ++i) {
        const std::string& key = out.attrs[i].first;
        if (!resolve(key, true, keyAt[i], uri)) {
            return false;
        }
        if (uri == nullptr) {
            continue;  // unprefixed: in no namespace, told apart by the duplicate check already
        }
        std::string local = key.substr(key.find(':') + 1);
        if (!expanded.insert(*uri + '\n' + local).second) {
            return refuse("Attribute " + local + " in namespace " + *uri + " redefined", keyAt[i]);
        }
    }
    return true;
}

/// Sets `uri` to the namespace of a prefixed name, or nullptr for a name without a prefix;
/// false when the prefix is not declared or the name is not a qualified name.
bool Reader::resolve(std::string_view qname, bool isAttribute, std::size_t at, const std::string*& uri) {
    static const std::string kXml(kXmlNamespace);
    uri = nullptr;
    std::size_t colon = qname.find(':');
    if (colon == std::string_view::npos) {
        return true;
    }
    std::string prefix(qname.substr(0, colon));
    std::string_view local = qname.substr(colon + 1);
    std::uint32_t first = 0;
    if (prefix.empty() || local.find(':') != std::string_view::npos || decodeUtf8(local, 0, first) == 0 ||
        !isNameStartCode(first)) {
        return refuse("malformed name '" + std::string(qname) + "'", at);
    }
    if (prefix == "xml") {
        uri = &kXml;
        return true;
    }
    auto it = bindings_.find(prefix);
    if (it == bindings_.end()) {
        return refuse("Namespace prefix " + prefix + (isAttribute ? " for " : " on ") + std::string(local) +
                          " is not defined",
                      at);
    }
    uri = &it->second.back();
    return true;
}

/// Line breaks as XML reads them: CR LF and a lone CR become LF before anything else is looked at.
std::string_view normalizedLineBreaks(std::string_view text, std::string& storage) {
    if (text.find('\r') == std::string_view::npos) {
        return text;
    }
    storage.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r') {
            storage += '\n';
            if (i + 1 < text.size() && text[i + 1] == '\n') {
                ++i;
            }
        } else {
            storage += text[i];
        }
    }
    return storage;
}

/// "NAME:LINE: what\n<the line>\n-----^", the form libvirt gives libxml2's errors: the caret
/// under the byte where reading stopped, tabs kept so it lines up, and on a long line only the
/// 80 bytes before that place and the 80 after.
std::string describe(std::string_view text, std::string_view documentName, const Refusal& refusal) {
    constexpr std::size_t kContext = 80;
    std::size_t at = std::min(refusal.at, text.size());
    std::size_t lineStart = 0;
    if (at > 0 && text.rfind('\n', at - 1) != std::string_view::npos) {
        lineStart = text.rfind('\n', at - 1) + 1;
    }
    auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(lineStart), '\n');
    std::size_t lineEnd = std::min(text.find('\n', lineStart), text.size());
    auto isContinuation = [&](std::size_t i) { return i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80; };
    std::size_t from = at - lineStart > kContext ? at - kContext : lineStart;
    while (from < at && isContinuation(from)) {
        ++from;  // never start in the middle of a character
    }
    std::size_t to = lineEnd - at > kContext ? at + kContext : lineEnd;
    while (to > at && isContinuation(to)) {
        --to;
    }
    std::string msg = std::string(documentName) + ":" + std::to_string(line) + ": " + refusal.message;
    if (to > from) {
        std::string caret;
        for (std::size_t i = from; i < at; ++i) {
            if (!isContinuation(i)) {
                caret += text[i] == '\t' ? '\t' : '-';
            }
        }
        msg += "\n" + std::string(text.substr(from, to - from)) + "\n" + caret + "^";
    }
    return msg;
}

}  // namespace

Result<XmlNode> parseXmlDocument(std::string_view text, std::string_view documentName) {
    if (text.size() > kMaxDocument) {
        return fail(ErrorCode::XmlError, std::string(documentName) + ": document is larger than 32 MiB");
    }
    std::string storage;
    std::string_view normalized = normalizedLineBreaks(text, storage);
    Reader reader(normalized);
    XmlNode root;
    if (!reader.document(root)) {
        const Refusal& refusal = reader.refusal();
        if (refusal.code == ErrorCode::XmlError) {
            return fail(ErrorCode::XmlError, std::string(documentName) + ": " + refusal.message);
        }
        return fail(ErrorCode::XmlDetail, describe(normalized, documentName, refusal), ErrorDomain::Xml);
    }
    return root;
}

}  // namespace corral::conf
