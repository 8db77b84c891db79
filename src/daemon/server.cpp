// SPDX-License-Identifier: LGPL-2.1-or-later
// Server: the epoll loop, listeners, packet assembly, keepalive and hand-off to workers.
#include "daemon/server.hpp"

#include "daemon/daemon_stream.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "daemon/dispatcher.hpp"
#include "rpc/generated/keepalive_protocol.hpp"
#include "rpc/generated/remote_protocol.hpp"
#include "util/logging.hpp"
#include "util/tcp_socket.hpp"
#include "util/unix_socket.hpp"

namespace corral::daemon {

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;

/// The largest packet a client sends before it has authenticated: AUTH_SASL_START with a full
/// token (XDR's char<> takes four bytes a byte) and a mechanism name.
constexpr std::size_t kUnauthenticatedPacketMax =
    rpc::kLengthSize + rpc::kHeaderSize + 4 * rpc::proto::REMOTE_AUTH_SASL_DATA_MAX + 4096;

// epoll user data: listeners and the two service fds are told apart by a tag in the top bits.
constexpr std::uint64_t kTagClient = 0;
constexpr std::uint64_t kTagListener = 1ull << 32;
constexpr std::uint64_t kTagWake = 2ull << 32;
constexpr std::uint64_t kTagTimer = 3ull << 32;

/// "IP;PORT" of a TCP socket's peer or local end: the form SASL wants for its addresses.
std::string socketAddressText(int fd, bool peer) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                  : ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    char host[NI_MAXHOST] = "?";
    char port[NI_MAXSERV] = "0";
    if (rc == 0) {
        ::getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, port, sizeof port,
                      NI_NUMERICHOST | NI_NUMERICSERV);
    }
    return std::string(host) + ";" + port;
}

std::vector<std::uint8_t> keepalivePacket(std::int32_t proc) {
    rpc::MessageHeader h{};
    h.prog = rpc::proto::KEEPALIVE_PROGRAM;
    h.vers = rpc::proto::KEEPALIVE_PROTOCOL_VERSION;
    h.proc = proc;
    h.type = rpc::MessageType::Message;
    h.serial = 0;
    h.status = rpc::MessageStatus::Ok;
    return rpc::buildPacket(h, std::span<const std::uint8_t>{});
}

}  // namespace

Server::Server(Dispatcher& dispatcher, ServerLimits limits)
    : dispatcher_(dispatcher),
      limits_(limits),
      anonymous_(limits.maxAnonymousClients, limits.maxAnonymousClientsPerSource),
      workers_("corrald-worker", limits.minWorkers, limits.workers),
      prioWorkers_("corrald-prio", limits.prioWorkers, limits.prioWorkers) {}

Server::~Server() {
    workers_.stop();
    prioWorkers_.stop();
    // Streams end with their clients: an upload still open lets go of its volume before the
    // drivers go (the storage driver waits for its uploads when it is destroyed).
    for (auto& [fd, io] : clients_) {
        io.session->markClosed();
        io.session->closeStreams();
    }
    for (auto& l : listeners_) {
        if (!l.tcp && !l.path.empty()) {
            ::unlink(l.path.c_str());
        }
    }
}

Result<std::unique_ptr<Server>> Server::create(Dispatcher& dispatcher, ServerLimits limits) {
    std::unique_ptr<Server> server(new Server(dispatcher, limits));
    server->epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
    if (!server->epoll_) {
        return failErrno(errno, "cannot create epoll instance");
    }
    server->wakeFd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!server->wakeFd_) {
        return failErrno(errno, "cannot create eventfd");
    }
    server->timerFd_.reset(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    if (!server->timerFd_) {
        return failErrno(errno, "cannot create timerfd");
    }
    itimerspec tick{};
    tick.it_interval.tv_sec = 1;
    tick.it_value.tv_sec = 1;
    if (timerfd_settime(server->timerFd_.get(), 0, &tick, nullptr) != 0) {
        return failErrno(errno, "cannot arm keepalive timer");
    }
    // A quarter of the descriptors (at most 256) stay for the read-write socket and the guests.
    rlimit files{};
    rlim_t soft = getrlimit(RLIMIT_NOFILE, &files) == 0 ? files.rlim_cur : 1024;
    rlim_t capped = std::min<rlim_t>(soft, 1u << 30);
    server->fdCeiling_ = static_cast<int>(capped - std::min<rlim_t>(256, capped / 4));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kTagWake;
    epoll_ctl(server->epoll_.get(), EPOLL_CTL_ADD, server->wakeFd_.get(), &ev);
    ev.data.u64 = kTagTimer;
    epoll_ctl(server->epoll_.get(), EPOLL_CTL_ADD, server->timerFd_.get(), &ev);
    return server;
}

