// SPDX-License-Identifier: LGPL-2.1-or-later
// Server: who gets a connection (per-socket, per-uid and per-source slots, reclaiming idle
// unauthenticated ones), and the bounds on what a connected client can make the daemon hold
// (memory of packets in progress, how long a packet or an authentication may take).
#include <sys/epoll.h>

#include "daemon/server.hpp"
#include "util/logging.hpp"

namespace corral::daemon {

namespace {

using Clock = std::chrono::steady_clock;

/// Throughput a slow link is granted on top of packetDeadline: one second per this many bytes.
constexpr std::size_t kDeadlineBytesPerSecond = 64 * 1024;

std::string describePeer(const PeerIdentity& peer, bool unixSocket) {
    if (!unixSocket) {
        return peer.address;
    }
    return "uid " + std::to_string(peer.uid) + " (pid " + std::to_string(peer.pid) + ")";
}

}  // namespace

bool Server::Listener::mayLog(Clock::time_point now) {
    // A flood makes thousands of refusals a second: one line a second says it, with a count.
    ++unlogged;
    if (now - lastLog < std::chrono::seconds(1)) {
        return false;
    }
    lastLog = now;
    return true;
}

bool Server::admit(int fd, std::size_t index, const PeerIdentity& peer) {
    Listener& l = listeners_[index];
    const bool unixSocket = !l.tcp;
    const std::string key = unixSocket ? "uid " + std::to_string(peer.uid) : sourceKeyOfPeer(fd);
    auto refuse = [&](const std::string& why) {
        if (l.mayLog(Clock::now())) {
            logWarning("refusing connection from " + describePeer(peer, unixSocket) + " on '" + l.path + "': " + why +
                       (l.unlogged > 1 ? " (" + std::to_string(l.unlogged) + " refused since the last message)" : ""));
            l.unlogged = 0;
        }
        return false;
    };
    if (!l.privileged() && fd >= fdCeiling_) {
        return refuse("file descriptors are running out; the rest are kept for the read-write socket");
    }
    auto reclaimable = [this](int id) { return isAnonymous(id); };
    auto own = l.slots.decide(key, reclaimable, unixSocket && peer.uid == 0);
    if (!own.admitted) {
        return refuse((unixSocket ? "max_clients or max_clients_per_uid: " : "max_clients: ") + own.reason);
    }
    const bool anonymous = l.tls || l.auth != AuthScheme::None;
    ConnectionSlots::Decision anon;
    if (anonymous) {
        anonymous_.removeIf([this](int id) { return !isAnonymous(id); });
        anon = anonymous_.decide(key, reclaimable);
        if (!anon.admitted) {
            return refuse("max_anonymous_clients or max_anonymous_clients_per_source: " + anon.reason);
        }
    }
    for (const auto* d : {&own, &anon}) {
        if (d->evict && (handshakes_.count(*d->evict) != 0 || clients_.count(*d->evict) != 0)) {
            logDebug("closing an unauthenticated connection to make room for " + key + " on '" + l.path +
                     "' (" + d->reason + ")");
            dropConnection(*d->evict, "reclaimed for a new connection");
        }
    }
    l.slots.add(fd, key);
    if (anonymous) {
        anonymous_.add(fd, key);
    }
    return true;
}

void Server::releaseSlots(int fd, std::size_t listener) {
    anonymous_.remove(fd);
    if (listener != kNoListener) {
        listeners_[listener].slots.remove(fd);
    }
}

bool Server::isAnonymous(int fd) const {
    if (handshakes_.count(fd) != 0) {
        return true;
    }
    auto it = clients_.find(fd);
    if (it == clients_.end()) {
        return false;
    }
    std::lock_guard lock(it->second.session->stateMutex());
    return !it->second.session->authenticated;
}

void Server::dropHandshake(int fd) {
    auto it = handshakes_.find(fd);
    if (it == handshakes_.end()) {
        return;
    }
    std::size_t listener = it->second.listener;
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    handshakes_.erase(it);  // closes the socket
    releaseSlots(fd, listener);
}

void Server::dropConnection(int fd, const char* why) {
    if (handshakes_.count(fd) != 0) {
        dropHandshake(fd);
    } else {
        closeClient(fd, why);
    }
}

void Server::accountPending(ClientIo& io) {
    const std::size_t held = io.assembler.pendingBytes();
    const std::uint64_t seen = io.assembler.completed();
    if (held == 0) {
        io.packetSince.reset();
    } else if (!io.packetSince || seen != io.packetsSeen) {
        io.packetSince = Clock::now();  // a new packet started
    }
    io.packetsSeen = seen;
    const bool shrank = held < io.heldBytes;
    if (io.listener == kNoListener) {
        io.heldBytes = held;
        return;
    }
    Listener& l = listeners_[io.listener];
    l.incompleteBytes = l.incompleteBytes - std::min(l.incompleteBytes, io.heldBytes) + held;
    io.heldBytes = held;
    if (held > 0 && l.incompleteBytes > limits_.maxIncompletePackets && !io.waitingForMemory) {
        io.waitingForMemory = true;
        ++l.memoryWaiters;
        if (l.mayLog(Clock::now())) {
            logWarning("packets in progress on '" + l.path + "' hold " + std::to_string(l.incompleteBytes >> 20) +
                       " MiB, the limit of max_incomplete_packets_mib: not reading the clients sending them (" +
                       std::to_string(l.memoryWaiters) + ") until some complete or time out");
            l.unlogged = 0;
        }
    }
    if (shrank) {
        resumeMemoryWaiters(io.listener);
    }
}

void Server::resumeMemoryWaiters(std::size_t listener) {
    Listener& l = listeners_[listener];
    if (l.memoryWaiters == 0 || l.incompleteBytes >= limits_.maxIncompletePackets) {
        return;
    }
    for (auto& [fd, io] : clients_) {
        if (io.listener != listener || !io.waitingForMemory) {
            continue;
        }
        io.waitingForMemory = false;
        --l.memoryWaiters;
        if (io.readingPaused && !mustPauseReading(io)) {
            resumeReading(io);
        }
    }
}

void Server::resumeReading(ClientIo& io) {
    io.readingPaused = false;
    if (io.packetSince) {
        io.packetSince = Clock::now();  // the time we did not read is not the client's
    }
    updateInterest(io);
}

void Server::enforcePacketDeadline() {
    if (limits_.packetDeadline <= 0) {
        return;
    }
    const auto now = Clock::now();
    std::vector<int> late;
    for (const auto& [fd, io] : clients_) {
        // Paused by max_client_requests or unread replies: the wait is ours. Paused for memory:
        // the deadline is what frees the memory held by a sender that never finishes.
        if (!io.packetSince || (io.readingPaused && !io.waitingForMemory)) {
            continue;
        }
        auto allowed = std::chrono::seconds(limits_.packetDeadline) +
                       std::chrono::seconds(io.heldBytes / kDeadlineBytesPerSecond);
        if (now - *io.packetSince > allowed) {
            late.push_back(fd);
        }
    }
    for (int fd : late) {
        const ClientIo& io = clients_[fd];
        logWarning("client " + std::to_string(io.session->id()) + " (" + io.session->peer().address +
                   ") did not finish a packet within " + std::to_string(limits_.packetDeadline) + " s (" +
                   std::to_string(io.heldBytes) + " bytes of it arrived): closing the connection");
        closeClient(fd, "packet deadline");
    }
}

void Server::enforceAuthDeadline() {
    if (limits_.authDeadline <= 0) {
        return;
    }
    const auto now = Clock::now();
    const auto deadline = std::chrono::seconds(limits_.authDeadline);
    std::vector<int> late;
    for (const auto& [fd, h] : handshakes_) {
        if (now - h.connectedAt > deadline) {
            late.push_back(fd);
        }
    }
    for (int fd : late) {
        logWarning("TLS client " + handshakes_[fd].peer.address + " did not finish its handshake in time");
        dropHandshake(fd);
    }
    late.clear();
    for (const auto& [fd, io] : clients_) {
        std::lock_guard lock(io.session->stateMutex());
        if (!io.session->authenticated && now - io.connectedAt > deadline) {
            late.push_back(fd);
        }
    }
    for (int fd : late) {
        logWarning("client " + clients_[fd].session->peer().address + " did not authenticate within " +
                   std::to_string(limits_.authDeadline) + " s");
        closeClient(fd, "authentication deadline");
    }
}

}  // namespace corral::daemon
