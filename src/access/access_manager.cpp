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

AccessDecision deny(OperationClass cls, const std::string& procedure,
                    std::optional<std::string_view> domainName, const Identity& identity,
                    const std::string& reason, int line) {
    AccessDecision d;
    d.allowed = false;
    d.operation = cls;
    d.ruleLine = line;
    d.message =
        "access denied: '" + std::string(operationClassName(cls)) + "' operation " + procedure;
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
                                    std::optional<std::string_view> domainName) const {
    return check(identity, Program::Remote, procedure, domainName);
}

AccessDecision AccessManager::check(const Identity& identity, Program program,
                                    std::int32_t procedure,
                                    std::optional<std::string_view> domainName) const {
    const rpc::proto::ProcedureInfo* info = findProcedure(program, procedure);
    if (info == nullptr) {
        return deny(OperationClass::Admin,
                    qualifiedName(program, "procedure " + std::to_string(procedure)), domainName,
                    identity, "unknown procedure", 0);
    }
    AccessDecision decision;
    decision.operation = classifyProcedure(program, *info);
    if (decision.operation == OperationClass::Connection) {
        return decision;
    }
    std::string name = qualifiedName(program, info->name);
    if (identity.readOnly &&
        (decision.operation != OperationClass::Read || !info->readonlyAllowed)) {
        return deny(decision.operation, name, domainName, identity, "read-only connection", 0);
    }

    // A deny rule on a group must not be dodged because the caller skipped resolveNames().
    const Identity* who = &identity;
    Identity resolved;
    if (needsNames_ && identity.uid && !identity.unixNamesResolved) {
        resolved = identity;
        resolveNames(resolved);
        who = &resolved;
    }

    for (const AccessRule& rule : rules_.rules) {
        bool identityMatches =
            std::all_of(rule.who.begin(), rule.who.end(),
                        [&](const IdentityMatcher& m) { return m.matches(*who); });
        if (!identityMatches || !rule.coversOperation(decision.operation) ||
            !rule.coversDomain(domainName)) {
            continue;
        }
        if (rule.action == AccessRule::Action::Deny) {
            return deny(decision.operation, name, domainName, *who,
                        "rule " + ruleFileName_ + ":" + std::to_string(rule.line), rule.line);
        }
        decision.ruleLine = rule.line;
        return decision;
    }
    return decision;
}

}  // namespace corral::access
