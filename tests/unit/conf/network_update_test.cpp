// SPDX-License-Identifier: LGPL-2.1-or-later
// virNetworkUpdate on a definition: static DHCP hosts added, modified, deleted; what is refused.
#include "conf/network_update.hpp"

#include <gtest/gtest.h>

using namespace corral;
using namespace corral::conf;

namespace {

NetworkDef network() {
    auto def = parseNetworkXml(
        "<network><name>n1</name><bridge name='virbr9'/><ip address='10.9.0.1' prefix='24'><dhcp>"
        "<range start='10.9.0.100' end='10.9.0.150'/>"
        "<host mac='52:54:00:00:00:01' name='one' ip='10.9.0.11'/></dhcp></ip></network>");
    EXPECT_TRUE(def) << def.error().wireMessage();
    return **def;
}

constexpr unsigned kModify = 1, kDelete = 2, kAddLast = 3, kAddFirst = 4;

}  // namespace

TEST(NetworkUpdate, AddsFirstAndLast) {
    auto last = applyNetworkUpdate(network(), kAddLast, kNetworkSectionIpDhcpHost, -1,
                                   "<host mac='52:54:00:00:00:02' name='two' ip='10.9.0.12'/>");
    ASSERT_TRUE(last) << last.error().wireMessage();
    ASSERT_EQ(last->dhcpHosts.size(), 2u);
    EXPECT_EQ(last->dhcpHosts[1].name, "two");
    auto first = applyNetworkUpdate(*last, kAddFirst, kNetworkSectionIpDhcpHost, 0,
                                    "<host mac='52:54:00:00:00:03' ip='10.9.0.13'/>");
    ASSERT_TRUE(first) << first.error().wireMessage();
    EXPECT_EQ(first->dhcpHosts[0].mac, "52:54:00:00:00:03");
    EXPECT_EQ(first->bridge, "virbr9");
    EXPECT_EQ(first->dhcpStart, "10.9.0.100");
}

TEST(NetworkUpdate, AnEntryAlreadyThereIsNotAddedTwice) {
    for (const char* xml : {"<host mac='52:54:00:00:00:01' ip='10.9.0.20'/>",
                            "<host mac='52:54:00:00:00:09' name='one' ip='10.9.0.20'/>",
                            "<host mac='52:54:00:00:00:09' ip='10.9.0.11'/>",
                            "<host mac='52:54:00:00:00:01' ip='10.9.0.20'/>"}) {
        auto r = applyNetworkUpdate(network(), kAddLast, kNetworkSectionIpDhcpHost, -1, xml);
        ASSERT_FALSE(r) << xml;
        EXPECT_EQ(r.error().code, ErrorCode::OperationInvalid);
        EXPECT_NE(r.error().message.find("existing dhcp host entry in network 'n1'"), std::string::npos);
    }
}

TEST(NetworkUpdate, ModifiesByMacAndDeletesWhatMatches) {
    auto m = applyNetworkUpdate(network(), kModify, kNetworkSectionIpDhcpHost, -1,
                                "<host mac='52:54:00:00:00:01' name='uno' ip='10.9.0.31'/>");
    ASSERT_TRUE(m) << m.error().wireMessage();
    EXPECT_EQ(m->dhcpHosts[0].ip, "10.9.0.31");
    EXPECT_EQ(m->dhcpHosts[0].name, "uno");
    auto d = applyNetworkUpdate(*m, kDelete, kNetworkSectionIpDhcpHost, -1, "<host mac='52:54:00:00:00:01'/>");
    ASSERT_TRUE(d) << d.error().wireMessage();
    EXPECT_TRUE(d->dhcpHosts.empty());
    // Nothing to modify or delete: refused, naming the network.
    for (unsigned command : {kModify, kDelete}) {
        auto r = applyNetworkUpdate(network(), command, kNetworkSectionIpDhcpHost, -1,
                                    "<host mac='52:54:00:00:00:07' ip='10.9.0.11'/>");
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, ErrorCode::OperationInvalid);
        EXPECT_NE(r.error().message.find("network 'n1'"), std::string::npos);
    }
    // A delete whose address is not the entry's does not delete it.
    EXPECT_FALSE(applyNetworkUpdate(network(), kDelete, kNetworkSectionIpDhcpHost, -1,
                                    "<host mac='52:54:00:00:00:01' ip='10.9.0.99'/>"));
}

TEST(NetworkUpdate, TheResultIsCheckedAsADefinition) {
    const std::pair<const char*, const char*> cases[] = {
        {"<host mac='52:54:00:00:00:02' ip='10.8.0.12'/>", "outside the network"},
        {"<host mac='zz:54:00:00:00:02' ip='10.9.0.12'/>", "not a MAC address"},
        {"<host mac='52:54:00:00:00:02' name='a,dhcp-option=3' ip='10.9.0.12'/>", "not a host name"},
        {"<host mac='52:54:00:00:00:02' ip='10.9.0.12' id='x'/>", "<host id='x'>"},
        {"<host mac='52:54:00:00:00:02' ip='10.9.0.12'><lease expiry='1'/></host>", "<lease"},
        {"<range start='10.9.0.2' end='10.9.0.3'/>", "expected <host>"},
        {"<host", "(network_update)"},
    };
    for (const auto& [xml, needle] : cases) {
        auto r = applyNetworkUpdate(network(), kAddLast, kNetworkSectionIpDhcpHost, -1, xml);
        ASSERT_FALSE(r) << xml;
        EXPECT_NE(r.error().message.find(needle), std::string::npos) << xml << ": " << r.error().message;
    }
}

TEST(NetworkUpdate, OtherSectionsAndIndexesAreRefusedByName) {
    auto r = applyNetworkUpdate(network(), kAddLast, 10, -1, "<host ip='10.9.0.5'><hostname>a</hostname></host>");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::OperationUnsupported);
    EXPECT_NE(r.error().message.find("'dns-host'"), std::string::npos);
    auto i = applyNetworkUpdate(network(), kAddLast, kNetworkSectionIpDhcpHost, 1,
                                "<host mac='52:54:00:00:00:02' ip='10.9.0.12'/>");
    ASSERT_FALSE(i);
    EXPECT_NE(i.error().message.find("index 1"), std::string::npos);
    EXPECT_FALSE(applyNetworkUpdate(network(), 9, kNetworkSectionIpDhcpHost, -1,
                                    "<host mac='52:54:00:00:00:02' ip='10.9.0.12'/>"));
}
