// SPDX-License-Identifier: LGPL-2.1-or-later
// What a network start hands to nftables and dnsmasq.
#include "drivers/network/network_plan.hpp"

#include <gtest/gtest.h>

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
    EXPECT_EQ(nftTableName("my-net.1"), "corral_net_my_net_1");
}
