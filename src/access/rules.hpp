// SPDX-License-Identifier: LGPL-2.1-or-later
// The access rules file (access_rules_file in corrald.conf; docs/access.md). One rule a line:
//
//     # comment
//     allow sasl=alice ops=read,lifecycle domains=web-*
//     deny  x509="C=GB,O=Test,CN=intern*" ops=config,admin
//     allow unix-group=ops ops=*
//
// A rule is `allow` or `deny`, then who, ops= and optionally domains=, in any order:
//   who       one or more of (all must match):
//               unix-user=GLOB  unix-group=GLOB  unix-uid=N
//               sasl=GLOB  x509=GLOB  transport=unix|tcp|tls|ssh  readonly=yes|no
//             or the single word `any`
//   ops=      comma list of read, lifecycle, config, console, admin; or *
//   domains=  comma list of domain-name globs; absent = every domain and procedures about no
//             domain; such procedures match a list only if it holds *
// Globs are fnmatch(3) patterns (*, ?, [...]). A value holding spaces, '#' or '"' is written in
// double quotes, with \" and \\ inside. Rules are tried top to bottom; the first one whose who,
// ops and domains all match decides.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "access/identity.hpp"
#include "access/operation_class.hpp"
#include "util/result.hpp"

namespace corral::access {

/// One condition on the caller; a rule's conditions must all hold.
struct IdentityMatcher {
    enum class Kind { Any, UnixUser, UnixGroup, UnixUid, Sasl, X509, Transport, ReadOnly };
    Kind kind = Kind::Any;
    std::string pattern;   ///< the glob, for UnixUser, UnixGroup, Sasl, X509
    std::uint32_t id = 0;  ///< UnixUid
    Transport transport = Transport::Unix;
    bool readOnly = false;

    [[nodiscard]] bool matches(const Identity& identity) const;
};

struct AccessRule {
    enum class Action { Allow, Deny };
    Action action = Action::Deny;
    std::vector<IdentityMatcher> who;
    unsigned ops = 0;                  ///< bit (1 << OperationClass) per class named
    std::vector<std::string> domains;  ///< globs; empty when domains= is absent
    int line = 0;

    [[nodiscard]] bool coversOperation(OperationClass cls) const;
    /// `domain` is nullopt for a procedure that is about no single domain.
    [[nodiscard]] bool coversDomain(std::optional<std::string_view> domain) const;
};

struct AccessRules {
    std::string path;  ///< for "rule access.conf:3" in denials
    std::vector<AccessRule> rules;

    /// True when some rule matches on user or group names: identities then need
    /// AccessManager::resolveNames().
    [[nodiscard]] bool usesUnixNames() const;
};

/// Parses a rules file's text. Errors are ConfSyntax, "PATH:LINE: " then what is wrong, naming
/// the offending token: "access.conf:4: unknown operation class 'reboot' in 'ops=read,reboot'".
Result<AccessRules> parseAccessRules(std::string_view text, std::string_view pathForMessages);

/// Reads and parses `path`. A missing file is an error: the path was configured on purpose.
Result<AccessRules> loadAccessRules(const std::string& path);

}  // namespace corral::access