Result<void> Server::listenUnix(const std::string& path, mode_t mode, bool readOnly, gid_t group, AuthScheme auth) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) {
        return fail(ErrorCode::InvalidArg, "socket path '" + path + "' is too long");
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) {
        return failErrno(errno, "cannot create socket '" + path + "'");
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            return fail(ErrorCode::OperationFailed,
                        "'" + path + "' exists and is not a socket; refusing to replace it");
        }
        // A socket file nobody answers on is left over from a killed daemon: replace it.
        UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
            return fail(ErrorCode::OperationFailed,
                        "another daemon is already listening on '" + path + "'");
        }
        ::unlink(path.c_str());
    }
    // Create the socket with no access at all, then open it up: no window where it is wider.
    mode_t old = ::umask(0777);
    int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    int bindErrno = errno;
    ::umask(old);
    if (rc != 0) {
        return failErrno(bindErrno, "cannot bind socket '" + path + "'");
    }
    if (group != static_cast<gid_t>(-1) && ::chown(path.c_str(), static_cast<uid_t>(-1), group) != 0) {
        return failErrno(errno, "cannot change group of socket '" + path + "'");
    }
    if (::chmod(path.c_str(), mode) != 0) {
        return failErrno(errno, "cannot set mode of socket '" + path + "'");
    }
    if (::listen(fd.get(), 256) != 0) {
        return failErrno(errno, "cannot listen on socket '" + path + "'");
    }
    Listener l;
    l.fd = std::move(fd);
    l.path = path;
    l.readOnly = readOnly;
    l.auth = auth;
    l.slots = ConnectionSlots(limits_.maxClients, limits_.maxClientsPerUid);
    return addListener(std::move(l));
}

Result<void> Server::addListener(Listener listener) {
    listeners_.push_back(std::move(listener));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kTagListener | (listeners_.size() - 1);
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listeners_.back().fd.get(), &ev) != 0) {
        return failErrno(errno, "cannot watch '" + listeners_.back().path + "'");
    }
    return {};
}

Result<void> Server::listenTcp(const std::string& address, const std::string& port, AuthScheme auth,
                               TlsAcceptor tls) {
    CORRAL_ASSIGN_OR_RETURN(auto sockets, listenTcpSockets(address, port));
    for (auto& fd : sockets) {
        Listener l;
        l.fd = std::move(fd);
        l.path = address + ":" + port;
        l.tcp = true;
        l.auth = auth;
        l.tls = tls;
        l.slots = ConnectionSlots(limits_.maxClients, 0);
        CORRAL_TRY(addListener(std::move(l)));
    }
    return {};
}

Result<void> Server::adoptClient(UniqueFd fd, bool readOnly) {
    int flags = fcntl(fd.get(), F_GETFL);
    if (flags < 0 || fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
        return failErrno(errno, "cannot make client socket non-blocking");
    }
    {
        std::lock_guard lock(adoptMutex_);
        adopted_.emplace_back(std::move(fd), readOnly);
    }
    wake();
    return {};
}

void Server::wake() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wakeFd_.get(), &one, sizeof one);
}

void Server::stop() {
    stopping_ = true;
    wake();
}

std::size_t Server::clientCount() const { return clientCount_.load(); }

