// SPDX-License-Identifier: LGPL-2.1-or-later
// Identity: who is calling, as far as the daemon established it when the client connected and
// authenticated. Access rules match on it; denial messages name it.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corral::access {

/// How the client reached the daemon. An ssh client arrives through corral-ssh-helper on the
/// unix socket; the daemon only reports Ssh where it can tell.
enum class Transport { Unix, Tcp, Tls, Ssh };

/// "unix", "tcp", "tls", "ssh": the spelling rules files use.
std::string_view transportName(Transport transport);
std::optional<Transport> parseTransport(std::string_view word);

/// Everything a rule can match on. Filled by the daemon once per connection, after
/// authentication; immutable afterwards, so it can be read from any worker thread.
struct Identity {
    Transport transport = Transport::Unix;
    bool readOnly = false;     ///< connected to the read-only socket
    std::optional<uid_t> uid;  ///< SO_PEERCRED: unix socket clients only
    std::optional<gid_t> gid;  ///< SO_PEERCRED: the peer's effective group
    std::string saslUser;      ///< the SASL user name; empty when SASL was not used
    std::string x509Dn;        ///< the TLS client certificate's subject; empty without one

    /// Set by AccessManager::resolveNames(): names of `uid` and of its groups, for the
    /// unix-user= and unix-group= matchers. Looked up only when some rule uses names.
    bool unixNamesResolved = false;
    std::string unixUser;                 ///< empty when the uid has no passwd entry
    std::vector<std::string> unixGroups;  ///< the peer's group, then the user's other groups
};

/// Names the caller in a denial, most specific first: "sasl user 'bob'", "x509 client
/// 'C=GB,O=Test,CN=intern1'", "unix user 'alice' (uid 1000)", "unix uid 1000",
/// "anonymous tcp client".
std::string describeIdentity(const Identity& identity);

/// The user and group names of a unix peer.
struct UnixNames {
    std::string user;                 ///< empty when unknown
    std::vector<std::string> groups;  ///< names of `gid` and of the user's other groups
};

/// The seam to the user database: tests substitute a table for NSS.
using UnixNameLookup = std::function<UnixNames(uid_t uid, gid_t gid)>;

/// The host's answer (getpwuid_r, getgrouplist, getgrgid_r). A uid or gid without an entry
/// yields no name: a rule naming a user then simply does not match that peer.
UnixNames lookupSystemUnixNames(uid_t uid, gid_t gid);

}  // namespace corral::access
