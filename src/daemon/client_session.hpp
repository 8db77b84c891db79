// SPDX-License-Identifier: LGPL-2.1-or-later
// ClientSession: one connected client: its socket, output queue, identity, opened driver,
// keepalive state and event registrations.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "drivers/interfaces/hypervisor.hpp"
#include "rpc/sasl_session.hpp"
#include "rpc/transport.hpp"
#include "util/unique_fd.hpp"
#include "util/uuid.hpp"

namespace corral::daemon {

/// Who is on the other end, as the kernel tells it (SO_PEERCRED) for unix sockets.
struct PeerIdentity {
    pid_t pid = -1;
    uid_t uid = static_cast<uid_t>(-1);
    gid_t gid = static_cast<gid_t>(-1);
    std::string address;  ///< "unix:PATH" or "IP;PORT" (SASL's form)
    std::string localAddress;  ///< "IP;PORT" of our end, for TCP
    std::string transport = "unix";  ///< "unix", "tcp", "tls"
    std::string x509Dn;              ///< TLS: the client certificate's subject
};

/// How a client proves who it is, per listening socket (auth_unix_rw, auth_tcp, auth_tls).
enum class AuthScheme { None, Sasl };

/// One event registration of a client (virConnectDomainEventRegisterAny).
struct EventCallback {
    int eventId = 0;
    std::optional<Uuid> domain;  ///< only events of this domain
    bool legacy = false;         ///< registered with the pre-callback procedures (167)
};

/// One storage pool event registration (virConnectStoragePoolEventRegisterAny).
struct PoolEventCallback {
    int eventId = 0;
    std::optional<Uuid> pool;  ///< only events of this pool
};

class DaemonStream;

class ClientSession {
public:
    /// `wakeIo` asks the I/O thread to flush this client's output (called from workers).
    ClientSession(std::unique_ptr<rpc::Transport> transport, bool readOnlySocket, PeerIdentity peer,
                  std::function<void()> wakeIo);
    /// A unix socket client.
    ClientSession(UniqueFd fd, bool readOnlySocket, PeerIdentity peer, std::function<void()> wakeIo);
    ~ClientSession();

    [[nodiscard]] int fd() const { return fd_; }
    /// Reads what the transport has (I/O thread): the bytes, decoded by the security layer once
    /// one is on. As recv(2): 0 = end of stream, -1 with errno.
    ssize_t receive(std::span<std::uint8_t> buffer, std::vector<std::uint8_t>& decoded, std::vector<UniqueFd>& fds);
    [[nodiscard]] bool hasBufferedInput() const;
    /// Turns SASL's security layer on: the packets sent from now on are encoded, everything read
    /// from now on is decoded. Called right before the final authentication reply is queued, so
    /// that reply still goes out in the clear (libvirt's switch point); the client sends nothing
    /// until it has that reply.
    void startSecurityLayer(std::shared_ptr<rpc::SecurityLayer> layer, std::vector<std::uint8_t> lastClearPacket);
    [[nodiscard]] std::uint64_t id() const { return id_; }
    [[nodiscard]] const PeerIdentity& peer() const { return peer_; }

    /// Queues a whole packet. Tries to write it at once when nothing is queued; the rest goes
    /// out from the I/O thread. Thread-safe; silently drops data once the client is closed.
    /// `fds` (a REPLY_WITH_FDS) follow the packet, one sendmsg() each; they close once sent.
    void send(std::vector<std::uint8_t> packet, std::vector<UniqueFd> fds = {});
    /// Queues an event packet, unless events already queued for this client (written to no
    /// socket yet) exceed `limit` bytes: then nothing is queued and false is returned, and the
    /// caller ends the connection (libvirt's answer to a client that falls too far behind; the
    /// protocol has no way to say "events were lost").
    bool sendEvent(std::vector<std::uint8_t> packet, std::size_t limit);
    /// Blocks until the queued output is below `limit` bytes, the session is closed or
    /// `abandon()` turns true (checked at least once a second): what a producer that can wait
    /// (a console relay) does instead of queueing without bound. False when closed or abandoned.
    bool waitForRoom(std::size_t limit, const std::function<bool()>& abandon);
    /// Holds `packet` back until `due` (an authentication answer's wait, auth_guard.hpp); the I/O
    /// thread's timer releases it, at one-second resolution. `closeAfter` ends the connection once
    /// it went out (too many failed attempts). `beforeSend` runs on release, right before the
    /// packet is queued (a held success takes effect then); `layer` is switched on with it, as
    /// startSecurityLayer() does.
    void sendAt(std::vector<std::uint8_t> packet, std::chrono::steady_clock::time_point due, bool closeAfter,
                std::shared_ptr<rpc::SecurityLayer> layer = nullptr, std::function<void()> beforeSend = nullptr);
    /// Whether a reply is still held back by sendAt().
    [[nodiscard]] bool hasHeldReplies() const;
    /// Whether descriptors can be passed to this client (a unix socket).
    [[nodiscard]] bool passesDescriptors() const { return transport_->passesDescriptors(); }
    /// Sends what sendAt() held whose time has come (I/O thread). True when the session is to
    /// be closed now.
    bool releaseDue(std::chrono::steady_clock::time_point now);
    /// Writes as much queued output as the socket takes (I/O thread). False on a fatal error.
    bool flush();
    [[nodiscard]] bool wantsWrite() const;
    /// Bytes waiting in the output queue (to stop reading from a client that does not read).
    [[nodiscard]] std::size_t queuedBytes() const;