void Server::addClient(UniqueFd fd, std::size_t listener, PeerIdentity peer) {
    if (!admit(fd.get(), listener, peer)) {
        return;  // fd closes here
    }
    const Listener& l = listeners_[listener];
    int raw = fd.get();
    if (!l.tls) {
        startSession(std::make_unique<rpc::SocketTransport>(std::move(fd), !l.tcp), listener, l.readOnly, l.auth,
                     std::move(peer), false);
        return;
    }
    auto transport = l.tls(std::move(fd));
    if (!transport) {
        logWarning("cannot start TLS with " + peer.address + ": " + transport.error().wireMessage());
        releaseSlots(raw, listener);
        return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = kTagClient | static_cast<std::uint32_t>(raw);
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, raw, &ev) != 0) {
        logError(std::string("cannot watch client socket: ") + std::strerror(errno));
        releaseSlots(raw, listener);
        return;
    }
    handshakes_.emplace(raw, Handshake{std::move(*transport), listener, std::move(peer),
                                       std::chrono::steady_clock::now(), false});
    continueHandshake(raw);
}

void Server::continueHandshake(int fd) {
    auto it = handshakes_.find(fd);
    if (it == handshakes_.end()) {
        return;
    }
    Handshake& h = it->second;
    auto drop = [&](const std::string& why) {
        logWarning("TLS client " + h.peer.address + " refused: " + why);
        if (auditor_) {
            auditor_(h.peer, "x509", h.transport->peerIdentity(), false, why);
        }
        dropHandshake(fd);
    };
    rpc::HandshakingTransport::Progress progress = rpc::HandshakingTransport::Progress::Done;
    if (!h.confirming) {
        auto step = h.transport->handshake();
        if (!step) {
            drop(step.error().wireMessage());
            return;
        }
        progress = *step;
        h.confirming = progress == rpc::HandshakingTransport::Progress::Done;
    }
    if (h.confirming) {
        // libvirt's clients wait for one byte, 1, before their first packet.
        const std::uint8_t confirm = 1;
        ssize_t n = h.transport->send(std::span<const std::uint8_t>(&confirm, 1));
        if (n == 1) {
            h.peer.x509Dn = h.transport->peerIdentity();
            auto transport = std::move(h.transport);
            std::size_t listener = h.listener;
            const Listener& l = listeners_[listener];
            PeerIdentity peer = std::move(h.peer);
            handshakes_.erase(it);
            startSession(std::move(transport), listener, l.readOnly, l.auth, std::move(peer), true);
            if (auditor_) {
                auto started = clients_.find(fd);
                if (started != clients_.end()) {
                    auditor_(started->second.session->peer(), "x509", started->second.session->x509Dn, true, "");
                }
            }
            return;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            drop("cannot send the TLS confirmation byte");
            return;
        }
        progress = rpc::HandshakingTransport::Progress::WantWrite;
    }
    epoll_event ev{};
    ev.events = EPOLLRDHUP | (progress == rpc::HandshakingTransport::Progress::WantWrite ? EPOLLOUT : EPOLLIN);
    ev.data.u64 = kTagClient | static_cast<std::uint32_t>(fd);
    epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
}

void Server::startSession(std::unique_ptr<rpc::Transport> transport, std::size_t listener, bool readOnly,
                          AuthScheme auth, PeerIdentity peer, bool alreadyWatched) {
    int raw = transport->fd();
    auto session = std::make_shared<ClientSession>(std::move(transport), readOnly, std::move(peer),
                                                   [this] { wake(); });
    session->authScheme = auth;
    session->authenticated = auth == AuthScheme::None;
    session->x509Dn = session->peer().x509Dn;
    session->maxQueuedEvents = limits_.maxQueuedEvents;
    ClientIo io;
    io.session = std::move(session);
    io.listener = listener;
    io.connectedAt = std::chrono::steady_clock::now();
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = kTagClient | static_cast<std::uint32_t>(raw);
    if (epoll_ctl(epoll_.get(), alreadyWatched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, raw, &ev) != 0) {
        logError(std::string("cannot watch client socket: ") + std::strerror(errno));
        releaseSlots(raw, listener);
        return;
    }
    auto [it, added] = clients_.emplace(raw, std::move(io));
    clientCount_ = clients_.size();
    // A TLS client may have sent its first packet with the handshake's last bytes.
    if (added && it->second.session->hasBufferedInput()) {
        readClient(it->second);
    }
}

