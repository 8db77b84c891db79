// SPDX-License-Identifier: LGPL-2.1-or-later
// ConnectionSlots: per-peer and total limits, and which connection gives way to a newcomer.
#include "daemon/connection_slots.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <set>

#include "util/unique_fd.hpp"

using namespace corral;
using namespace corral::daemon;

namespace {

/// Every connection may be reclaimed (none has authenticated), or those listed.
ConnectionSlots::Reclaimable all() {
    return [](int) { return true; };
}
ConnectionSlots::Reclaimable none() {
    return [](int) { return false; };
}
ConnectionSlots::Reclaimable only(std::set<int> ids) {
    return [ids](int id) { return ids.count(id) != 0; };
}

}  // namespace

TEST(ConnectionSlots, AdmitsWithinTheLimits) {
    ConnectionSlots slots(3, 2);
    EXPECT_TRUE(slots.decide("a", none()).admitted);
    slots.add(10, "a");
    slots.add(11, "a");
    EXPECT_EQ(slots.heldBy("a"), 2u);
    auto b = slots.decide("b", none());
    EXPECT_TRUE(b.admitted);
    EXPECT_FALSE(b.evict);
}

TEST(ConnectionSlots, APeerAtItsLimitIsRefusedWhenNothingOfItsOwnGivesWay) {
    ConnectionSlots slots(100, 2);
    slots.add(10, "uid 1000");
    slots.add(11, "uid 1000");
    auto d = slots.decide("uid 1000", none());
    EXPECT_FALSE(d.admitted);
    EXPECT_EQ(d.reason, "the limit of 2 connections per peer is reached");
    // Another peer is not affected, and an exempt peer (uid 0) has no per-peer limit.
    EXPECT_TRUE(slots.decide("uid 1001", none()).admitted);
    slots.add(20, "uid 0");
    slots.add(21, "uid 0");
    EXPECT_TRUE(slots.decide("uid 0", none(), true).admitted);
}

TEST(ConnectionSlots, APeerAtItsLimitCrowdsOutOnlyItsOwnOldest) {
    ConnectionSlots slots(100, 2);
    slots.add(5, "victim");  // older than all of the attacker's, and reclaimable too
    slots.add(10, "attacker");
    slots.add(11, "attacker");
    auto d = slots.decide("attacker", all());
    ASSERT_TRUE(d.admitted);
    EXPECT_EQ(d.evict, 10);
}

TEST(ConnectionSlots, WhenAllAreTakenTheHeaviestPeersOldestReclaimableGivesWay) {
    ConnectionSlots slots(5, 0);
    slots.add(1, "quiet");
    slots.add(2, "flood");
    slots.add(3, "flood");
    slots.add(4, "flood");
    slots.add(6, "other");
    auto d = slots.decide("newcomer", all());
    ASSERT_TRUE(d.admitted);
    EXPECT_EQ(d.evict, 2);
    EXPECT_EQ(d.reason, "all 5 connections are taken");
    // Authenticated connections (not reclaimable) never give way.
    d = slots.decide("newcomer", only({1}));
    ASSERT_TRUE(d.admitted);
    EXPECT_EQ(d.evict, 1);
    d = slots.decide("newcomer", none());
    EXPECT_FALSE(d.admitted);
    EXPECT_FALSE(d.evict);
}

TEST(ConnectionSlots, RemovingFreesTheSlotAndSettledOnesStopCounting) {
    ConnectionSlots slots(2, 0);
    slots.add(1, "a");
    slots.add(2, "b");
    EXPECT_FALSE(slots.decide("c", none()).admitted);
    slots.remove(1);
    slots.remove(99);  // unknown: nothing
    EXPECT_EQ(slots.size(), 1u);
    EXPECT_EQ(slots.heldBy("a"), 0u);
    EXPECT_TRUE(slots.decide("c", none()).admitted);
    slots.add(3, "c");
    slots.removeIf([](int id) { return id == 2; });
    EXPECT_FALSE(slots.contains(2));
    EXPECT_TRUE(slots.contains(3));
    // A descriptor number used again is a new connection, counted once.
    slots.add(3, "d");
    EXPECT_EQ(slots.size(), 1u);
    EXPECT_EQ(slots.heldBy("c"), 0u);
    EXPECT_EQ(slots.heldBy("d"), 1u);
}

TEST(ConnectionSlots, TheSourceKeyIsTheIpv4AddressOfThePeer) {
    UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(listener.get(), 4), 0);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
    // From 127.0.0.2: the whole 127/8 is the loopback.
    UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl(0x7f000002);
    ASSERT_EQ(::bind(client.get(), reinterpret_cast<sockaddr*>(&from), sizeof from), 0);
    ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    UniqueFd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_TRUE(accepted);
    EXPECT_EQ(sourceKeyOfPeer(accepted.get()), "127.0.0.2");
    EXPECT_EQ(sourceKeyOfPeer(listener.get()), "?");  // not connected
}

TEST(ConnectionSlots, AnIpv6PeerCountsByItsSlash64) {
    UniqueFd listener(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_loopback;
    if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        GTEST_SKIP() << "no IPv6 loopback here";
    }
    ASSERT_EQ(::listen(listener.get(), 4), 0);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
    UniqueFd client(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    UniqueFd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_TRUE(accepted);
    EXPECT_EQ(sourceKeyOfPeer(accepted.get()), "::/64");  // ::1 with its host half cleared
}
