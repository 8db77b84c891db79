// SPDX-License-Identifier: LGPL-2.1-or-later
// What a network start hands to nftables and dnsmasq.
#include "drivers/network/network_plan.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace corral;
using namespace corral::drivers::network;

namespace {
conf::NetworkDef parsed(const char* xml) { return **conf::parseNetworkXml(xml); }
}  // namespace

TEST(NetworkPlan, NatMasqueradesOnlyTheSubnetLeavingIt) {
    auto def = parsed("<network><name>n</name><forward mode='nat'/><ip address='10.5.0.1' prefix='24'/></network>");
    std::string rules = nftRuleset(def, "virbr3");
    EXPECT_NE(rules.find("ip saddr 10.5.0.0/24 ip daddr != 10.5.0.0/24 masquerade"), std::string::npos) << rules;
    EXPECT_NE(rules.find("oifname \"virbr3\" ip daddr 10.5.0.0/24 ct state established,related accept"),
              std::string::npos);
    EXPECT_NE(rules.find("iifname \"virbr3\" reject"), std::string::npos);
}

TEST(NetworkPlan, RoutedNetworksDoNotMasqueradeAndIsolatedOnesDoNotForward) {
    auto routed = parsed("<network><name>r</name><forward mode='route' dev='eth1'/><ip address='10.6.0.1' prefix='24'/>"
                         "</network>");
    std::string rules = nftRuleset(routed, "virbr4");
    EXPECT_EQ(rules.find("masquerade"), std::string::npos);
    EXPECT_NE(rules.find("iifname \"virbr4\" oifname \"eth1\" ip saddr 10.6.0.0/24 accept"), std::string::npos);
    auto isolated = parsed("<network><name>i</name><ip address='10.7.0.1' prefix='24'/></network>");
    std::string closed = nftRuleset(isolated, "virbr5");
    EXPECT_EQ(closed.find("ip saddr"), std::string::npos) << closed;
    EXPECT_NE(closed.find("iifname \"virbr5\" reject"), std::string::npos);
}

TEST(NetworkPlan, DnsmasqServesTheBridgeOnly) {
    auto def = parsed("<network><name>d</name><ip address='10.8.0.1' prefix='24'><dhcp>"
                      "<range start='10.8.0.10' end='10.8.0.19'/></dhcp></ip></network>");
    NetworkRuntime rt{"virbr6", "/run/d.pid", "/var/d.leases", "/run/d.hosts"};
    std::string conf = dnsmasqConfig(def, rt);
    for (const char* line : {"interface=virbr6\n", "bind-dynamic\n", "except-interface=lo\n",
                             "listen-address=10.8.0.1\n", "dhcp-range=10.8.0.10,10.8.0.19,255.255.255.0\n",
                             "dhcp-lease-max=10\n", "pid-file=/run/d.pid\n", "dhcp-hostsfile=/run/d.hosts\n"}) {
        EXPECT_NE(conf.find(line), std::string::npos) << line << conf;
    }
}

TEST(NetworkPlan, EveryNetworkHasATableOfItsOwn) {
    // The old mapping gave "my-net.1", "my_net_1" and "my.net-1" one table: starting one
    // replaced the others' rules.
    EXPECT_EQ(nftTableName("default"), "corral_net_default");
    EXPECT_EQ(nftTableName("my-net.1"), "corral_net_my_2dnet_2e1");
    EXPECT_EQ(nftTableName("my_net_1"), "corral_net_my__net__1");
    EXPECT_EQ(legacyNftTableName("my-net.1"), "corral_net_my_net_1");
    std::set<std::string> tables;
    for (const char* name : {"my-net.1", "my_net_1", "my.net-1", "my_2dnet.1", "a_", "a__", "a_5f", "a\n", "a\n\n",
                             "caf\xc3\xa9", "x\"; flush ruleset"}) {
        const std::string table = nftTableName(name);
        EXPECT_TRUE(tables.insert(table).second) << name << " -> " << table;
        EXPECT_EQ(table.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"),
                  std::string::npos)
            << table;
    }
}

TEST(NetworkPlan, ANameFromAnOlderDaemonCannotAddLinesToDnsmasqsConfiguration) {
    auto def = parsed("<network><name>n</name><ip address='10.9.0.1' prefix='24'/></network>");
    def.name = "n\ndhcp-script=/tmp/evil";  // stored before names were checked
    NetworkRuntime rt{"virbr7", "/run/n.pid", "/var/n.leases", "/run/n.hosts"};
    std::string conf = dnsmasqConfig(def, rt);
    EXPECT_EQ(conf.find("\ndhcp-script"), std::string::npos) << conf;
    EXPECT_NE(conf.find("network 'n\\x0adhcp-script\\x3d\\x2ftmp\\x2fevil'"), std::string::npos) << conf;
}