void Server::releaseHeldReplies() {
    auto now = std::chrono::steady_clock::now();
    std::vector<int> done;
    for (auto& [fd, io] : clients_) {
        if (io.session->releaseDue(now)) {
            done.push_back(fd);
        }
        if (io.session->wantsWrite() && !io.writeArmed) {
            io.writeArmed = true;
            updateInterest(io);
        }
    }
    for (int fd : done) {
        // The last failed attempt's answer was sent (or queued): give it a moment on the wire
        // by shutting down only after it left; a queued rest is dropped, the peer sees EOF.
        clients_[fd].session->flush();
        closeClient(fd, "too many failed authentication attempts");
    }
}

void Server::acceptClients(Listener& listener) {
    while (true) {
        int raw = ::accept4(listener.fd.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (raw < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EMFILE || errno == ENFILE) {
                logWarning(std::string("out of file descriptors accepting on '") + listener.path +
                           "': not accepting for a second");
                pauseListeners();
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                logWarning(std::string("accept failed on '") + listener.path + "': " + std::strerror(errno));
            }
            return;
        }
        UniqueFd fd(raw);
        PeerIdentity peer;
        if (listener.tcp) {
            peer.address = socketAddressText(raw, true);
            peer.localAddress = socketAddressText(raw, false);
            peer.transport = listener.tls ? "tls" : "tcp";
        } else {
            ucred cred{};
            socklen_t len = sizeof cred;
            if (getsockopt(raw, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
                peer.pid = cred.pid;
                peer.uid = cred.uid;
                peer.gid = cred.gid;
            }
            peer.address = "unix:" + listener.path;
        }
        addClient(std::move(fd), static_cast<std::size_t>(&listener - listeners_.data()), std::move(peer));
    }
}

void Server::updateInterest(ClientIo& io) {
    epoll_event ev{};
    ev.events = EPOLLRDHUP;
    if (!io.readingPaused) {
        ev.events |= EPOLLIN;
    }
    if (io.writeArmed) {
        ev.events |= EPOLLOUT;
    }
    ev.data.u64 = kTagClient | static_cast<std::uint32_t>(io.session->fd());
    epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, io.session->fd(), &ev);
}

void Server::closeClient(int fd, const char* why) {
    auto it = clients_.find(fd);
    if (it == clients_.end()) {
        return;
    }
    logDebug(std::string("closing client ") + std::to_string(it->second.session->id()) + ": " + why);
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    auto session = it->second.session;
    std::size_t listener = it->second.listener;
    std::size_t held = it->second.heldBytes;
    bool waited = it->second.waitingForMemory;
    clients_.erase(it);  // its assembler's memory goes with it
    clientCount_ = clients_.size();
    if (listener != kNoListener) {
        Listener& l = listeners_[listener];
        l.incompleteBytes -= std::min(l.incompleteBytes, held);
        l.memoryWaiters -= waited && l.memoryWaiters > 0 ? 1 : 0;
        releaseSlots(fd, listener);
        if (held > 0) {
            resumeMemoryWaiters(listener);
        }
    }
    session->markClosed();
    session->closeStreams();
    dispatcher_.clientClosed(*session);
    // The fd closes when the last worker holding `session` finishes: never reused under them.
}

void Server::handlePacket(ClientIo& io, rpc::Packet packet) {
    auto& session = io.session;
    const auto& h = packet.header;
    if (h.prog == rpc::proto::KEEPALIVE_PROGRAM) {
        if (h.proc == rpc::proto::KEEPALIVE_PROC_PING && h.type == rpc::MessageType::Message) {
            session->send(keepalivePacket(rpc::proto::KEEPALIVE_PROC_PONG));
        }
        return;  // a PONG needs nothing beyond the receive time already recorded
    }
    if (h.type == rpc::MessageType::Stream || h.type == rpc::MessageType::StreamHole) {
        // Console keys, upload data and holes, or the client ending its side of a stream. A
        // packet for a stream that is gone (it failed, and said so) is dropped.
        if (auto stream = session->stream(h.serial)) {
            if (h.type == rpc::MessageType::StreamHole) {
                stream->hole(packet.payload);
            } else if (h.status == rpc::MessageStatus::Continue) {
                stream->write(packet.payload);
            } else {
                stream->finishByClient(h.status == rpc::MessageStatus::Error);
            }
        }
        return;
    }
    if (h.type != rpc::MessageType::Call && h.type != rpc::MessageType::CallWithFds) {
        // Replies and messages from a client mean nothing to us.
        logDebug("ignoring packet of type " + std::to_string(static_cast<unsigned>(h.type)) +
                 " from client " + std::to_string(session->id()));
        return;
    }
    if (dispatcher_.answerInline(session, packet)) {
        return;
    }
    session->inFlight++;
    bool high = dispatcher_.isHighPriority(h);
    // std::function needs a copyable job; the packet may own descriptors, so it is shared.
    auto job = [this, session, p = std::make_shared<rpc::Packet>(std::move(packet))]() {
        dispatcher_.handleCall(session, std::move(*p));
        if (session->inFlight-- >= limits_.maxClientRequests) {
            wake();  // the I/O thread may resume reading this client
        }
    };
    (high ? prioWorkers_ : workers_).submit(std::move(job));
}

