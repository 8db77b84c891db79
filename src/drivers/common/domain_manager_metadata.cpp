// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainManager's metadata: a domain's <title> and <description>, read and changed on the live
// and persistent definitions like any other change (virsh desc, virsh metadata's simple forms).
#include "drivers/common/domain_manager.hpp"
#include "drivers/common/domain_manager_errors.hpp"

namespace corral::drivers {

namespace {

// virDomainMetadataType.
constexpr int kDescription = 0;
constexpr int kTitle = 1;
constexpr int kElement = 2;

Result<void> checkType(int type) {
    if (type == kElement) {
        return fail(ErrorCode::NoSupport,
                    "metadata of type 'element' (a namespace's own XML in <metadata>) is not supported; "
                    "use <title> or <description>",
                    ErrorDomain::Domain);
    }
    if (type != kDescription && type != kTitle) {
        return fail(ErrorCode::InvalidArg, "unknown metadata type " + std::to_string(type), ErrorDomain::Domain);
    }
    return {};
}

}  // namespace

Result<void> DomainManager::setMetadata(const DomainRef& ref, int type, const std::string& text, unsigned flags) {
    CORRAL_TRY(checkType(type));
    if (type == kTitle && text.find('\n') != std::string::npos) {
        return fail(ErrorCode::InvalidArg, "Domain title can't contain newlines", ErrorDomain::Domain);
    }
    auto edit = [&](conf::DomainDef& def, bool) -> Result<void> {
        (type == kTitle ? def.title : def.description) = text;
        return {};
    };
    CORRAL_TRY(changeDefinition(ref, flags, "domainSetMetadata", edit, nullptr));
    // libvirt raises the event for every successful change, live or persistent.
    CORRAL_ASSIGN_OR_RETURN(objects::DomainObjPtr dom, find(ref));
    DomainEvent ev;
    {
        std::lock_guard lock(dom->mutex());
        ev.dom = refOf(*dom);
    }
    ev.eventId = event_id::kMetadataChange;
    ev.detail = type;
    events_.emit(ev);
    return {};
}

Result<std::string> DomainManager::getMetadata(const DomainRef& ref, int type, unsigned flags) {
    CORRAL_TRY(checkType(type));
    if ((flags & ~(affect_flags::kLive | affect_flags::kConfig)) != 0) {
        return unsupportedFlags(flags, "domainGetMetadata");
    }
    CORRAL_ASSIGN_OR_RETURN(objects::DomainObjPtr dom, find(ref));
    std::lock_guard lock(dom->mutex());
    CORRAL_ASSIGN_OR_RETURN(const bool live, queryIsLive(*dom, flags));
    const conf::DomainDef& def = definitionFor(*dom, live);
    const std::string& value = type == kTitle ? def.title : def.description;
    if (value.empty()) {
        return fail(ErrorCode::NoDomainMetadata, "Requested metadata element is not present", ErrorDomain::Domain);
    }
    return value;
}

}  // namespace corral::drivers
