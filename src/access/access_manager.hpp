// SPDX-License-Identifier: LGPL-2.1-or-later
// AccessManager: the one place that decides whether a caller may run a procedure. The daemon's
// dispatcher asks it before every driver call; it answers from the rules file and the default
// policy, and never does I/O on that path except the optional user-database lookup below.
//
// Decision order for a call:
//   1. an unknown procedure is denied;
//   2. connection bookkeeping (OperationClass::Connection) is allowed;
//   3. a read-only connection may only run `read` procedures that the protocol allows on
//      read-only connections, without the flags it forbids there; no rule can widen that (the
//      read-only socket is world-writable);
//   4. the first rule whose identity matchers, ops= and domains= all match decides; a call whose
//      flags change what it reveals (flaggedOperation(): the secure XML) is decided for each class
//      it may need, and allowed when one of them is;
//   5. no rule matched: allowed (the client authenticated to a read-write socket, which is
//      what libvirt grants it too; read-only clients were limited in step 3).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "access/identity.hpp"
#include "access/operation_class.hpp"
#include "access/rules.hpp"
#include "util/result.hpp"

namespace corral::access {

struct AccessDecision {
    bool allowed = true;
    OperationClass operation = OperationClass::Connection;
    int ruleLine = 0;     ///< the line of the rule that decided; 0 for the default policy
    std::string message;  ///< for a denial, the whole text: "access denied: 'lifecycle' ..."

    /// The denial as VIR_ERR_OPERATION_DENIED in the access domain: `return d.toError();`.
    /// Call only on a denial.
    [[nodiscard]] Unexpected toError() const;
};

/// Immutable after construction, so check() may run on every worker at once. To reload the
/// rules, build a new manager and swap a shared_ptr to it.
class AccessManager {
public:
    /// No rules file: the default policy alone.
    AccessManager();
    explicit AccessManager(AccessRules rules, UnixNameLookup lookup = lookupSystemUnixNames);

    /// loadAccessRules(path), then a manager over them.
    static Result<AccessManager> fromFile(const std::string& path);

    /// Fills the identity's user and group names when some rule needs them (and it has a
    /// uid). Call once per connection after authentication; check() otherwise looks them up
    /// on every call, to stay correct.
    void resolveNames(Identity& identity) const;
    /// Whether checks look up Unix user and group names (NSS: may be slow, LDAP or sssd).
    [[nodiscard]] bool needsNameLookups() const { return needsNames_; }

    /// May `identity` run REMOTE `procedure`? `domainName` is the domain the call is about
    /// (looked up, or from the XML being defined); nullopt for a call about no single domain.
    /// Passing nullopt for a domain call would let it escape domain-scoped deny rules. `flags`
    /// are the call's flags where the procedure has flags that matter (readonlyDeniedFlags):
    /// passing 0 for a secure call would judge it as a plain read.
    [[nodiscard]] AccessDecision check(const Identity& identity, std::int32_t procedure,
                                       std::optional<std::string_view> domainName,
                                       std::uint32_t flags = 0) const;
    /// The same for the QEMU and LXC programs.
    [[nodiscard]] AccessDecision check(const Identity& identity, Program program,
                                       std::int32_t procedure,
                                       std::optional<std::string_view> domainName,
                                       std::uint32_t flags = 0) const;

    [[nodiscard]] const AccessRules& rules() const { return rules_; }

private:
    /// The first rule that matches `who`, `cls` and the domain: nullptr when none does.
    [[nodiscard]] const AccessRule* firstMatch(const Identity& who, OperationClass cls,
                                               std::optional<std::string_view> domainName) const;

    AccessRules rules_;
    std::string ruleFileName_;  ///< the rules file's base name, for "(rule access.conf:3)"
    bool needsNames_ = false;
    UnixNameLookup lookup_;
};

}  // namespace corral::access
