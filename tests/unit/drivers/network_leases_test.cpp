// SPDX-License-Identifier: LGPL-2.1-or-later
// The leases of a network, read from dnsmasq's lease file.
#include "drivers/network/network_leases.hpp"

#include <gtest/gtest.h>

using namespace corral::drivers;
using namespace corral::drivers::network;

namespace {

// What dnsmasq writes: expiry, MAC, address, name or '*', client id or '*'; IPv6 after "duid".
constexpr const char* kFile =
    "2000 52:54:00:aa:bb:01 10.1.0.100 guest1 01:52:54:00:aa:bb:01\n"
    "900 52:54:00:aa:bb:02 10.1.0.101 * *\n"
    "0 52:54:00:AA:BB:03 10.1.0.102 forever *\n"
    "duid 00:01:00:01:2c:aa:bb:cc:52:54:00:aa:bb:01\n"
    "2000 1234 fd00::10 guest1 00:01:00:01\n"
    "garbage\n"
    "20x0 52:54:00:aa:bb:04 10.1.0.103 torn *\n"
    "2000 52:54:00:aa:bb:05 10.1.0";

}  // namespace

TEST(NetworkLeases, UnexpiredIpv4LeasesWithTheirFields) {
    auto leases = parseDnsmasqLeases(kFile, "", 1000, "virbr7", 24);
    ASSERT_EQ(leases.size(), 2u);
    EXPECT_EQ(leases[0].mac, "52:54:00:aa:bb:01");
    EXPECT_EQ(leases[0].ipAddress, "10.1.0.100");
    EXPECT_EQ(leases[0].hostname, "guest1");
    EXPECT_EQ(leases[0].clientId, "01:52:54:00:aa:bb:01");
    EXPECT_EQ(leases[0].expiryTime, 2000);
    EXPECT_EQ(leases[0].iface, "virbr7");
    EXPECT_EQ(leases[0].prefix, 24u);
    // Expiry 0 never expires; MACs come out in lower case; '*' is no name.
    EXPECT_EQ(leases[1].mac, "52:54:00:aa:bb:03");
    EXPECT_EQ(leases[1].expiryTime, 0);
    EXPECT_EQ(leases[1].clientId, "");
}

TEST(NetworkLeases, ExpiredOnesAreLeftOut) {
    auto leases = parseDnsmasqLeases(kFile, "", 500, "virbr7", 24);
    EXPECT_EQ(leases.size(), 3u);  // 900 has not expired at 500
}

TEST(NetworkLeases, FilteredByMacWhateverItsCase) {
    auto leases = parseDnsmasqLeases(kFile, "52:54:00:aa:BB:03", 1000, "virbr7", 24);
    ASSERT_EQ(leases.size(), 1u);
    EXPECT_EQ(leases[0].ipAddress, "10.1.0.102");
    EXPECT_TRUE(parseDnsmasqLeases(kFile, "52:54:00:00:00:00", 1000, "virbr7", 24).empty());
}

TEST(NetworkLeases, AnEmptyOrBrokenFileGivesNone) {
    EXPECT_TRUE(parseDnsmasqLeases("", "", 0, "b", 24).empty());
    EXPECT_TRUE(parseDnsmasqLeases("\n\n \n", "", 0, "b", 24).empty());
    EXPECT_TRUE(parseDnsmasqLeases("x y z w\n-5 a 1.2.3.4 n\n", "", 0, "b", 24).empty());
}
