// SPDX-License-Identifier: LGPL-2.1-or-later
#include "access/identity.hpp"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cerrno>

namespace corral::access {

std::string_view transportName(Transport transport) {
    switch (transport) {
        case Transport::Unix:
            return "unix";
        case Transport::Tcp:
            return "tcp";
        case Transport::Tls:
            return "tls";
        case Transport::Ssh:
            return "ssh";
    }
    return "unix";
}

std::optional<Transport> parseTransport(std::string_view word) {
    for (Transport t : {Transport::Unix, Transport::Tcp, Transport::Tls, Transport::Ssh}) {
        if (transportName(t) == word) {
            return t;
        }
    }
    return std::nullopt;
}

std::string describeIdentity(const Identity& identity) {
    if (!identity.saslUser.empty()) {
        return "sasl user '" + identity.saslUser + "'";
    }
    if (!identity.x509Dn.empty()) {
        return "x509 client '" + identity.x509Dn + "'";
    }
    if (identity.uid) {
        std::string uid = std::to_string(*identity.uid);
        if (!identity.unixUser.empty()) {
            return "unix user '" + identity.unixUser + "' (uid " + uid + ")";
        }
        return "unix uid " + uid;
    }
    return "anonymous " + std::string(transportName(identity.transport)) + " client";
}

namespace {

// The *_r lookups want a caller buffer and say ERANGE when it is too small; NSS backends (LDAP,
// sssd) can return large entries, so grow until it fits rather than trusting sysconf.
template <class Entry, class Lookup>
bool lookupEntry(Lookup lookup, Entry& entry, std::vector<char>& buffer) {
    buffer.resize(1024);
    while (true) {
        Entry* found = nullptr;
        int rc = lookup(&entry, buffer.data(), buffer.size(), &found);
        if (rc == ERANGE && buffer.size() < (1u << 20)) {
            buffer.resize(buffer.size() * 2);
            continue;
        }
        return rc == 0 && found != nullptr;
    }
}

std::optional<std::string> groupName(gid_t gid) {
    group entry{};
    std::vector<char> buffer;
    auto lookup = [gid](group* e, char* buf, std::size_t len, group** found) {
        return getgrgid_r(gid, e, buf, len, found);
    };
    if (!lookupEntry(lookup, entry, buffer)) {
        return std::nullopt;
    }
    return std::string(entry.gr_name);
}

}  // namespace

UnixNames lookupSystemUnixNames(uid_t uid, gid_t gid) {
    UnixNames names;
    if (auto primary = groupName(gid)) {
        names.groups.push_back(*primary);
    }
    passwd entry{};
    std::vector<char> buffer;
    auto lookup = [uid](passwd* e, char* buf, std::size_t len, passwd** found) {
        return getpwuid_r(uid, e, buf, len, found);
    };
    if (!lookupEntry(lookup, entry, buffer)) {
        return names;
    }
    names.user = entry.pw_name;

    // SO_PEERCRED gives only the peer's effective gid; its supplementary groups come from the
    // group database, which is what an administrator means by "members of group ops".
    std::vector<gid_t> gids(32);
    int count = static_cast<int>(gids.size());
    while (getgrouplist(entry.pw_name, entry.pw_gid, gids.data(), &count) < 0) {
        if (count <= static_cast<int>(gids.size()) || count > 65536) {
            return names;
        }
        gids.resize(static_cast<std::size_t>(count));
    }
    gids.resize(static_cast<std::size_t>(count));
    for (gid_t g : gids) {
        auto name = groupName(g);
        if (name &&
            std::find(names.groups.begin(), names.groups.end(), *name) == names.groups.end()) {
            names.groups.push_back(*name);
        }
    }
    return names;
}

}  // namespace corral::access
