// SPDX-License-Identifier: LGPL-2.1-or-later
// XmlNode: libxml2 parsing into an owned tree, and libvirt-style formatting.
#include "conf/xml_node.hpp"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <memory>

namespace corral::conf {

namespace {

constexpr std::size_t kMaxDocument = 32u << 20;

struct DocFree {
    void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
struct CtxtFree {
    void operator()(xmlParserCtxt* c) const { xmlFreeParserCtxt(c); }
};

std::string qualifiedName(const xmlNode* n) {
    std::string name = reinterpret_cast<const char*>(n->name);
    if (n->ns != nullptr && n->ns->prefix != nullptr) {
        name = std::string(reinterpret_cast<const char*>(n->ns->prefix)) + ":" + name;
    }
    return name;
}

Result<XmlNode> convert(const xmlNode* n, std::string_view docName) {
    XmlNode out;
    out.name = qualifiedName(n);
    out.line = static_cast<int>(xmlGetLineNo(n));
    for (const xmlNs* ns = n->nsDef; ns != nullptr; ns = ns->next) {
        std::string key = ns->prefix != nullptr
                              ? "xmlns:" + std::string(reinterpret_cast<const char*>(ns->prefix))
                              : std::string("xmlns");
        out.attrs.emplace_back(key, reinterpret_cast<const char*>(ns->href));
    }
    for (const xmlAttr* a = n->properties; a != nullptr; a = a->next) {
        xmlChar* v = xmlNodeGetContent(reinterpret_cast<const xmlNode*>(a));
        std::string key = reinterpret_cast<const char*>(a->name);
        if (a->ns != nullptr && a->ns->prefix != nullptr) {
            key = std::string(reinterpret_cast<const char*>(a->ns->prefix)) + ":" + key;
        }
        out.attrs.emplace_back(key, v != nullptr ? reinterpret_cast<const char*>(v) : "");
        xmlFree(v);
    }
    std::string text;
    for (const xmlNode* c = n->children; c != nullptr; c = c->next) {
        switch (c->type) {
            case XML_ELEMENT_NODE: {
                CORRAL_ASSIGN_OR_RETURN(XmlNode child, convert(c, docName));
                out.children.push_back(std::move(child));
                break;
            }
            case XML_TEXT_NODE:
            case XML_CDATA_SECTION_NODE:
                text += reinterpret_cast<const char*>(c->content);
                break;
            case XML_ENTITY_REF_NODE:
                return fail(ErrorCode::XmlError,
                            std::string(docName) + ":" + std::to_string(xmlGetLineNo(c)) +
                                ": entity references are not allowed");
            default:
                break;  // comments and processing instructions are not kept, as in libvirt
        }
    }
    // Whitespace between child elements (and inside empty ones) is layout, not content.
    if (out.children.empty() && text.find_first_not_of(" \t\r\n") != std::string::npos) {
        out.text = std::move(text);
    }
    return out;
}

/// The offending line of the document, for the caret display libvirt gives.
std::string lineOf(std::string_view text, int line) {
    int current = 1;
    std::size_t start = 0;
    for (std::size_t i = 0; i < text.size() && current < line; ++i) {
        if (text[i] == '\n') {
            ++current;
            start = i + 1;
        }
    }
    std::size_t end = text.find('\n', start);
    return std::string(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
}

}  // namespace

const std::string* XmlNode::attr(std::string_view key) const {
    for (const auto& [k, v] : attrs) {
        if (k == key) {
            return &v;
        }
    }
    return nullptr;
}

void XmlNode::setAttr(const std::string& key, std::string value) {
    for (auto& [k, v] : attrs) {
        if (k == key) {
            v = std::move(value);
            return;
        }
    }
    attrs.emplace_back(key, std::move(value));
}

void XmlNode::removeAttr(std::string_view key) {
    for (auto it = attrs.begin(); it != attrs.end(); ++it) {
        if (it->first == key) {
            attrs.erase(it);
            return;
        }
    }
}

const XmlNode* XmlNode::child(std::string_view childName) const {
    for (const auto& c : children) {
        if (c.name == childName) {
            return &c;
        }
    }
    return nullptr;
}

XmlNode* XmlNode::child(std::string_view childName) {
    for (auto& c : children) {
        if (c.name == childName) {
            return &c;
        }
    }
    return nullptr;
}

std::string XmlNode::childText(std::string_view childName) const {
    const XmlNode* c = child(childName);
    return c != nullptr ? c->text : std::string();
}

std::string XmlNode::attrOr(std::string_view key, std::string fallback) const {
    const std::string* v = attr(key);
    return v != nullptr ? *v : fallback;
}

std::string XmlNode::childAttr(std::string_view childName, std::string_view key) const {
    const XmlNode* c = child(childName);
    return c != nullptr ? c->attrOr(key) : std::string();
}

Result<XmlNode> parseXmlDocument(std::string_view text, std::string_view documentName) {
    if (text.size() > kMaxDocument) {
        return fail(ErrorCode::XmlError, std::string(documentName) + ": document is larger than 32 MiB");
    }
    std::unique_ptr<xmlParserCtxt, CtxtFree> ctxt(xmlNewParserCtxt());
    if (!ctxt) {
        return fail(ErrorCode::NoMemory, "cannot allocate XML parser");
    }
    // NONET: never fetch anything; no NOENT/DTDLOAD: entities are not substituted, external
    // subsets not loaded (no XXE); NOERROR/NOWARNING: we report errors ourselves.
    int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    std::unique_ptr<xmlDoc, DocFree> doc(xmlCtxtReadMemory(ctxt.get(), text.data(), static_cast<int>(text.size()),
                                                           "domain.xml", nullptr, options));
    if (!doc) {
        const xmlError* err = xmlCtxtGetLastError(ctxt.get());
        std::string msg = std::string(documentName);
        if (err != nullptr) {
            std::string what = err->message != nullptr ? err->message : "malformed document";
            while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) {
                what.pop_back();
            }
            msg += ":" + std::to_string(err->line) + ": " + what;
            std::string lineText = lineOf(text, err->line);
            if (!lineText.empty()) {
                msg += "\n" + lineText + "\n" + std::string(static_cast<std::size_t>(std::max(err->int2 - 1, 0)), '-') + "^";
            }
        } else {
            msg += ": malformed XML document";
        }
        return fail(ErrorCode::XmlDetail, msg, ErrorDomain::Xml);
    }
    if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
        return fail(ErrorCode::XmlError, std::string(documentName) + ": a DOCTYPE is not allowed");
    }
    xmlNode* root = xmlDocGetRootElement(doc.get());
    if (root == nullptr) {
        return fail(ErrorCode::XmlError, std::string(documentName) + ": document has no root element");
    }
    return convert(root, documentName);
}

std::string xmlEscape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '\'': out += "&apos;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

void formatXmlNode(const XmlNode& node, int indent, std::string& out) {
    out.append(static_cast<std::size_t>(indent), ' ');
    out += '<';
    out += node.name;
    for (const auto& [k, v] : node.attrs) {
        out += ' ';
        out += k;
        out += "='";
        out += xmlEscape(v);
        out += '\'';
    }
    if (node.children.empty()) {
        if (node.text.empty()) {
            out += "/>\n";
        } else {
            out += '>';
            out += xmlEscape(node.text);
            out += "</" + node.name + ">\n";
        }
        return;
    }
    out += ">\n";
    for (const auto& c : node.children) {
        formatXmlNode(c, indent + 2, out);
    }
    out.append(static_cast<std::size_t>(indent), ' ');
    out += "</" + node.name + ">\n";
}

}  // namespace corral::conf
