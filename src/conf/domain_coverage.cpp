// SPDX-License-Identifier: LGPL-2.1-or-later
// refuseUnreadParts: the last step of every real driver's check of a definition.
#include "conf/domain_coverage.hpp"

#include <array>

namespace corral::conf {

bool isDescriptiveDomainElement(std::string_view name) {
    constexpr std::array<std::string_view, 2> kDescriptive = {"metadata", "alias"};
    for (auto d : kDescriptive) {
        if (d == name) {
            return true;
        }
    }
    return false;
}

Result<void> refuseUnreadParts(const DomainDef& def, const XmlReadTracker& tracker, std::string_view driver,
                               ErrorDomain domain) {
    std::vector<UnreadPart> unread;
    const auto descriptive = [](std::string_view name) { return isDescriptiveDomainElement(name); };
    for (const auto& e : def.elements) {
        collectUnreadParts(e, tracker, "", descriptive, unread);
    }
    for (std::size_t i = 0; i < def.os.attributes.attrs.size(); ++i) {
        if (!tracker.attrWasRead(def.os.attributes, i)) {
            const auto& [key, value] = def.os.attributes.attrs[i];
            unread.push_back({"<os " + key + "='" + value + "'>", def.os.attributes.line});
        }
    }
    for (const auto& e : def.os.elements) {
        collectUnreadParts(e, tracker, "<os>", descriptive, unread);
    }
    for (const auto& d : def.devices) {
        collectUnreadParts(d, tracker, "", descriptive, unread);
    }
    for (const auto& u : def.unknown) {
        collectUnreadParts(u, tracker, "", descriptive, unread);
    }
    for (const auto& [key, value] : def.rootAttrs) {
        if (!isNamespaceDeclaration(key)) {
            unread.push_back({"<domain " + key + "='" + value + "'>", 0});
        }
    }
    if (unread.empty()) {
        return {};
    }
    const std::string message = describeUnreadParts(unread, "the '" + std::string(driver) + "' driver");
    return fail(ErrorCode::ConfigUnsupported, message, domain);
}

}  // namespace corral::conf
