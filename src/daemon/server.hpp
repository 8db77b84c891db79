// SPDX-License-Identifier: LGPL-2.1-or-later
// Server: corrald's single I/O thread. It owns the listening sockets and every client socket
// (epoll), assembles packets, answers keepalive itself and hands calls to the worker pools.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "daemon/client_session.hpp"
#include "daemon/worker_pool.hpp"
#include "rpc/packet.hpp"
#include "rpc/transport.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::daemon {

class Dispatcher;

struct ServerLimits {
    unsigned maxClients = 5000;
    unsigned maxClientRequests = 5;
    unsigned minWorkers = 5;  ///< started at once; more on demand, up to `workers`
    unsigned workers = 20;
    unsigned prioWorkers = 5;
    int keepaliveInterval = 5;  ///< seconds; <= 0 disables server pings
    unsigned keepaliveCount = 5;
    /// A client whose unsent output exceeds this is not read from until it catches up.
    std::size_t maxQueuedOutput = 8u << 20;
    /// Connections that have not authenticated yet (TLS handshakes, SASL in progress): more are
    /// refused at accept, so they cannot crowd out authenticated clients.
    unsigned maxAnonymousClients = 20;
    /// Seconds a connection may take to authenticate (sshd's LoginGraceTime).
    int authDeadline = 30;
};

class Server {
public:
    static Result<std::unique_ptr<Server>> create(Dispatcher& dispatcher, ServerLimits limits);
    ~Server();

    /// Binds a unix socket at `path` (replacing a stale socket file, refusing a live one),
    /// chmods it to `mode` and, if `group` is set, chowns it to that group.
    Result<void> listenUnix(const std::string& path, mode_t mode, bool readOnly, gid_t group,
                            AuthScheme auth = AuthScheme::None);

    /// Wraps each accepted TCP connection of a TLS listener: the handshake runs in the I/O loop
    /// (TlsHandshake), and the session's transport is the TLS stream once it is done.
    using TlsAcceptor = std::function<Result<std::unique_ptr<rpc::HandshakingTransport>>(UniqueFd)>;

    /// Listens on TCP `address`:`port` (every address getaddrinfo gives for it). With `tls`,
    /// connections speak TLS first (libvirt's 16514); without, plain TCP (16509), where the
    /// caller demands SASL with a security layer. Errors name the address and port.
    Result<void> listenTcp(const std::string& address, const std::string& port, AuthScheme auth,
                           TlsAcceptor tls = nullptr);

    /// Who hears of authentication outcomes the server decides itself (TLS certificates).
    using Auditor = std::function<void(const PeerIdentity&, const std::string& mechanism, const std::string& identity,
                                       bool success, const std::string& detail)>;
    void setAuditor(Auditor auditor) { auditor_ = std::move(auditor); }

    /// Adopts an already-connected socket (the embedded server's socketpair end).
    Result<void> adoptClient(UniqueFd fd, bool readOnly);

    /// Runs the I/O loop until stop(). Call from one thread only.
    void run();
    /// Asks run() to return. Safe from any thread and from a signal handler.
    void stop();

    /// Number of connected clients (for tests and metrics).
    std::size_t clientCount() const;

private:
    Server(Dispatcher& dispatcher, ServerLimits limits);

    struct Listener {
        UniqueFd fd;
        std::string path;  ///< unix socket path, or "ADDRESS:PORT" for messages
        bool readOnly = false;
        bool tcp = false;
        AuthScheme auth = AuthScheme::None;
        TlsAcceptor tls;
    };
    struct ClientIo {
        std::shared_ptr<ClientSession> session;
        rpc::PacketAssembler assembler;
        bool readingPaused = false;
        bool writeArmed = false;
        std::chrono::steady_clock::time_point connectedAt;
    };
    /// A TLS connection whose handshake is not done: no session, no packets yet.
    struct Handshake {
        std::unique_ptr<rpc::HandshakingTransport> transport;
        std::size_t listener = 0;
        PeerIdentity peer;
        std::chrono::steady_clock::time_point connectedAt;
        bool confirming = false;  ///< handshake done; the confirmation byte still to go out
    };

    /// Registers a bound, listening socket with the loop.
    Result<void> addListener(Listener listener);
    void acceptClients(Listener& listener);
    void addClient(UniqueFd fd, std::size_t listener, PeerIdentity peer);
    /// Starts serving a connection whose transport is ready (plain, or TLS after its handshake).
    void startSession(std::unique_ptr<rpc::Transport> transport, bool readOnly, AuthScheme auth, PeerIdentity peer,
                      bool alreadyWatched);
    /// Drives a TLS handshake; once done (and the peer accepted) sends libvirt's confirmation
    /// byte and starts the session. A refused peer is logged with the reason and dropped.
    void continueHandshake(int fd);
    /// Connections not authenticated yet (handshakes and sessions waiting for SASL).
    [[nodiscard]] std::size_t anonymousClients() const;
    /// Drops connections that did not authenticate within limits_.authDeadline.
    void enforceAuthDeadline();
    /// Sends the authentication answers held back as penalties whose time has come.
    void releaseHeldReplies();
    void readClient(ClientIo& io);
    /// Dispatches assembled packets while the client is under its request limit.
    void drainPackets(ClientIo& io);
    /// Whether the client must wait before more of its packets are read or served.
    bool mustPauseReading(const ClientIo& io) const;
    void handlePacket(ClientIo& io, rpc::Packet packet);
    void closeClient(int fd, const char* why);
    void updateInterest(ClientIo& io);
    void keepaliveTick();
    /// Out of descriptors: stop watching the listeners (a pending connection that cannot be
    /// accepted would otherwise wake the loop forever) until the next timer tick.
    void pauseListeners();
    void resumeListeners();
    void serviceWakeups();
    void wake();

    Dispatcher& dispatcher_;
    ServerLimits limits_;
    UniqueFd epoll_;
    UniqueFd wakeFd_;
    UniqueFd timerFd_;
    std::vector<Listener> listeners_;
    std::map<int, ClientIo> clients_;  ///< I/O thread only
    std::map<int, Handshake> handshakes_;  ///< I/O thread only
    Auditor auditor_;
    std::atomic<std::size_t> clientCount_{0};
    std::atomic<bool> stopping_{false};
    bool listenersPaused_ = false;
    WorkerPool workers_;
    WorkerPool prioWorkers_;
    std::mutex adoptMutex_;
    std::vector<std::pair<UniqueFd, bool>> adopted_;  ///< handed over by adoptClient()
};

}  // namespace corral::daemon
