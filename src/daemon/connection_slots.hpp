// SPDX-License-Identifier: LGPL-2.1-or-later
// ConnectionSlots: how many connections one kind of listener holds, in all and per peer (a
// local uid, a source address), and which connection gives way when a new one finds them full.
// The one mechanism behind every per-uid and per-source cap of corrald: the RPC sockets'
// max_clients, max_clients_per_uid, max_anonymous_clients(_per_source) and the metrics endpoint.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace corral::daemon {

class ConnectionSlots {
public:
    /// Whether the connection with this id may be closed to make room: one that has not proved
    /// anything yet (no TLS handshake or SASL done, an HTTP request not complete).
    using Reclaimable = std::function<bool(int id)>;

    /// `total` and `perPeer` of 0 mean no limit.
    ConnectionSlots(std::size_t total, std::size_t perPeer) : total_(total), perPeer_(perPeer) {}

    struct Decision {
        bool admitted = false;
        std::optional<int> evict;  ///< admitted once this connection is closed (and removed)
        std::string reason;        ///< why refused, or why `evict` gives way
    };

    /// Where a new connection from `peer` stands. Within the limits it is admitted. A peer at
    /// its own limit makes room from its own oldest reclaimable connection: a peer crowds out
    /// only itself. With all slots taken, the oldest reclaimable connection of the peer that
    /// holds the most slots gives way, so that idle connections are cheap to reclaim and the
    /// heaviest peer pays first. With nothing reclaimable, the newcomer is refused.
    /// `exempt` peers (uid 0 on a unix socket) count towards `total` but have no per-peer limit.
    [[nodiscard]] Decision decide(const std::string& peer, const Reclaimable& reclaimable, bool exempt = false) const;

    /// Counts connection `id` (a descriptor) for `peer`, as the newest.
    void add(int id, const std::string& peer);
    /// Stops counting `id`; nothing if it is not counted.
    void remove(int id);
    /// Stops counting every connection for which `settled` is true (it authenticated).
    void removeIf(const std::function<bool(int id)>& settled);

    [[nodiscard]] std::size_t size() const { return slots_.size(); }
    [[nodiscard]] std::size_t heldBy(const std::string& peer) const;
    [[nodiscard]] bool contains(int id) const { return slots_.count(id) != 0; }

private:
    struct Slot {
        std::string peer;
        std::uint64_t order = 0;  ///< admission order: smaller is older
    };

    std::size_t total_;
    std::size_t perPeer_;
    std::uint64_t nextOrder_ = 0;
    std::map<int, Slot> slots_;
    std::map<std::string, std::size_t> held_;
};

/// The peer key of a TCP connection for per-source limits: its IPv4 address ("192.0.2.7", an
/// IPv4-mapped IPv6 address counts as IPv4), or its IPv6 /64 ("2001:db8:1:2::/64"), since one
/// host is routinely given a whole /64 and could otherwise take one slot per address. "?" when
/// the peer's address cannot be read.
std::string sourceKeyOfPeer(int fd);

}  // namespace corral::daemon
