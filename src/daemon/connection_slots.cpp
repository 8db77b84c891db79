// SPDX-License-Identifier: LGPL-2.1-or-later
// ConnectionSlots: admission, eviction choice and the peer key of a TCP connection.
#include "daemon/connection_slots.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <vector>

namespace corral::daemon {

ConnectionSlots::Decision ConnectionSlots::decide(const std::string& peer, const Reclaimable& reclaimable,
                                                  bool exempt) const {
    Decision d;
    const bool peerFull = !exempt && perPeer_ != 0 && heldBy(peer) >= perPeer_;
    const bool allFull = total_ != 0 && slots_.size() >= total_;
    if (!peerFull && !allFull) {
        d.admitted = true;
        return d;
    }
    // The victim: the same peer's oldest when the peer is at its limit, else the oldest of the
    // peer holding the most slots. Scans are linear; they run only when a limit is reached.
    const Slot* best = nullptr;
    int bestId = -1;
    std::size_t bestHeld = 0;
    for (const auto& [id, slot] : slots_) {
        if ((peerFull && slot.peer != peer) || !reclaimable(id)) {
            continue;
        }
        std::size_t held = peerFull ? 0 : heldBy(slot.peer);
        if (best == nullptr || held > bestHeld || (held == bestHeld && slot.order < best->order)) {
            best = &slot;
            bestId = id;
            bestHeld = held;
        }
    }
    d.reason = peerFull ? "the limit of " + std::to_string(perPeer_) + " connections per peer is reached"
                        : "all " + std::to_string(total_) + " connections are taken";
    if (best == nullptr) {
        return d;
    }
    d.admitted = true;
    d.evict = bestId;
    return d;
}

void ConnectionSlots::add(int id, const std::string& peer) {
    remove(id);  // a reused descriptor number is a new connection
    slots_[id] = Slot{peer, nextOrder_++};
    ++held_[peer];
}

void ConnectionSlots::remove(int id) {
    auto it = slots_.find(id);
    if (it == slots_.end()) {
        return;
    }
    auto h = held_.find(it->second.peer);
    if (h != held_.end() && --h->second == 0) {
        held_.erase(h);
    }
    slots_.erase(it);
}

void ConnectionSlots::removeIf(const std::function<bool(int id)>& settled) {
    std::vector<int> gone;
    for (const auto& [id, slot] : slots_) {
        if (settled(id)) {
            gone.push_back(id);
        }
    }
    for (int id : gone) {
        remove(id);
    }
}

std::size_t ConnectionSlots::heldBy(const std::string& peer) const {
    auto it = held_.find(peer);
    return it == held_.end() ? 0 : it->second;
}

std::string sourceKeyOfPeer(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
        return "?";
    }
    char text[INET6_ADDRSTRLEN] = "?";
    if (ss.ss_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
        ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
        return text;
    }
    if (ss.ss_family != AF_INET6) {
        return "?";
    }
    in6_addr addr = reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&addr)) {
        ::inet_ntop(AF_INET, &addr.s6_addr[12], text, sizeof text);
        return text;
    }
    std::memset(&addr.s6_addr[8], 0, 8);
    ::inet_ntop(AF_INET6, &addr, text, sizeof text);
    return std::string(text) + "/64";
}

}  // namespace corral::daemon
