// SPDX-License-Identifier: LGPL-2.1-or-later
#include "access/access_manager.hpp"

#include <algorithm>
#include <utility>

namespace corral::access {

namespace {

/// The procedure's name as libvirt's headers spell the constant, minus the PROC: the QEMU and
/// LXC programs get their prefix so that "DOMAIN_ATTACH" is not mistaken for REMOTE's.
std::string qualifiedName(Program program, std::string_view name) {
    switch (program) {
        case Program::Remote:
            return std::string(name);
        case Program::Qemu:
            return "QEMU_" + std::string(name);
        case Program::Lxc:
            return "LXC_" + std::string(name);
    }
    return std::string(name);
}

/// `classes`: the class's name, or "console' or 'config" for a call that needs either (`cls` is
/// then the first of them).
AccessDecision deny(OperationClass cls, const std::string& classes, const std::string& procedure,
                    std::optional<std::string_view> domainName, const Identity& identity,
                    const std::string& reason, int line) {
    AccessDecision d;
    d.allowed = false;
    d.operation = cls;
    d.ruleLine = line;
    d.message = "access denied: '" + classes + "' operation " + procedure;
    if (domainName) {
        d.message += " on domain '" + std::string(*domainName) + "'";
    }
    d.message += " is not allowed for " + describeIdentity(identity) + " (" + reason + ")";
    return d;
}

}  // namespace

Unexpected AccessDecision::toError() const {
    return fail(ErrorCode::OperationDenied, message, ErrorDomain::Access);
}

AccessManager::AccessManager() : AccessManager(AccessRules{}) {}

AccessManager::AccessManager(AccessRules rules, UnixNameLookup lookup)
    : rules_(std::move(rules)), needsNames_(rules_.usesUnixNames()), lookup_(std::move(lookup)) {
    std::size_t slash = rules_.path.rfind('/');
    ruleFileName_ = slash == std::string::npos ? rules_.path : rules_.path.substr(slash + 1);
}

Result<AccessManager> AccessManager::fromFile(const std::string& path) {
    CORRAL_ASSIGN_OR_RETURN(AccessRules rules, loadAccessRules(path));
    return AccessManager(std::move(rules));
}

void AccessManager::resolveNames(Identity& identity) const {
    if (!needsNames_ || identity.unixNamesResolved || !identity.uid) {
        return;
    }
    // Without SO_PEERCRED's gid the peer's own group is unknown; the user's groups still come
    // from the database (getgrouplist adds the passwd entry's primary group).
    UnixNames names = lookup_(*identity.uid, identity.gid.value_or(static_cast<gid_t>(-1)));
    identity.unixUser = std::move(names.user);
    identity.unixGroups = std::move(names.groups);
    identity.unixNamesResolved = true;
}

AccessDecision AccessManager::check(const Identity& identity, std::int32_t procedure,
                                    std::optional<std::string_view> domainName,
                                    std::uint32_t flags) const {
    return check(identity, Program::Remote, procedure, domainName, flags);
}

const AccessRule* AccessManager::firstMatch(const Identity& who, OperationClass cls,
                                            std::optional<std::string_view> domainName) const {
    for (const AccessRule& rule : rules_.rules) {
        bool identityMatches =
            std::all_of(rule.who.begin(), rule.who.end(),
                        [&](const IdentityMatcher& m) { return m.matches(who); });
        if (identityMatches && rule.coversOperation(cls) && rule.coversDomain(domainName)) {
            return &rule;
        }
    }
    return nullptr;
}

AccessDecision AccessManager::check(const Identity& identity, Program program,
                                    std::int32_t procedure,
                                    std::optional<std::string_view> domainName,
                                    std::uint32_t flags) const {
    const rpc::proto::ProcedureInfo* info = findProcedure(program, procedure);
    if (info == nullptr) {
        return deny(OperationClass::Admin, "admin",
                    qualifiedName(program, "procedure " + std::to_string(procedure)), domainName,
                    identity, "unknown procedure", 0);
    }
    const OperationClass own = classifyProcedure(program, *info);
    AccessDecision decision;
    decision.operation = own;
    if (own == OperationClass::Connection) {
        return decision;
    }
    std::string name = qualifiedName(program, info->name);
    // A call whose flags make it reveal more is judged as what it may then need (any one of
    // the classes), here for both sockets: the read-only one refuses it below.
    const FlaggedOperation* flagged = flaggedOperation(program, *info, flags);
    std::span<const OperationClass> needs(&own, 1);
    std::string wording(operationClassName(own));
    if (flagged != nullptr) {
        needs = flagged->classes;
        wording.clear();
        for (std::size_t i = 0; i < needs.size(); ++i) {
            wording += std::string(i == 0 ? "" : i + 1 == needs.size() ? "' or '" : "', '") +
                       std::string(operationClassName(needs[i]));
        }
        name += " with " + std::string(flagged->flagName);
    }
    if (identity.readOnly && (flagged != nullptr || own != OperationClass::Read ||
                              !info->readonlyAllowed || (flags & info->readonlyDeniedFlags) != 0)) {
        return deny(needs.front(), wording, name, domainName, identity, "read-only connection", 0);
    }

    // A deny rule on a group must not be dodged because the caller skipped resolveNames().
    const Identity* who = &identity;
    Identity resolved;
    if (needsNames_ && identity.uid && !identity.unixNamesResolved) {
        resolved = identity;
        resolveNames(resolved);
        who = &resolved;
    }

    const AccessRule* firstDenial = nullptr;
    for (OperationClass cls : needs) {
        const AccessRule* rule = firstMatch(*who, cls, domainName);
        if (rule == nullptr || rule->action == AccessRule::Action::Allow) {
            // No rule matched: the default allows (the caller authenticated to a read-write
            // socket).
            decision.operation = cls;
            decision.ruleLine = rule != nullptr ? rule->line : 0;
            return decision;
        }
        firstDenial = firstDenial != nullptr ? firstDenial : rule;
    }
    return deny(needs.front(), wording, name, domainName, *who,
                "rule " + ruleFileName_ + ":" + std::to_string(firstDenial->line), firstDenial->line);
}

}  // namespace corral::access
