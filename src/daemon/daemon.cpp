// SPDX-License-Identifier: LGPL-2.1-or-later
// Daemon: start-up order and the sockets of section 2 of DESIGN.md.
#include "daemon/daemon.hpp"

#include <grp.h>

#include "daemon/dispatcher.hpp"
#include "daemon/metrics_endpoint.hpp"
#include "daemon/metrics_format.hpp"
#include "daemon/server.hpp"
#include "daemon/tls_listener.hpp"
#include "daemon/wire_convert.hpp"
#include "drivers/interfaces/domain_stats.hpp"
#include "drivers/registry.hpp"
#include "host/node_info.hpp"
#include "objects/store.hpp"
#include "rpc/sasl_session.hpp"
#include "util/logging.hpp"
#include "util/strings.hpp"

namespace corral::daemon {

namespace {

Result<mode_t> parsePerms(const std::string& text, const char* key) {
    // Validated by the config parser already; this only converts.
    mode_t mode = 0;
    for (char c : text) {
        if (c < '0' || c > '7') {
            return fail(ErrorCode::ConfSyntax, std::string("invalid octal permissions '") + text +
                                                   "' for key '" + key + "'");
        }
        mode = static_cast<mode_t>(mode * 8 + static_cast<mode_t>(c - '0'));
    }
    return mode;
}

/// auth_unix_rw, auth_tcp ...: corrald has no polkit (libvirtd lets uid 0 through polkit
/// without asking; everyone else would need an agent), so it refuses the setting plainly.
Result<AuthScheme> authScheme(const std::string& value, const char* key) {
    if (value == "none") {
        return AuthScheme::None;
    }
    if (value == "sasl") {
        return AuthScheme::Sasl;
    }
    return fail(ErrorCode::ConfSyntax,
                std::string(key) + " = \"" + value + "\" is not supported by corrald (no polkit): use \"none\" or \"sasl\"");
}

/// The metrics endpoint's page: what GET_ALL_DOMAIN_STATS reports for every domain of every
/// driver, read through the same facet on the endpoint's thread, plus the host and the server.
std::string scrapeMetrics(const drivers::DriverRegistry& registry, const Server& server) {
    MetricsSnapshot snapshot;
    snapshot.clients = server.clientCount();
    if (auto facts = host::readHostFacts()) {
        snapshot.hostMemoryKiB = facts->memoryKiB;
        snapshot.hostCpus = facts->cpus;
    }
    for (const auto& driver : registry.all()) {
        DriverMetrics& summary = snapshot.drivers.emplace_back(DriverMetrics{driver->name(), false});
        drivers::DomainStatsQueries* stats = driver->stats();
        if (stats == nullptr) {
            continue;
        }
        auto records = stats->allDomainStats({}, drivers::stats_groups::kSupported, 0);
        if (!records) {
            logDebug("metrics: no statistics from driver '" + driver->name() + "': " + records.error().wireMessage());
            continue;
        }
        summary.statsRead = true;
        for (const auto& record : *records) {
            std::vector<rpc::proto::remote_typed_param> params;
            for (const auto& p : record.params) {
                params.push_back(toWire(p));
            }
            snapshot.guests.push_back(
                {driver->name(), record.dom.name, record.dom.uuid.toString(), rpc::readGuestStats(params)});
        }
    }
    return formatMetrics(snapshot);
}

bool isLoopback(const std::string& address) {
    return startsWith(address, "127.") || address == "::1" || address == "localhost";
}

}  // namespace

Daemon::~Daemon() = default;

Result<std::unique_ptr<Daemon>> Daemon::create(const DaemonOptions& options) {
    std::unique_ptr<Daemon> d(new Daemon());
    d->paths_ = DaemonPaths::forRoot(options.root);
    // Before anything else: the daemon already running on this tree owns its store, sockets and
    // guests; a second one that went on would reconnect to (and kill) guests it cannot manage.
    CORRAL_ASSIGN_OR_RETURN(d->treeLock_, d->paths_.lockTree());
    std::string configFile = options.configFile.empty() ? d->paths_.configFile : options.configFile;
    CORRAL_ASSIGN_OR_RETURN(d->config_, loadDaemonConfig(configFile));
    if (d->config_.logLevel >= 1 && d->config_.logLevel <= 4) {
        setLogLevel(static_cast<LogLevel>(d->config_.logLevel));
    }
    if (!d->config_.unixSockDir.empty()) {
        d->paths_.runDir = d->config_.unixSockDir;
        d->paths_.rwSocket = d->paths_.runDir + "/corral-sock";
        d->paths_.roSocket = d->paths_.runDir + "/corral-sock-ro";
    }
    CORRAL_TRY(d->paths_.createDirectories());

    CORRAL_ASSIGN_OR_RETURN(d->store_, objects::Store::open(d->paths_.storeFile));
    drivers::DriverPaths driverPaths{d->paths_.configDir, d->paths_.runDir, d->paths_.logDir, d->paths_.stateDir};
    CORRAL_ASSIGN_OR_RETURN(d->registry_, drivers::DriverRegistry::create(d->store_.get(), driverPaths));
    d->dispatcher_ = std::make_unique<Dispatcher>(*d->registry_);
    AuthSettings auth;
    auth.tcpMinSsf = d->config_.tcpMinSsf;
    auth.allowDigestMd5 = d->config_.saslAllowDigestMd5;
    auth.saslAllowedUsernames = d->config_.saslAllowedUsernameList;
    auth.maxAuthAttempts = std::max(1u, d->config_.maxAuthAttempts);
    auth.store = d->store_.get();
    d->dispatcher_->setAuthSettings(std::move(auth));
    if (!d->config_.accessRulesFile.empty()) {
        // Relative to the configuration directory, like the other files the daemon reads.
        std::string rules = d->config_.accessRulesFile.front() == '/' ? d->config_.accessRulesFile
                                                                      : d->paths_.configDir + "/" + d->config_.accessRulesFile;
        CORRAL_ASSIGN_OR_RETURN(auto access, access::AccessManager::fromFile(rules));
        d->dispatcher_->setAccessRules(std::move(access));
    }

    ServerLimits limits;
    limits.maxClients = d->config_.maxClients;
    limits.maxClientRequests = std::max(1u, d->config_.maxClientRequests);
    limits.workers = std::max(1u, d->config_.maxWorkers);
    limits.minWorkers = std::min(limits.workers, std::max(1u, d->config_.minWorkers));
    limits.prioWorkers = std::max(1u, d->config_.prioWorkers);
    limits.keepaliveInterval = d->config_.keepaliveInterval;
    limits.keepaliveCount = d->config_.keepaliveCount;
    limits.maxAnonymousClients = d->config_.maxAnonymousClients;
    limits.authDeadline = d->config_.authDeadline;
    limits.maxClientsPerUid = d->config_.maxClientsPerUid;
    limits.maxAnonymousClientsPerSource = d->config_.maxAnonymousClientsPerSource;
    limits.maxIncompletePackets = std::size_t{d->config_.maxIncompletePacketsMib} << 20;
    limits.packetDeadline = d->config_.packetDeadline;
    limits.maxQueuedEvents = std::size_t{d->config_.maxQueuedEventsKib} << 10;
    CORRAL_ASSIGN_OR_RETURN(d->server_, Server::create(*d->dispatcher_, limits));

    gid_t group = static_cast<gid_t>(-1);
    if (!d->config_.unixSockGroup.empty()) {
        if (auto numeric = parseUnsigned(d->config_.unixSockGroup)) {
            group = static_cast<gid_t>(*numeric);
        } else {
            struct group* gr = getgrnam(d->config_.unixSockGroup.c_str());
            if (gr == nullptr) {
                return fail(ErrorCode::ConfSyntax, "unix_sock_group '" + d->config_.unixSockGroup +
                                                       "' in '" + configFile + "' is not a known group");
            }
            group = gr->gr_gid;
        }
    }
    CORRAL_ASSIGN_OR_RETURN(mode_t rwMode, parsePerms(d->config_.unixSockRwPerms, "unix_sock_rw_perms"));
    CORRAL_ASSIGN_OR_RETURN(mode_t roMode, parsePerms(d->config_.unixSockRoPerms, "unix_sock_ro_perms"));
    CORRAL_ASSIGN_OR_RETURN(AuthScheme unixRw, authScheme(d->config_.authUnixRw, "auth_unix_rw"));
    CORRAL_ASSIGN_OR_RETURN(AuthScheme unixRo, authScheme(d->config_.authUnixRo, "auth_unix_ro"));
    CORRAL_ASSIGN_OR_RETURN(AuthScheme tcpAuth, authScheme(d->config_.authTcp, "auth_tcp"));
    CORRAL_ASSIGN_OR_RETURN(AuthScheme tlsAuth, authScheme(d->config_.authTls, "auth_tls"));
    bool sasl = unixRw == AuthScheme::Sasl || unixRo == AuthScheme::Sasl ||
                (d->config_.listenTcp && tcpAuth == AuthScheme::Sasl) ||
                (d->config_.listenTls && tlsAuth == AuthScheme::Sasl);
    if (sasl) {
        // Cyrus reads ROOT/etc/sasl2/corral.conf (mech_list, sasldb_path) once, now.
        CORRAL_TRY(rpc::initSaslServer(d->paths_.root).withContext("setting up SASL"));
    }
    d->server_->setAuditor([dispatcher = d->dispatcher_.get()](const PeerIdentity& peer, const std::string& mech,
                                                               const std::string& identity, bool ok,
                                                               const std::string& detail) {
        dispatcher->auditAuthentication(peer, mech, identity, ok, detail);
    });
    if (d->config_.listenTcp) {
        AuthScheme tcp = tcpAuth;
        if (tcp == AuthScheme::None) {
            logWarning("listen_tcp with auth_tcp = \"none\": anyone who can reach " + d->config_.listenAddr + ":" +
                       d->config_.tcpPort + " controls every guest, unencrypted");
        }
        CORRAL_TRY(d->server_->listenTcp(d->config_.listenAddr, d->config_.tcpPort, tcp));
    }
    if (d->config_.listenTls) {
        CORRAL_ASSIGN_OR_RETURN(auto acceptor, makeTlsAcceptor(d->config_, d->paths_));
        CORRAL_TRY(d->server_->listenTcp(d->config_.listenAddr, d->config_.tlsPort, tlsAuth, std::move(acceptor)));
    }
    if (d->config_.metricsListen) {
        std::string token;
        if (!d->config_.metricsTokenFile.empty()) {
            CORRAL_ASSIGN_OR_RETURN(token, readMetricsToken(d->config_.metricsTokenFile));
        }
        if (!isLoopback(d->config_.metricsAddr)) {
            logWarning("metrics_listen on " + d->config_.metricsAddr + ":" + d->config_.metricsPort +
                       (token.empty() ? ": anyone who can reach it reads every guest's name and figures, unauthenticated"
                                      : ": the bearer token crosses the network in clear text (plain HTTP)"));
        }
        auto scrape = [registry = d->registry_.get(), server = d->server_.get()] {
            return scrapeMetrics(*registry, *server);
        };
        CORRAL_ASSIGN_OR_RETURN(d->metrics_, MetricsEndpoint::create(d->config_.metricsAddr, d->config_.metricsPort,
                                                                     scrape, std::move(token)));
    }
    // The unix sockets come last: a client (or a test) that finds them can count on the TCP,
    // TLS and metrics listeners being there too, GnuTLS loaded where TLS is configured.
    CORRAL_TRY(d->server_->listenUnix(d->paths_.rwSocket, rwMode, false, group, unixRw));
    CORRAL_TRY(d->server_->listenUnix(d->paths_.roSocket, roMode, true, group, unixRo));
    // Like libvirtd: guests marked autostart start once the drivers are loaded.
    d->registry_->autostartAll();
    return d;
}

void Daemon::run() { server_->run(); }

void Daemon::stop() { server_->stop(); }

}  // namespace corral::daemon