bool Server::mustHoldPackets(const ClientIo& io) const {
    // Any bound: calls in workers, or replies (inline ones too) the client has not read.
    // Or console keys the guest has not taken: a guest that never reads holds its typist back.
    return io.session->inFlight.load() >= limits_.maxClientRequests ||
           io.session->queuedBytes() > limits_.maxQueuedOutput ||
           io.session->streamInputPending() > DaemonStream::kMaxPendingInput;
}

bool Server::mustPauseReading(const ClientIo& io) const { return io.waitingForMemory || mustHoldPackets(io); }

void Server::drainPackets(ClientIo& io) {
    // Inline answers do not count in inFlight: a client that does not read them is held back
    // by its queued output instead. Packets already whole are served even while the client
    // waits for incomplete-packet memory.
    while (!mustHoldPackets(io)) {
        auto packet = io.assembler.next();
        if (!packet) {
            break;
        }
        handlePacket(io, std::move(*packet));
    }
}

void Server::readClient(ClientIo& io) {
    std::uint8_t buf[kReadChunk];
    std::vector<std::uint8_t> decoded;
    int fd = io.session->fd();
    while (true) {
        std::vector<UniqueFd> fds;  // only a unix-socket client can pass descriptors (CALL_WITH_FDS)
        ssize_t n = io.session->receive(std::span<std::uint8_t>(buf, sizeof buf), decoded, fds);
        if (n == 0) {
            closeClient(fd, "end of file");
            return;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            closeClient(fd, "read error");
            return;
        }
        io.session->lastReceived = std::chrono::steady_clock::now();
        io.session->pingsUnanswered = 0;
        {
            // Before authentication, no packet needs more than a SASL step's room.
            std::lock_guard lock(io.session->stateMutex());
            io.assembler.setMaxPacket(io.session->authenticated ? rpc::kPacketMax : kUnauthenticatedPacketMax);
        }
        auto fed = io.assembler.feed(decoded, std::move(fds));
        if (!fed) {
            // A bad length word means we can no longer find packet boundaries: drop the client.
            logWarning("client " + std::to_string(io.session->id()) + " sent a malformed packet: " +
                       fed.error().wireMessage());
            closeClient(fd, "malformed packet");
            return;
        }
        accountPending(io);
        drainPackets(io);
        if (io.session->closed()) {
            return;
        }
        if (mustPauseReading(io)) {
            io.readingPaused = true;
            updateInterest(io);
            return;
        }
        if (static_cast<std::size_t>(n) < sizeof buf && !io.session->hasBufferedInput()) {
            break;
        }
    }
}

void Server::serviceWakeups() {
    std::uint64_t count = 0;
    [[maybe_unused]] auto n = ::read(wakeFd_.get(), &count, sizeof count);
    std::vector<std::pair<UniqueFd, bool>> adopted;
    {
        std::lock_guard lock(adoptMutex_);
        adopted.swap(adopted_);
    }
    for (auto& [fd, readOnly] : adopted) {
        PeerIdentity peer;
        peer.pid = getpid();
        peer.uid = getuid();
        peer.gid = getgid();
        peer.address = "embedded";
        startSession(std::make_unique<rpc::SocketTransport>(std::move(fd), true), kNoListener, readOnly,
                     AuthScheme::None, std::move(peer), false);
    }
    std::vector<int> dead;
    for (auto& [fd, io] : clients_) {
        if (io.session->closed()) {
            dead.push_back(fd);
            continue;
        }
        if (io.readingPaused && !mustPauseReading(io)) {
            drainPackets(io);
            if (!mustPauseReading(io)) {
                resumeReading(io);
            }
        }
        bool wants = io.session->wantsWrite();
        if (wants != io.writeArmed) {
            io.writeArmed = wants;
            updateInterest(io);
        }
    }
    for (int fd : dead) {
        closeClient(fd, "closed by the daemon");
    }
}

