// SPDX-License-Identifier: LGPL-2.1-or-later
// corrald.conf: the table of known keys and their checks.
#include "daemon/daemon_config.hpp"

#include <algorithm>
#include <functional>
#include <map>

namespace corral::daemon {

namespace {

using Setter = std::function<Result<void>(DaemonConfig&, const ConfValue&)>;

Unexpected badValue(const std::string& what) { return fail(ErrorCode::ConfSyntax, what); }

Setter boolKey(bool DaemonConfig::*field) {
    return [field](DaemonConfig& c, const ConfValue& v) -> Result<void> {
        if (v.kind != ConfValue::Kind::Int || (v.i != 0 && v.i != 1)) {
            return badValue("expected 0 or 1");
        }
        c.*field = v.i != 0;
        return {};
    };
}

Setter uintKey(unsigned DaemonConfig::*field) {
    return [field](DaemonConfig& c, const ConfValue& v) -> Result<void> {
        if (v.kind != ConfValue::Kind::Int || v.i < 0 || v.i > 1000000000) {
            return badValue("expected a non-negative number");
        }
        c.*field = static_cast<unsigned>(v.i);
        return {};
    };
}

/// A size where 0 would make the daemon useless (no memory for any packet, no event).
Setter uintKey(unsigned DaemonConfig::*field, std::int64_t lo, std::int64_t hi) {
    return [field, lo, hi](DaemonConfig& c, const ConfValue& v) -> Result<void> {
        if (v.kind != ConfValue::Kind::Int || v.i < lo || v.i > hi) {
            return badValue("expected a number from " + std::to_string(lo) + " to " + std::to_string(hi));
        }
        c.*field = static_cast<unsigned>(v.i);
        return {};
    };
}

Setter intKey(int DaemonConfig::*field, int lo, int hi) {
    return [field, lo, hi](DaemonConfig& c, const ConfValue& v) -> Result<void> {
        if (v.kind != ConfValue::Kind::Int || v.i < lo || v.i > hi) {
            return badValue("expected a number from " + std::to_string(lo) + " to " + std::to_string(hi));
        }
        c.*field = static_cast<int>(v.i);
        return {};
    };
}

Setter stringKey(std::string DaemonConfig::*field,
                 std::function<bool(const std::string&)> valid = nullptr, std::string expected = "") {
    return [field, valid, expected](DaemonConfig& c, const ConfValue& v) -> Result<void> {
        if (v.kind != ConfValue::Kind::String) {
            return badValue("expected a quoted string");
        }
        if (valid && !valid(v.s)) {
            return badValue("invalid value '" + v.s + "' (" + expected + ")");
        }
        c.*field = v.s;
        return {};
    };
}

Setter listKey(std::vector<std::string> DaemonConfig::*field) {
    return [field](DaemonConfig& c, const ConfValue& v) -> Result<void> {
        if (v.kind != ConfValue::Kind::List) {
            return badValue("expected a list of quoted strings");
        }
        c.*field = v.list;
        return {};
    };
}

/// Keys libvirtd.conf has that corrald accepts and does not use (yet): an administrator's file
/// keeps working.
Setter acceptKey() {
    return [](DaemonConfig&, const ConfValue&) -> Result<void> { return {}; };
}

bool isOctalPerms(const std::string& s) {
    if (s.empty() || s.size() > 4) {
        return false;
    }
    for (char ch : s) {
        if (ch < '0' || ch > '7') {
            return false;
        }
    }
    return true;
}

bool isAuth(const std::string& s) { return s == "none" || s == "sasl" || s == "polkit"; }

bool isPort(const std::string& s) {
    if (s.empty() || s.size() > 5) {
        return false;
    }
    for (char ch : s) {
        if (ch < '0' || ch > '9') {
            return false;
        }
    }
    int n = std::stoi(s);
    return n > 0 && n < 65536;
}

/// An address getaddrinfo may resolve: an IPv4 or IPv6 literal or a host name, nothing else.
bool isListenAddress(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
        return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
               ch == '.' || ch == ':' || ch == '-' || ch == '%' || ch == '_';
    });
}

