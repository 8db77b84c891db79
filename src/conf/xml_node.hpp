// SPDX-License-Identifier: LGPL-2.1-or-later
// XmlNode: an owned, copyable XML element tree. Parsing (xml_reader.cpp) refuses a DTD and any
// entity but the predefined ones; formatting is libvirt's style (2-space indent, ' quotes).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace corral::conf {

struct XmlNode {
    std::string name;  ///< with its prefix when namespaced ("qemu:commandline")
    std::vector<std::pair<std::string, std::string>> attrs;  ///< in document order
    std::vector<XmlNode> children;
    std::string text;  ///< character data of a leaf element (empty when it has children)
    int line = 0;      ///< where it started in the parsed document

    [[nodiscard]] const std::string* attr(std::string_view key) const;
    void setAttr(const std::string& key, std::string value);
    void removeAttr(std::string_view key);
    [[nodiscard]] const XmlNode* child(std::string_view childName) const;
    XmlNode* child(std::string_view childName);
    /// Child element's text, or "" when absent.
    [[nodiscard]] std::string childText(std::string_view childName) const;
    /// Attribute `key`, or `fallback` when absent.
    [[nodiscard]] std::string attrOr(std::string_view key, std::string fallback = {}) const;
    /// Attribute `key` of the first child `childName`, or "" when either is absent.
    [[nodiscard]] std::string childAttr(std::string_view childName, std::string_view key) const;

    // The lookups above record what they touch in the thread's XmlReadTracker, if one is
    // active (xml_read_tracker.hpp). Code that acts on `text` or walks `children` directly
    // records it with these.

    /// This element (its presence and text) is acted on.
    void markRead() const;
    /// Attribute `key` of this element (if present) is acted on by code that does not read it
    /// through this node: a start that records runtime facts, a parser that normalised it.
    void markAttrRead(std::string_view key) const;
    /// The same for attribute `key` of the first child `childName`.
    void markChildAttrRead(std::string_view childName, std::string_view key) const;
    /// This element and everything in it are acted on as a whole (copied through to the
    /// hypervisor, or checked in full by the caller).
    void markSubtreeRead() const;
};

/// Parses a whole UTF-8 document. `documentName` appears in error messages as libvirt does:
/// "(domain_definition):3: Opening and ending tag mismatch: ...", then the line and a caret.
/// A DOCTYPE, entities other than the five predefined ones and documents over 32 MiB are
/// refused (no XXE, no entity expansion). Comments and processing instructions are not kept;
/// namespace declarations come first among an element's attributes, and every prefix used must
/// be declared.
Result<XmlNode> parseXmlDocument(std::string_view text, std::string_view documentName);

/// Appends `node` at `indent` spaces, then a newline.
void formatXmlNode(const XmlNode& node, int indent, std::string& out);

/// Escapes text for an attribute value in single quotes, or element content.
std::string xmlEscape(std::string_view text);

}  // namespace corral::conf
