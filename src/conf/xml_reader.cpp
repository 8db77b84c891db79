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

#include "conf/xml_node.hpp"
#include "util/utf8.hpp"

namespace corral::conf {

namespace {

constexpr std::size_t kMaxDocument = 32u << 20;
constexpr int kMaxDepth = 256;  // what libxml2 allows without its "huge" option

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool isNameStart(char c) {
    auto u = static_cast<unsigned char>(c);
    return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u == '_' || u == ':' || u >= 0xC0;
}

bool isNameChar(char c) {
    auto u = static_cast<unsigned char>(c);
    return isNameStart(c) || (u >= '0' && u <= '9') || u == '-' || u == '.' || u >= 0x80;
}

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
    std::string_view name() {
        std::size_t start = pos_;
        if (pos_ < text_.size() && isNameStart(text_[pos_])) {
            while (pos_ < text_.size() && isNameChar(text_[pos_])) {
                ++pos_;
            }
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
    bool characters(std::size_t from);
    bool misc(bool& consumed);
    bool comment();
    bool processingInstruction();
    bool element(XmlNode& out, int depth);
    bool attributes(XmlNode& out, std::string_view elementName);
    bool attributeValue(char quote, std::string& out);
    bool reference(std::string& out);
    bool content(XmlNode& out, int depth, std::size_t openedAt);
    bool namespaces(XmlNode& out, std::size_t openedAt);
    bool declared(std::string_view qname, bool isAttribute, std::size_t at);

    std::string_view text_;
    std::size_t pos_ = 0;
    int line_ = 1;
    std::size_t counted_ = 0;
    std::vector<std::string> prefixes_;  ///< namespace prefixes in scope, innermost last
    Refusal refusal_;
};

bool Reader::document(XmlNode& root) {
    if (at("\xEF\xBB\xBF")) {
        pos_ = 3;  // a UTF-8 byte order mark
    }
    if (at("<?xml") && pos_ + 5 < text_.size() && isSpace(text_[pos_ + 5]) && !declaration()) {
        return false;
    }
    if (!characters(pos_)) {
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
    if (peek() != '<' || pos_ + 1 >= text_.size() || !isNameStart(text_[pos_ + 1])) {
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

/// `<?xml version=... encoding=... standalone=...?>`: only UTF-8 (or its ASCII subset) is read.
bool Reader::declaration() {
    std::size_t start = pos_;
    std::size_t end = text_.find("?>", pos_);
    if (end == std::string_view::npos) {
        return refuse("XML declaration not terminated", start);
    }
    pos_ += 5;
    bool sawVersion = false;
    while (skipSpace(), pos_ < end) {
        std::size_t keyAt = pos_;
        std::string_view key = name();
        skipSpace();
        char quote = text_[std::min(pos_ + 1, end)];
        if (key.empty() || peek() != '=' || (quote != '\'' && quote != '"')) {
            return refuse("malformed XML declaration", keyAt);
        }
        std::size_t close = text_.find(quote, pos_ + 2);
        if (close == std::string_view::npos || close >= end) {
            return refuse("malformed XML declaration", keyAt);
        }
        std::string value(text_.substr(pos_ + 2, close - pos_ - 2));
        pos_ = close + 1;
        std::string lower = value;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
        if (key == "version") {
            if (!value.starts_with("1.")) {
                return refuse("unsupported XML version '" + value + "'", keyAt);
            }
            sawVersion = true;
        } else if (key == "encoding") {
            if (lower != "utf-8" && lower != "utf8" && lower != "us-ascii" && lower != "ascii") {
                return refuse("unsupported encoding '" + value + "': documents must be UTF-8", keyAt);
            }
        } else if (key != "standalone") {
            return refuse("unknown '" + std::string(key) + "' in the XML declaration", keyAt);
        }
    }
    if (!sawVersion) {
        return refuse("Malformed declaration expecting version", start);
    }
    pos_ = end + 2;
    return true;
}

/// Checks that everything from `from` on is UTF-8 made of characters XML allows.
bool Reader::characters(std::size_t from) {
    for (std::size_t i = from; i < text_.size();) {
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
    if (!attributes(out, elementName)) {
        return false;
    }
    std::size_t scope = prefixes_.size();
    if (!namespaces(out, openedAt)) {
        return false;
    }
    bool ok = true;
    if (at("/>")) {
        pos_ += 2;
    } else {
        ++pos_;  // '>'
        ok = content(out, depth, openedAt);
    }
    prefixes_.resize(scope);
    return ok;
}

/// The attributes of a start tag, up to (not past) its closing '>' or '/>'.
bool Reader::attributes(XmlNode& out, std::string_view elementName) {
    for (;;) {
        bool spaced = skipSpace();
        if (at(">") || at("/>")) {
            return true;
        }
        if (atEnd()) {
            return refuse("Couldn't find end of Start Tag " + std::string(elementName), pos_);
        }
        std::size_t keyAt = pos_;
        std::string_view key = name();
        if (key.empty()) {
            return refuse("malformed start tag <" + std::string(elementName) + ">: expected an attribute name, '>' or '/>'",
                          keyAt);
        }
        if (!spaced) {
            return refuse("attributes construct error: no space before attribute " + std::string(key), keyAt);
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
        if (out.attr(key) != nullptr) {
            return refuse("Attribute " + std::string(key) + " redefined", keyAt);
        }
        out.attrs.emplace_back(std::string(key), std::move(value));
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
    std::size_t semi = text_.find(';', pos_);
    if (semi == std::string_view::npos || semi - pos_ > 32) {
        return refuse("EntityRef: expecting ';' (write &amp; for a literal '&')", start);
    }
    std::string_view ref = text_.substr(pos_ + 1, semi - pos_ - 1);
    pos_ = semi + 1;
    if (ref.starts_with('#')) {
        bool hex = ref.size() > 1 && ref[1] == 'x';
        std::string_view digits = ref.substr(hex ? 2 : 1);
        std::uint32_t cp = 0;
        bool ok = !digits.empty();
        for (char c : digits) {
            int d = c >= '0' && c <= '9'             ? c - '0'
                    : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                  : -1;
            ok = ok && d >= 0 && cp <= 0x10FFFF;
            cp = std::min<std::uint32_t>(cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(std::max(d, 0)), 0x110000);
        }
        if (!ok || !isXmlChar(cp)) {
            return refuse("invalid character reference &" + std::string(ref) + ";", start);
        }
        appendUtf8(out, cp);
        return true;
    }
    static constexpr std::pair<std::string_view, char> kPredefined[] = {
        {"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"apos", '\''}, {"quot", '"'}};
    for (const auto& [entity, c] : kPredefined) {
        if (ref == entity) {
            out += c;
            return true;
        }
    }
    return refuse("Entity '" + std::string(ref) +
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
        } else if (pos_ + 1 < text_.size() && isNameStart(text_[pos_ + 1])) {
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

/// Brings this element's `xmlns` declarations into scope, moves them before its other attributes
/// (where libvirt's documents have them), and checks that every prefix it uses is declared.
bool Reader::namespaces(XmlNode& out, std::size_t openedAt) {
    std::stable_partition(out.attrs.begin(), out.attrs.end(),
                          [](const auto& a) { return a.first == "xmlns" || a.first.starts_with("xmlns:"); });
    for (const auto& [key, value] : out.attrs) {
        if (key == "xmlns") {
            continue;
        }
        if (!key.starts_with("xmlns:")) {
            break;
        }
        std::string prefix = key.substr(6);
        if (prefix.empty() || prefix.find(':') != std::string::npos || prefix == "xmlns") {
            return refuse("malformed namespace declaration " + key, openedAt);
        }
        if (value.empty()) {
            return refuse("xmlns:" + prefix + ": an empty URI cannot be bound to a prefix", openedAt);
        }
        prefixes_.push_back(prefix);
    }
    if (!declared(out.name, false, openedAt)) {
        return false;
    }
    for (const auto& [key, value] : out.attrs) {
        if (key != "xmlns" && !key.starts_with("xmlns:") && !declared(key, true, openedAt)) {
            return false;
        }
    }
    return true;
}

bool Reader::declared(std::string_view qname, bool isAttribute, std::size_t at) {
    std::size_t colon = qname.find(':');
    if (colon == std::string_view::npos) {
        return true;
    }
    std::string_view prefix = qname.substr(0, colon);
    std::string_view local = qname.substr(colon + 1);
    if (prefix.empty() || local.empty() || local.find(':') != std::string_view::npos) {
        return refuse("malformed name '" + std::string(qname) + "'", at);
    }
    if (prefix == "xml" || std::find(prefixes_.begin(), prefixes_.end(), prefix) != prefixes_.end()) {
        return true;
    }
    return refuse("Namespace prefix " + std::string(prefix) + (isAttribute ? " for " : " on ") + std::string(local) +
                      " is not defined",
                  at);
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

/// "NAME:LINE: what\n<the line>\n-----^", the form libvirt gives libxml2's errors.
std::string describe(std::string_view text, std::string_view documentName, const Refusal& refusal) {
    std::size_t at = std::min(refusal.at, text.size());
    std::size_t lineStart = 0;
    if (at > 0 && text.rfind('\n', at - 1) != std::string_view::npos) {
        lineStart = text.rfind('\n', at - 1) + 1;
    }
    auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(lineStart), '\n');
    std::size_t lineEnd = text.find('\n', lineStart);
    std::string_view lineText = text.substr(lineStart, lineEnd == std::string_view::npos ? lineEnd : lineEnd - lineStart);
    std::string msg = std::string(documentName) + ":" + std::to_string(line) + ": " + refusal.message;
    if (!lineText.empty() && lineText.size() <= 1024) {
        msg += "\n" + std::string(lineText) + "\n" + std::string(at - lineStart, '-') + "^";
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