void Server::pauseListeners() {
    if (listenersPaused_) {
        return;
    }
    for (auto& l : listeners_) {
        epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, l.fd.get(), nullptr);
    }
    listenersPaused_ = true;
}

void Server::resumeListeners() {
    if (!listenersPaused_) {
        return;
    }
    for (std::size_t i = 0; i < listeners_.size(); ++i) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = kTagListener | i;
        epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listeners_[i].fd.get(), &ev);
    }
    listenersPaused_ = false;
}

void Server::keepaliveTick() {
    std::uint64_t expirations = 0;
    [[maybe_unused]] auto n = ::read(timerFd_.get(), &expirations, sizeof expirations);
    resumeListeners();
    enforceAuthDeadline();
    enforcePacketDeadline();
    releaseHeldReplies();
    if (limits_.keepaliveInterval <= 0) {
        return;
    }
    auto now = std::chrono::steady_clock::now();
    auto interval = std::chrono::seconds(limits_.keepaliveInterval);
    std::vector<int> dead;
    for (auto& [fd, io] : clients_) {
        auto& s = *io.session;
        // Only clients that asked for keepalive (SUPPORTS_FEATURE 10) are ever pinged.
        if (!s.keepaliveEnabled.load()) {
            continue;
        }
        if (now - s.lastReceived < interval * (s.pingsUnanswered + 1)) {
            continue;
        }
        if (s.pingsUnanswered >= limits_.keepaliveCount) {
            dead.push_back(fd);
            continue;
        }
        s.pingsUnanswered++;
        s.send(keepalivePacket(rpc::proto::KEEPALIVE_PROC_PING));
    }
    for (int fd : dead) {
        logWarning("closing client: no keepalive response");
        closeClient(fd, "keepalive timeout");
    }
}

void Server::run() {
    epoll_event events[64];
    while (!stopping_.load()) {
        int n = epoll_wait(epoll_.get(), events, 64, -1);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            logError(std::string("epoll_wait failed: ") + std::strerror(errno));
            break;
        }
        for (int i = 0; i < n; ++i) {
            std::uint64_t data = events[i].data.u64;
            std::uint64_t tag = data & 0xFFFFFFFF00000000ull;
            if (tag == kTagWake) {
                serviceWakeups();
            } else if (tag == kTagTimer) {
                keepaliveTick();
            } else if (tag == kTagListener) {
                acceptClients(listeners_[data & 0xFFFFFFFFu]);
            } else {
                int fd = static_cast<int>(data & 0xFFFFFFFFu);
                if (handshakes_.count(fd) != 0) {
                    continueHandshake(fd);
                    continue;
                }
                auto it = clients_.find(fd);
                if (it == clients_.end()) {
                    continue;
                }
                if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                    readClient(it->second);
                    it = clients_.find(fd);
                    if (it == clients_.end()) {
                        continue;
                    }
                }
                if (events[i].events & EPOLLOUT) {
                    ClientIo& io = it->second;
                    if (!io.session->flush()) {
                        closeClient(fd, "write error");
                        continue;
                    }
                    bool wants = io.session->wantsWrite();
                    bool changed = wants != io.writeArmed;
                    io.writeArmed = wants;
                    if (io.readingPaused && !mustPauseReading(io)) {
                        // The client caught up with its output: read its requests again.
                        drainPackets(io);
                        if (!mustPauseReading(io)) {
                            resumeReading(io);  // updates the interest too
                            continue;
                        }
                    }
                    if (changed) {
                        updateInterest(io);
                    }
                }
            }
        }
    }
    std::vector<int> all;
    for (auto& [fd, io] : clients_) {
        all.push_back(fd);
    }
    for (int fd : all) {
        closeClient(fd, "daemon stopping");
    }
}

}  // namespace corral::daemon