    /// Marks the session dead: later sends are dropped; the socket is shut down so a blocked peer
    /// wakes up, and the I/O thread is woken to forget it. Any thread. The fd itself is closed
    /// when the last reference goes away.
    void markClosed();
    [[nodiscard]] bool closed() const { return closed_.load(); }

    // --- protocol state (guarded by stateMutex()) ---
    std::mutex& stateMutex() const { return stateMutex_; }
    bool readOnly = false;
    AuthScheme authScheme = AuthScheme::None;  ///< what the listener demands
    bool authenticated = true;                 ///< false until authScheme is satisfied
    std::string saslUser;                      ///< after SASL
    std::string x509Dn;                        ///< the TLS client certificate's subject
    unsigned failedAuthAttempts = 0;
    std::shared_ptr<rpc::SaslServer> sasl;     ///< the SASL exchange in progress (dispatch_auth.cpp)
    std::string saslMechanism;                 ///< the one AUTH_SASL_START chose
    std::string saslClaimedUser;               ///< the user name the client gave so far (AuthGuard)
    drivers::HypervisorDriver* driver = nullptr;
    /// The connection's hold on `driver` (HypervisorDriver::holdConnection): released with the
    /// session, once no call of it runs any more.
    std::shared_ptr<void> driverHold;
    bool closeCallbackRegistered = false;

    // --- events. Lock order: a driver's event bus may call in with eventMutex() taken after its
    // own lock, so nothing holding eventMutex() may call into a driver. ---
    std::mutex& eventMutex() const { return eventMutex_; }
    std::map<int, EventCallback> eventCallbacks;  ///< by callbackID, guarded by eventMutex()
    std::mutex& subscriptionMutex() const { return subscriptionMutex_; }
    drivers::HypervisorDriver* eventDriver = nullptr;  ///< guarded by subscriptionMutex()
    int eventSinkId = 0;                               ///< guarded by subscriptionMutex()
    std::map<int, PoolEventCallback> poolEventCallbacks;  ///< by callbackID, guarded by eventMutex()
    drivers::StorageFacet* poolEventSource = nullptr;     ///< guarded by subscriptionMutex()
    int poolEventSinkId = 0;                              ///< guarded by subscriptionMutex()

    // --- keepalive (I/O thread only, except `keepaliveEnabled`) ---
    std::atomic<bool> keepaliveEnabled{false};
    std::chrono::steady_clock::time_point lastReceived;
    unsigned pingsUnanswered = 0;

    /// Calls queued or running on workers, for max_client_requests.
    std::atomic<unsigned> inFlight{0};
    /// Bytes of events that may wait for this client to read them (max_queued_events_kib); set
    /// before the session is served, immutable after.
    std::size_t maxQueuedEvents = 4u << 20;

    // --- streams (consoles, volume uploads and downloads), by the serial of the call that
    // opened them ---
    void addStream(std::shared_ptr<DaemonStream> stream);
    [[nodiscard]] std::shared_ptr<DaemonStream> stream(std::uint32_t serial) const;
    void removeStream(std::uint32_t serial);
    /// Closes every stream (the client went away).
    void closeStreams();
    /// What this client sent on its streams that they have not used yet (console keys, upload
    /// data): past DaemonStream::kMaxPendingInput the I/O thread stops reading the client.
    [[nodiscard]] std::size_t streamInputPending() const;
    /// Asks the I/O thread to look at this client again (a stream took the keys it held).
    void wake() {
        if (wakeIo_) {
            wakeIo_();
        }
    }

private:
    std::unique_ptr<rpc::Transport> transport_;
    int fd_;
    // SASL's layer, guarded by outMutex_: input is decoded from just before the last clear
    // packet goes out (the client answers only after it), output encoded from just after it.
    std::shared_ptr<rpc::SecurityLayer> readLayer_;
    std::shared_ptr<rpc::SecurityLayer> writeLayer_;
    const std::uint64_t id_;
    PeerIdentity peer_;
    std::function<void()> wakeIo_;
    mutable std::mutex outMutex_;
    struct Outgoing {
        std::vector<std::uint8_t> bytes;
        std::vector<UniqueFd> fds;
        std::size_t fdsSent = 0;
        bool event = false;  ///< counted in eventBytes_ until written
    };
    /// send() with outMutex_ held; true when the I/O thread must be woken to write the rest.
    bool sendLocked(std::vector<std::uint8_t> packet, std::vector<UniqueFd> fds, bool event = false);
    /// Writes what the socket takes of `item` from `offset`; true when all of it went out.
    /// False with errno set otherwise (EAGAIN: try again later).
    bool writeSome(Outgoing& item, std::size_t& offset);

    struct Held {
        std::vector<std::uint8_t> packet;
        std::chrono::steady_clock::time_point due;
        bool closeAfter = false;
        std::shared_ptr<rpc::SecurityLayer> layer;
        std::function<void()> beforeSend;
    };
    std::vector<Held> held_;  ///< guarded by outMutex_
    std::deque<Outgoing> out_;
    std::size_t outOffset_ = 0;  ///< bytes of out_.front() already written
    std::size_t outBytes_ = 0;
    std::size_t eventBytes_ = 0;  ///< of outBytes_, in queued events; guarded by outMutex_
    std::condition_variable roomCv_;  ///< output written or session closed (waitForRoom)
    std::atomic<bool> closed_{false};
    mutable std::mutex stateMutex_;
    mutable std::mutex eventMutex_;
    mutable std::mutex subscriptionMutex_;
    mutable std::mutex streamMutex_;
    std::map<std::uint32_t, std::shared_ptr<DaemonStream>> streams_;
};

}  // namespace corral::daemon