const std::map<std::string, Setter>& keyTable() {
    static const std::map<std::string, Setter> table = {
        {"listen_tls", boolKey(&DaemonConfig::listenTls)},
        {"listen_tcp", boolKey(&DaemonConfig::listenTcp)},
        {"tls_port", stringKey(&DaemonConfig::tlsPort, isPort, "a port number from 1 to 65535")},
        {"tcp_port", stringKey(&DaemonConfig::tcpPort, isPort, "a port number from 1 to 65535")},
        {"listen_addr", stringKey(&DaemonConfig::listenAddr)},
        {"unix_sock_group", stringKey(&DaemonConfig::unixSockGroup)},
        {"unix_sock_ro_perms", stringKey(&DaemonConfig::unixSockRoPerms, isOctalPerms, "octal permissions like \"0777\"")},
        {"unix_sock_rw_perms", stringKey(&DaemonConfig::unixSockRwPerms, isOctalPerms, "octal permissions like \"0700\"")},
        {"unix_sock_admin_perms", stringKey(&DaemonConfig::unixSockAdminPerms, isOctalPerms, "octal permissions like \"0700\"")},
        {"unix_sock_dir", stringKey(&DaemonConfig::unixSockDir)},
        {"auth_unix_ro", stringKey(&DaemonConfig::authUnixRo, isAuth, "one of none, sasl, polkit")},
        {"auth_unix_rw", stringKey(&DaemonConfig::authUnixRw, isAuth, "one of none, sasl, polkit")},
        {"auth_tcp", stringKey(&DaemonConfig::authTcp, isAuth, "one of none, sasl, polkit")},
        {"auth_tls", stringKey(&DaemonConfig::authTls, isAuth, "one of none, sasl, polkit")},
        {"access_drivers", listKey(&DaemonConfig::accessDrivers)},
        {"key_file", stringKey(&DaemonConfig::keyFile)},
        {"cert_file", stringKey(&DaemonConfig::certFile)},
        {"ca_file", stringKey(&DaemonConfig::caFile)},
        {"crl_file", stringKey(&DaemonConfig::crlFile)},
        {"tls_no_sanity_certificate", boolKey(&DaemonConfig::tlsNoSanityCertificate)},
        {"tls_no_verify_certificate", boolKey(&DaemonConfig::tlsNoVerifyCertificate)},
        {"tls_allowed_dn_list", listKey(&DaemonConfig::tlsAllowedDnList)},
        {"tls_priority", stringKey(&DaemonConfig::tlsPriority)},
        {"sasl_allowed_username_list", listKey(&DaemonConfig::saslAllowedUsernameList)},
        {"tcp_min_ssf", uintKey(&DaemonConfig::tcpMinSsf)},
        {"max_clients", uintKey(&DaemonConfig::maxClients)},
        {"max_queued_clients", uintKey(&DaemonConfig::maxQueuedClients)},
        {"max_anonymous_clients", uintKey(&DaemonConfig::maxAnonymousClients)},
        {"min_workers", uintKey(&DaemonConfig::minWorkers)},
        {"max_workers", uintKey(&DaemonConfig::maxWorkers)},
        {"prio_workers", uintKey(&DaemonConfig::prioWorkers)},
        {"max_client_requests", uintKey(&DaemonConfig::maxClientRequests)},
        {"keepalive_interval", intKey(&DaemonConfig::keepaliveInterval, -1, 3600)},
        {"keepalive_count", uintKey(&DaemonConfig::keepaliveCount)},
        {"log_level", intKey(&DaemonConfig::logLevel, 1, 4)},
        {"log_filters", stringKey(&DaemonConfig::logFilters)},
        {"log_outputs", stringKey(&DaemonConfig::logOutputs)},
        {"audit_level", intKey(&DaemonConfig::auditLevel, 0, 2)},
        {"audit_logging", boolKey(&DaemonConfig::auditLogging)},
        {"host_uuid", stringKey(&DaemonConfig::hostUuid)},
        {"auth_deadline", intKey(&DaemonConfig::authDeadline, 0, 3600)},
        {"max_auth_attempts", uintKey(&DaemonConfig::maxAuthAttempts)},
        {"sasl_allow_digest_md5", boolKey(&DaemonConfig::saslAllowDigestMd5)},
        {"access_rules_file", stringKey(&DaemonConfig::accessRulesFile)},
        {"max_clients_per_uid", uintKey(&DaemonConfig::maxClientsPerUid)},
        {"max_anonymous_clients_per_source", uintKey(&DaemonConfig::maxAnonymousClientsPerSource)},
        {"max_incomplete_packets_mib", uintKey(&DaemonConfig::maxIncompletePacketsMib, 1, 4096)},
        {"packet_deadline", intKey(&DaemonConfig::packetDeadline, 0, 3600)},
        {"max_queued_events_kib", uintKey(&DaemonConfig::maxQueuedEventsKib, 1, 1048576)},
        {"metrics_listen", boolKey(&DaemonConfig::metricsListen)},
        {"metrics_addr", stringKey(&DaemonConfig::metricsAddr, isListenAddress, "an IP address or a host name")},
        {"metrics_port", stringKey(&DaemonConfig::metricsPort, isPort, "a port number from 1 to 65535")},
        {"metrics_token_file", stringKey(&DaemonConfig::metricsTokenFile)},
        {"keepalive_required", acceptKey()},
        {"host_uuid_source", acceptKey()},
        {"ovs_timeout", acceptKey()},
        {"admin_keepalive_count", acceptKey()},
        {"admin_keepalive_interval", acceptKey()},
        {"admin_keepalive_required", acceptKey()},
        {"admin_max_client_requests", acceptKey()},
        {"admin_max_clients", acceptKey()},
        {"admin_max_queued_clients", acceptKey()},
        {"admin_max_workers", acceptKey()},
        {"admin_min_workers", acceptKey()},
    };
    return table;
}

}  // namespace

Result<DaemonConfig> parseDaemonConfig(const ConfFile& file) {
    DaemonConfig config;
    const auto& table = keyTable();
    for (const auto& [key, value] : file.entries) {
        std::string where = file.path + ":" + std::to_string(value.line) + ": key '" + key + "'";
        auto it = table.find(key);
        if (it == table.end()) {
            return fail(ErrorCode::ConfSyntax, where + ": unknown key");
        }
        auto set = it->second(config, value);
        if (!set) {
            return fail(ErrorCode::ConfSyntax, where + ": " + set.error().message);
        }
    }
    return config;
}

Result<DaemonConfig> loadDaemonConfig(const std::string& path) {
    CORRAL_ASSIGN_OR_RETURN(ConfFile file, readConfFile(path));
    return parseDaemonConfig(file);
}

}  // namespace corral::daemon
