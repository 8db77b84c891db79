// SPDX-License-Identifier: LGPL-2.1-or-later
// Network XML: what parses, what is refused by name, and the canonical form.
#include "conf/network_def.hpp"

#include <gtest/gtest.h>

using namespace corral;
using namespace corral::conf;

TEST(NetworkDef, ParsesLibvirtsDefaultNetwork) {
    auto def = parseNetworkXml(
        "<network><name>default</name><uuid>2bd5c2d4-3ce1-4d1a-9d36-2b2a0a3e1f11</uuid>"
        "<forward mode='nat'/><bridge name='virbr0' stp='on' delay='0'/><mac address='52:54:00:0a:0b:0c'/>"
        "<ip address='192.168.122.1' netmask='255.255.255.0'><dhcp>"
        "<range start='192.168.122.2' end='192.168.122.254'/>"
        "<host mac='52:54:00:00:00:01' name='web' ip='192.168.122.10'/></dhcp></ip></network>");
    ASSERT_TRUE(def) << def.error().wireMessage();
    EXPECT_EQ((*def)->name, "default");
    EXPECT_EQ((*def)->forwardMode, "nat");
    EXPECT_EQ((*def)->bridge, "virbr0");
    EXPECT_EQ((*def)->prefix, 24u);
    EXPECT_EQ((*def)->dhcpStart, "192.168.122.2");
    ASSERT_EQ((*def)->dhcpHosts.size(), 1u);
    EXPECT_EQ((*def)->dhcpHosts[0].ip, "192.168.122.10");
    // Formatting and parsing again gives the same text.
    std::string text = formatNetworkXml(**def);
    auto again = parseNetworkXml(text);
    ASSERT_TRUE(again) << again.error().wireMessage();
    EXPECT_EQ(formatNetworkXml(**again), text);
}

TEST(NetworkDef, PrefixAndNetmaskAgree) {
    auto a = parseNetworkXml("<network><name>a</name><ip address='10.1.0.1' prefix='16'/></network>");
    ASSERT_TRUE(a);
    EXPECT_NE(formatNetworkXml(**a).find("netmask='255.255.0.0'"), std::string::npos);
}

TEST(NetworkDef, RefusesWhatItCannotRunNamingIt) {
    const std::pair<const char*, const char*> cases[] = {
        {"<network><name>x</name><forward mode='bridge'/></network>", "<forward mode='bridge'>"},
        {"<network><name>x</name><ip family='ipv6' address='fd00::1' prefix='64'/></network>", "IPv4"},
        {"<network><name>x</name><ip address='10.0.0.0' prefix='24'/></network>", "network or broadcast"},
        {"<network><name>x</name><ip address='10.0.0.1' prefix='24'><dhcp><range start='10.0.0.9' end='10.0.0.2'/>"
         "</dhcp></ip></network>",
         "after end"},
        {"<network><name>x</name><ip address='300.0.0.1'/></network>", "not an IPv4 address"},
        {"<network><name>x/y</name></network>", "must not contain '/'"},
        {"<network><name>x</name><bridge name='a-very-long-bridge-name'/></network>", "longer than 15"},
        {"<network><name>x</name><vlan/></network>", "<vlan>"},
        {"<domain/>", "expected root element <network>"},
    };
    for (const auto& [xml, needle] : cases) {
        auto def = parseNetworkXml(xml);
        ASSERT_FALSE(def) << xml;
        EXPECT_NE(def.error().wireMessage().find(needle), std::string::npos) << def.error().wireMessage();
    }
}

TEST(NetworkDef, ValuesThatReachNftAndDnsmasqAreCheckedButStillParse) {
    // Parsed (a definition an older daemon stored must still load), refused by the check that
    // define and start make: a '"' would end nft's quoted interface name, a newline or ','
    // would add dnsmasq options.
    const std::pair<const char*, const char*> cases[] = {
        {"<network><name>x</name><bridge name='br\" accept'/></network>", "<bridge name>"},
        {"<network><name>x</name><bridge name='..'/></network>", "<bridge name>"},
        {"<network><name>x</name><forward mode='nat' dev='eth0;'/></network>", "<forward dev>"},
        {"<network><name>x</name><ip address='10.0.0.1' prefix='24'><dhcp>"
         "<host mac='52:54:00:00:00:01' name='web,set:evil' ip='10.0.0.5'/></dhcp></ip></network>",
         "not a host name"},
        {"<network><name>x</name><ip address='10.0.0.1' prefix='24'><dhcp>"
         "<host mac='52:54:00:00:00:01' name='web&#10;dhcp-script=/tmp/x' ip='10.0.0.5'/></dhcp></ip></network>",
         "web\\ndhcp-script"},
    };
    for (const auto& [xml, needle] : cases) {
        auto def = parseNetworkXml(xml);
        ASSERT_TRUE(def) << xml << ": " << def.error().wireMessage();
        auto checked = checkNetworkHostValues(**def);
        ASSERT_FALSE(checked) << xml;
        EXPECT_NE(checked.error().wireMessage().find(needle), std::string::npos) << checked.error().wireMessage();
    }
    auto fine = parseNetworkXml("<network><name>x</name><bridge name='br-lan.2'/><forward mode='nat' dev='eth0'/>"
                                "<ip address='10.0.0.1' prefix='24'><dhcp><host mac='52:54:00:00:00:01' "
                                "name='web-1.example' ip='10.0.0.5'/></dhcp></ip></network>");
    ASSERT_TRUE(fine);
    EXPECT_TRUE(checkNetworkHostValues(**fine));
}
