// SPDX-License-Identifier: LGPL-2.1-or-later
// corrald.conf: libvirt's syntax and keys, errors naming file, line and key.
#include "daemon/daemon_config.hpp"

#include <gtest/gtest.h>

using namespace corral;
using namespace corral::daemon;

namespace {
Result<DaemonConfig> parse(const std::string& text) {
    auto file = parseConfText(text, "/etc/corral/corrald.conf");
    if (!file) {
        return unexpected(file.error());
    }
    return parseDaemonConfig(*file);
}
}  // namespace

TEST(DaemonConfig, DefaultsMatchLibvirtd) {
    auto c = parse("");
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->listenTls);
    EXPECT_EQ(c->tlsPort, "16514");
    EXPECT_EQ(c->tcpPort, "16509");
    EXPECT_EQ(c->authTcp, "sasl");
    EXPECT_EQ(c->unixSockRoPerms, "0777");
    EXPECT_EQ(c->unixSockRwPerms, "0700");
    EXPECT_EQ(c->maxClientRequests, 5u);
    EXPECT_EQ(c->keepaliveInterval, 5);
}

TEST(DaemonConfig, ParsesLibvirtSyntax) {
    auto c = parse(
        "# comment\n"
        "listen_tls = 1\n"
        "tls_port = \"26514\"  # trailing comment\n"
        "tls_allowed_dn_list = [\"C=GB,O=Test,CN=client*\",\n"
        "                       \"CN=admin\" ]\n"
        "max_clients = 42\n"
        "keepalive_interval = -1\n"
        "unix_sock_rw_perms = '0770'\n");
    ASSERT_TRUE(c) << c.error().wireMessage();
    EXPECT_TRUE(c->listenTls);
    EXPECT_EQ(c->tlsPort, "26514");
    ASSERT_EQ(c->tlsAllowedDnList.size(), 2u);
    EXPECT_EQ(c->tlsAllowedDnList[1], "CN=admin");
    EXPECT_EQ(c->maxClients, 42u);
    EXPECT_EQ(c->keepaliveInterval, -1);
    EXPECT_EQ(c->unixSockRwPerms, "0770");
}

TEST(DaemonConfig, UnknownKeyNamesFileLineAndKey) {
    auto c = parse("listen_tls = 0\n\nlisten_tsl = 1\n");
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, ErrorCode::ConfSyntax);
    EXPECT_EQ(c.error().wireMessage(),
              "configuration file syntax error: /etc/corral/corrald.conf:3: key 'listen_tsl': unknown key");
}

TEST(DaemonConfig, BadValuesAreRefused) {
    auto wrongType = parse("listen_tls = \"yes\"\n");
    ASSERT_FALSE(wrongType);
    EXPECT_NE(wrongType.error().message.find(":1: key 'listen_tls': expected 0 or 1"), std::string::npos);
    auto badAuth = parse("auth_tcp = \"bogus\"\n");
    ASSERT_FALSE(badAuth);
    EXPECT_NE(badAuth.error().message.find("invalid value 'bogus'"), std::string::npos);
    auto badPerms = parse("unix_sock_rw_perms = \"0799\"\n");
    ASSERT_FALSE(badPerms);
    auto negative = parse("max_clients = -3\n");
    ASSERT_FALSE(negative);
    auto badPort = parse("tcp_port = \"70000\"\n");
    ASSERT_FALSE(badPort);
}

TEST(DaemonConfig, SyntaxErrorsNameTheLine) {
    auto noValue = parse("listen_tls =\n");
    ASSERT_FALSE(noValue);
    EXPECT_NE(noValue.error().message.find("corrald.conf:1: key 'listen_tls': expected a value"), std::string::npos);
    auto unterminated = parse("a = 1\nkey_file = \"/x\n");
    ASSERT_FALSE(unterminated);
    EXPECT_NE(unterminated.error().message.find(":2: key 'key_file': unterminated string"), std::string::npos);
    auto badList = parse("tls_allowed_dn_list = [ 1 ]\n");
    ASSERT_FALSE(badList);
}

TEST(DaemonConfig, MetricsEndpointIsOffAndLoopbackByDefault) {
    auto c = parse("");
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->metricsListen);
    EXPECT_EQ(c->metricsAddr, "127.0.0.1");
    EXPECT_EQ(c->metricsPort, "9177");
    auto on = parse("metrics_listen = 1\nmetrics_addr = \"::1\"\nmetrics_port = \"19177\"\n");
    ASSERT_TRUE(on) << on.error().wireMessage();
    EXPECT_TRUE(on->metricsListen);
    EXPECT_EQ(on->metricsAddr, "::1");
    EXPECT_EQ(on->metricsPort, "19177");
}

TEST(DaemonConfig, BadMetricsValuesNameTheKey) {
    auto notBool = parse("metrics_listen = 2\n");
    ASSERT_FALSE(notBool);
    EXPECT_NE(notBool.error().message.find(":1: key 'metrics_listen': expected 0 or 1"), std::string::npos);
    auto badPort = parse("metrics_port = \"0\"\n");
    ASSERT_FALSE(badPort);
    EXPECT_NE(badPort.error().message.find("key 'metrics_port': invalid value '0'"), std::string::npos);
    auto numericPort = parse("metrics_port = 9177\n");
    ASSERT_FALSE(numericPort);
    EXPECT_NE(numericPort.error().message.find("key 'metrics_port': expected a quoted string"), std::string::npos);
    auto badAddr = parse("metrics_addr = \"127.0.0.1 9177\"\n");
    ASSERT_FALSE(badAddr);
    EXPECT_NE(badAddr.error().message.find("key 'metrics_addr': invalid value"), std::string::npos);
    auto emptyAddr = parse("metrics_addr = \"\"\n");
    ASSERT_FALSE(emptyAddr);
}

TEST(DaemonConfig, ResourceLimitsHaveDefaultsAndRanges) {
    auto c = parse("");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->maxClients, 5000u);
    EXPECT_EQ(c->maxAnonymousClients, 20u);
    EXPECT_EQ(c->maxClientsPerUid, 64u);
    EXPECT_EQ(c->maxAnonymousClientsPerSource, 5u);
    EXPECT_EQ(c->maxIncompletePacketsMib, 128u);
    EXPECT_EQ(c->packetDeadline, 30);
    EXPECT_EQ(c->maxQueuedEventsKib, 4096u);
    auto set = parse("max_clients_per_uid = 0\nmax_anonymous_clients_per_source = 2\n"
                     "max_incomplete_packets_mib = 16\npacket_deadline = 0\nmax_queued_events_kib = 64\n");
    ASSERT_TRUE(set) << set.error().wireMessage();
    EXPECT_EQ(set->maxClientsPerUid, 0u);
    EXPECT_EQ(set->maxAnonymousClientsPerSource, 2u);
    EXPECT_EQ(set->maxIncompletePacketsMib, 16u);
    EXPECT_EQ(set->packetDeadline, 0);
    EXPECT_EQ(set->maxQueuedEventsKib, 64u);
    // No memory for any packet or any event would leave a daemon that serves nothing.
    auto none = parse("max_incomplete_packets_mib = 0\n");
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message.find("key 'max_incomplete_packets_mib': expected a number from 1 to 4096"),
              std::string::npos)
        << none.error().message;
    EXPECT_FALSE(parse("max_queued_events_kib = 0\n"));
    EXPECT_FALSE(parse("packet_deadline = -1\n"));
}
