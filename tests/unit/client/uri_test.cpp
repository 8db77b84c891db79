// SPDX-License-Identifier: LGPL-2.1-or-later
// URI parsing and the name sent in CONNECT_OPEN, per libvirt's rules.
#include "client/uri.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

using namespace corral::client;

TEST(Uri, ParsesTransportHostAndParams) {
    auto u = Uri::parse("qemu+ssh://alice@host.example:2222/system?keyfile=/k&no_tty=1&x=y");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->driver, "qemu");
    EXPECT_EQ(u->transport, "ssh");
    EXPECT_EQ(u->user, "alice");
    EXPECT_EQ(u->host, "host.example");
    EXPECT_EQ(u->port, "2222");
    EXPECT_EQ(u->path, "/system");
    EXPECT_EQ(u->params.at("keyfile"), "/k");
    // Client-only parameters are stripped; others pass through.
    EXPECT_EQ(u->openName(), "qemu:///system?x=y");
}

TEST(Uri, OpenNameStripsSocket) {
    EXPECT_EQ(Uri::parse("qemu+unix:///system?socket=/tmp/c/run/corral/corral-sock")->openName(), "qemu:///system");
    EXPECT_EQ(Uri::parse("test+tls://h:26514/default")->openName(), "test:///default");
    EXPECT_EQ(Uri::parse("lxc:///")->openName(), "lxc:///");
    EXPECT_EQ(Uri::parse("remote+unix:///?socket=/s")->openName(), "");
}

TEST(Uri, SocketChoice) {
    EXPECT_EQ(Uri::parse("qemu:///system")->socketPath(false), "/run/corral/corral-sock");
    EXPECT_EQ(Uri::parse("qemu:///system")->socketPath(true), "/run/corral/corral-sock-ro");
    EXPECT_EQ(Uri::parse("qemu+unix:///system?socket=/x%2Fy")->socketPath(true), "/x/y");
}

TEST(Uri, EmbeddedOnlyForLocalTest) {
    EXPECT_TRUE(Uri::parse("test:///default")->isEmbedded());
    EXPECT_FALSE(Uri::parse("test+unix:///default")->isEmbedded());
    EXPECT_FALSE(Uri::parse("qemu:///system")->isEmbedded());
}

TEST(Uri, RejectsJunk) {
    EXPECT_FALSE(Uri::parse("nonsense"));
    EXPECT_FALSE(Uri::parse(":///x"));
}

TEST(Uri, DefaultResolutionOrder) {
    unsetenv("CORRAL_DEFAULT_URI");
    unsetenv("LIBVIRT_DEFAULT_URI");
    EXPECT_EQ(resolveDefaultUri(""), "qemu:///system");
    setenv("LIBVIRT_DEFAULT_URI", "lxc:///", 1);
    EXPECT_EQ(resolveDefaultUri(""), "lxc:///");
    setenv("CORRAL_DEFAULT_URI", "test:///default", 1);
    EXPECT_EQ(resolveDefaultUri(""), "test:///default");
    EXPECT_EQ(resolveDefaultUri("qemu:///system"), "qemu:///system");
    unsetenv("CORRAL_DEFAULT_URI");
    unsetenv("LIBVIRT_DEFAULT_URI");
}
