// SPDX-License-Identifier: LGPL-2.1-or-later
// XmlNode: lookups on the owned element tree, and libvirt-style formatting. The parser is
// xml_reader.cpp.
#include "conf/xml_node.hpp"

#include "conf/xml_read_tracker.hpp"

namespace corral::conf {

const std::string* XmlNode::attr(std::string_view key) const {
    for (std::size_t i = 0; i < attrs.size(); ++i) {
        if (attrs[i].first == key) {
            XmlReadTracker::noteAttr(*this, i);
            return &attrs[i].second;
        }
    }
    XmlReadTracker::noteNode(*this);  // asked and found absent: the element was still looked at
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
    XmlReadTracker::noteNode(*this);
    for (const auto& c : children) {
        if (c.name == childName) {
            XmlReadTracker::noteNode(c);
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

void XmlNode::markRead() const { XmlReadTracker::noteNode(*this); }

void XmlNode::markAttrRead(std::string_view key) const { (void)attr(key); }

void XmlNode::markChildAttrRead(std::string_view childName, std::string_view key) const {
    if (const XmlNode* c = child(childName)) {
        c->markAttrRead(key);
    }
}

void XmlNode::markSubtreeRead() const {
    XmlReadTracker::noteNode(*this);
    for (std::size_t i = 0; i < attrs.size(); ++i) {
        XmlReadTracker::noteAttr(*this, i);
    }
    for (const auto& c : children) {
        c.markSubtreeRead();
    }
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
