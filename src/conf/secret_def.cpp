// SPDX-License-Identifier: LGPL-2.1-or-later
// Parsing and formatting of <secret> definitions (libvirt's secret XML format).
#include "conf/secret_def.hpp"

#include "conf/xml_node.hpp"
#include "conf/xml_read_tracker.hpp"
#include "util/strings.hpp"

namespace corral::conf {

namespace {

Unexpected xmlError(const std::string& message) { return fail(ErrorCode::XmlError, message, ErrorDomain::Secret); }

struct UsageKind {
    SecretUsage usage;
    std::string_view name;
    std::string_view idElement;  ///< the child of <usage> that holds the usage's key
};

constexpr UsageKind kUsages[] = {
    {SecretUsage::Volume, "volume", "volume"}, {SecretUsage::Ceph, "ceph", "name"},
    {SecretUsage::Iscsi, "iscsi", "target"},   {SecretUsage::Tls, "tls", "name"},
    {SecretUsage::Vtpm, "vtpm", "name"},
};

Result<bool> parseYesNo(const XmlNode& root, std::string_view attr) {
    const std::string value = root.attrOr(attr, "no");
    if (value != "yes" && value != "no") {
        return xmlError("<secret " + std::string(attr) + "='" + value + "'>: expected 'yes' or 'no'");
    }
    return value == "yes";
}

Result<void> parseUsage(const XmlNode& node, SecretDef& def) {
    const std::string type = node.attrOr("type");
    for (const auto& kind : kUsages) {
        if (kind.name != type) {
            continue;
        }
        const XmlNode* id = node.child(kind.idElement);
        std::string value = id == nullptr ? std::string() : std::string(trimString(id->text));
        if (value.empty()) {
            return xmlError("<usage type='" + type + "'> needs a non-empty <" + std::string(kind.idElement) + ">");
        }
        def.usage = kind.usage;
        def.usageId = std::move(value);
        return {};
    }
    if (type.empty()) {
        return xmlError("<usage> needs a type attribute");
    }
    return fail(ErrorCode::ConfigUnsupported, "<usage type='" + type + "'>: unknown secret usage type",
                ErrorDomain::Secret);
}

}  // namespace

std::string_view secretUsageName(SecretUsage usage) {
    for (const auto& kind : kUsages) {
        if (kind.usage == usage) {
            return kind.name;
        }
    }
    return "none";
}

Result<std::unique_ptr<SecretDef>> parseSecretXml(std::string_view xml) {
    CORRAL_ASSIGN_OR_RETURN(XmlNode root, parseXmlDocument(xml, "(secret_definition)"));
    if (root.name != "secret") {
        return xmlError("expected root element <secret>, found <" + root.name + ">");
    }
    auto def = std::make_unique<SecretDef>();
    // A part of the definition left unread is refused at the end, naming it.
    XmlReadTracker reads;
    root.markRead();
    CORRAL_ASSIGN_OR_RETURN(def->ephemeral, parseYesNo(root, "ephemeral"));
    CORRAL_ASSIGN_OR_RETURN(def->isPrivate, parseYesNo(root, "private"));
    bool sawUsage = false;
    for (const auto& c : root.children) {
        if (c.name == "uuid" || c.name == "description" || c.name == "usage") {
            c.markRead();  // anything else stays unread and is refused below
        }
        if (c.name == "uuid") {
            auto u = Uuid::parse(trimString(c.text));
            if (!u) {
                return xmlError("<uuid>: '" + c.text + "' is not a UUID");
            }
            def->uuid = *u;
            def->uuidGiven = true;
        } else if (c.name == "description") {
            def->description = c.text;
        } else if (c.name == "usage" && !sawUsage) {
            sawUsage = true;
            CORRAL_TRY(parseUsage(c, *def));
        } else if (c.name == "usage") {
            return xmlError("<secret> has more than one <usage>");
        }
    }
    std::vector<UnreadPart> unread;
    collectUnreadParts(root, reads, "", [](std::string_view) { return false; }, unread);
    std::erase_if(unread, [](const UnreadPart& p) { return p.where.find("xmlns") != std::string::npos; });
    if (!unread.empty()) {
        return fail(ErrorCode::ConfigUnsupported, describeUnreadParts(unread, "the secret driver"),
                    ErrorDomain::Secret);
    }
    return def;
}

std::string formatSecretXml(const SecretDef& def) {
    std::string out = "<secret ephemeral='" + std::string(def.ephemeral ? "yes" : "no") + "' private='" +
                      std::string(def.isPrivate ? "yes" : "no") + "'>\n";
    out += "  <uuid>" + def.uuid.toString() + "</uuid>\n";
    if (!def.description.empty()) {
        out += "  <description>" + xmlEscape(def.description) + "</description>\n";
    }
    for (const auto& kind : kUsages) {
        if (kind.usage == def.usage) {
            out += "  <usage type='" + std::string(kind.name) + "'>\n";
            out += "    <" + std::string(kind.idElement) + ">" + xmlEscape(def.usageId) + "</" +
                   std::string(kind.idElement) + ">\n";
            out += "  </usage>\n";
        }
    }
    out += "</secret>\n";
    return out;
}

}  // namespace corral::conf
