// SPDX-License-Identifier: LGPL-2.1-or-later
// DaemonConfig: corrald.conf, with libvirtd.conf's key names, types and defaults.
#pragma once

#include <string>
#include <vector>

#include "util/conf_file.hpp"
#include "util/result.hpp"

namespace corral::daemon {

struct DaemonConfig {
    bool listenTls = false;
    bool listenTcp = false;
    std::string tcpPort = "16509";
    std::string tlsPort = "16514";
    std::string listenAddr = "0.0.0.0";
    std::string unixSockGroup;
    std::string unixSockRoPerms = "0777";
    std::string unixSockRwPerms = "0700";
    std::string unixSockAdminPerms = "0700";
    std::string unixSockDir;
    std::string authUnixRo = "none";
    std::string authUnixRw = "none";
    std::string authTcp = "sasl";
    std::string authTls = "none";
    std::vector<std::string> accessDrivers;
    std::string keyFile, certFile, caFile, crlFile;
    bool tlsNoSanityCertificate = false;
    bool tlsNoVerifyCertificate = false;
    std::vector<std::string> tlsAllowedDnList;
    std::string tlsPriority = "NORMAL";
    std::vector<std::string> saslAllowedUsernameList;
    unsigned tcpMinSsf = 56;
    unsigned maxClients = 5000;  ///< per listening socket (libvirtd: all sockets together)
    unsigned maxQueuedClients = 1000;
    unsigned maxAnonymousClients = 20;
    unsigned minWorkers = 5;
    unsigned maxWorkers = 20;
    unsigned prioWorkers = 5;
    unsigned maxClientRequests = 5;
    int keepaliveInterval = 5;
    unsigned keepaliveCount = 5;
    int logLevel = 3;
    std::string logFilters;
    std::string logOutputs;
    // Corral's own keys (not in libvirtd.conf).
    int authDeadline = 30;        ///< auth_deadline: seconds to authenticate (sshd's LoginGraceTime)
    unsigned maxAuthAttempts = 3; ///< max_auth_attempts: failed SASL tries per connection (MaxAuthTries)
    bool saslAllowDigestMd5 = false;  ///< sasl_allow_digest_md5: the deprecated mechanism, on request
    std::string accessRulesFile;  ///< access_rules_file: who may do what (docs/access.md)
    unsigned maxClientsPerUid = 64;              ///< max_clients_per_uid: per unix socket, uid 0 exempt
    unsigned maxAnonymousClientsPerSource = 5;   ///< max_anonymous_clients_per_source
    unsigned maxIncompletePacketsMib = 128;      ///< max_incomplete_packets_mib: per socket
    int packetDeadline = 30;                     ///< packet_deadline: seconds, + 1 per 64 KiB
    unsigned maxQueuedEventsKib = 4096;          ///< max_queued_events_kib: per client
    bool metricsListen = false;               ///< metrics_listen: serve GET /metrics (docs/monitoring.md)
    std::string metricsAddr = "127.0.0.1";    ///< metrics_addr
    std::string metricsPort = "9177";         ///< metrics_port
    std::string metricsTokenFile;             ///< metrics_token_file: require this bearer token
    int auditLevel = 1;
    bool auditLogging = false;
    std::string hostUuid;
};

/// Applies every entry of `file` over the defaults. An unknown key, a value of the wrong type
/// or an invalid value is a ConfSyntax error naming the file, the line and the key.
Result<DaemonConfig> parseDaemonConfig(const ConfFile& file);
/// Reads `path` (missing: defaults) and parses it.
Result<DaemonConfig> loadDaemonConfig(const std::string& path);

}  // namespace corral::daemon
