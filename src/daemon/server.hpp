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
#include <optional>
#include <string>
#include <vector>

#include "daemon/client_session.hpp"
#include "daemon/connection_slots.hpp"
#include "daemon/worker_pool.hpp"
#include "rpc/packet.hpp"
#include "rpc/transport.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::daemon {

class Dispatcher;

struct ServerLimits {
    /// Clients of each listening socket, apart: a full socket refuses only its own newcomers, so
    /// that no client of the world-accessible read-only socket (or of TCP) can lock root out of
    /// the read-write one.
    unsigned maxClients = 5000;
    /// Connections one local uid may hold on one unix socket (uid 0 is not limited: it owns the
    /// daemon). 0: no limit.
    unsigned maxClientsPerUid = 64;
    unsigned maxClientRequests = 5;
    unsigned minWorkers = 5;  ///< started at once; more on demand, up to `workers`
    unsigned workers = 20;
    unsigned prioWorkers = 5;
    int keepaliveInterval = 5;  ///< seconds; <= 0 disables server pings
    unsigned keepaliveCount = 5;
    /// A client whose unsent output exceeds this is not read from until it catches up.
    std::size_t maxQueuedOutput = 8u << 20;
    /// Events waiting for one client to read them; a client past it is disconnected.
    std::size_t maxQueuedEvents = 4u << 20;
    /// Connections that have not authenticated yet (TLS handshakes, SASL in progress), daemon
    /// wide: when they are all taken, the oldest of the source holding most gives way to a
    /// newcomer, so idle ones cannot lock authenticated clients out.
    unsigned maxAnonymousClients = 20;
    /// Of those, what one source address (an IPv6 /64) or local uid may hold; 0: no limit.
    unsigned maxAnonymousClientsPerSource = 5;
    /// Seconds a connection may take to authenticate (sshd's LoginGraceTime).
    int authDeadline = 30;
    /// Memory that packets still arriving on one listening socket may hold, all its clients
    /// together. A client whose packet in progress finds it spent is not read from until
    /// others' packets complete or time out.
    std::size_t maxIncompletePackets = 128u << 20;
    /// Seconds a packet may take from its first byte to its last, plus one per 64 KiB of it
    /// received (a slow link sending a large definition); <= 0 disables.
    int packetDeadline = 30;
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

    static constexpr std::size_t kNoListener = ~std::size_t{0};

    struct Listener {
        UniqueFd fd;
        std::string path;  ///< unix socket path, or "ADDRESS:PORT" for messages
        bool readOnly = false;
        bool tcp = false;
        AuthScheme auth = AuthScheme::None;
        TlsAcceptor tls;
        /// Its connections (handshakes included), per uid on a unix socket.
        ConnectionSlots slots{0, 0};
        std::size_t incompleteBytes = 0;  ///< held by its clients' packets in progress
        unsigned memoryWaiters = 0;       ///< its clients paused for maxIncompletePackets
        std::chrono::steady_clock::time_point lastLog;  ///< of a refusal or a pause
        unsigned unlogged = 0;                          ///< refusals and pauses since
        /// The read-write unix socket: what root uses to repair anything else.
        [[nodiscard]] bool privileged() const { return !readOnly && !tcp; }
        /// Counts one more refusal or pause; true when it may be logged (once a second).
        bool mayLog(std::chrono::steady_clock::time_point now);
    };
    struct ClientIo {
        std::shared_ptr<ClientSession> session;
        rpc::PacketAssembler assembler;
        std::size_t listener = kNoListener;  ///< kNoListener: adopted (embedded)
        bool readingPaused = false;
        bool writeArmed = false;
        bool waitingForMemory = false;  ///< paused: its socket's incomplete-packet memory is spent
        std::size_t heldBytes = 0;      ///< its assembler's pendingBytes() when last counted
        std::uint64_t packetsSeen = 0;  ///< its assembler's completed() when last counted
        std::optional<std::chrono::steady_clock::time_point> packetSince;  ///< packet in progress
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
    /// Whether a new connection may be served, making room by closing what gives way
    /// (server_admission.cpp); counts it in the slots when it may. Refusals are logged.
    bool admit(int fd, std::size_t listener, const PeerIdentity& peer);
    /// Stops counting connection `fd` (closed, or its handshake dropped).
    void releaseSlots(int fd, std::size_t listener);
    /// Whether `fd` has proved nothing yet: a TLS handshake, or a session before its SASL.
    [[nodiscard]] bool isAnonymous(int fd) const;
    /// Closes a connection whatever its stage (handshake or session).
    void dropConnection(int fd, const char* why);
    void dropHandshake(int fd);
    /// Counts what the client's packet in progress holds against its socket's budget, starts
    /// or ends its packet deadline, and pauses it when the budget is spent.
    void accountPending(ClientIo& io);
    /// Lets clients paused for incomplete-packet memory read again once there is some.
    void resumeMemoryWaiters(std::size_t listener);
    /// Drops clients whose packet in progress is past packetDeadline.
    void enforcePacketDeadline();
    /// Reading resumes (max_client_requests or queued output allow it again).
    void resumeReading(ClientIo& io);
    /// Starts serving a connection whose transport is ready (plain, or TLS after its handshake).
    void startSession(std::unique_ptr<rpc::Transport> transport, std::size_t listener, bool readOnly, AuthScheme auth,
                      PeerIdentity peer,
                      bool alreadyWatched);
    /// Drives a TLS handshake; once done (and the peer accepted) sends libvirt's confirmation
    /// byte and starts the session. A refused peer is logged with the reason and dropped.
    void continueHandshake(int fd);
    /// Drops connections that did not authenticate within limits_.authDeadline.
    void enforceAuthDeadline();
    /// Sends the authentication answers held back as penalties whose time has come.
    void releaseHeldReplies();
    void readClient(ClientIo& io);
    /// Dispatches assembled packets while the client is under its request limit.
    void drainPackets(ClientIo& io);
    /// Whether the client's complete packets must wait before they are served: calls in
    /// workers, or replies it has not read.
    bool mustHoldPackets(const ClientIo& io) const;
    /// Whether its socket must not be read: the above, or waiting for incomplete-packet memory.
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
    ConnectionSlots anonymous_;  ///< unauthenticated connections of every socket; I/O thread only
    /// Descriptors a connection to any socket but the read-write one may not take: kept for
    /// root's clients and for starting guests when a flood nears RLIMIT_NOFILE.
    int fdCeiling_ = 0;
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
