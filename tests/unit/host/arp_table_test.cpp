// SPDX-License-Identifier: LGPL-2.1-or-later
// /proc/net/arp as the kernel writes it: resolved entries only, MACs in lower case.
#include "host/arp_table.hpp"

#include <gtest/gtest.h>

using namespace corral::host;

TEST(ArpTable, KeepsResolvedEntriesOnly) {
    const char* text =
        "IP address       HW type     Flags       HW address            Mask     Device\n"
        "192.168.122.10   0x1         0x2         52:54:00:AB:cd:01     *        virbr0\n"
        "192.168.122.11   0x1         0x0         00:00:00:00:00:00     *        virbr0\n"
        "torn line\n"
        "10.0.0.7         0x1         0x6         52:54:00:00:00:02     *        br1\n";
    auto entries = parseArpTable(text);
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].ip, "192.168.122.10");
    EXPECT_EQ(entries[0].mac, "52:54:00:ab:cd:01");
    EXPECT_EQ(entries[0].device, "virbr0");
    EXPECT_EQ(entries[1].ip, "10.0.0.7");
}
