// SPDX-License-Identifier: LGPL-2.1-or-later
// Reading GET_ALL_DOMAIN_STATS records by their typed parameters' names.
#include "rpc/domain_stats_record.hpp"

#include <gtest/gtest.h>

using namespace corral;
namespace proto = corral::rpc::proto;

namespace {

proto::remote_typed_param typed(const std::string& field, std::uint32_t type) {
    proto::remote_typed_param p;
    p.field = field;
    p.value.type = static_cast<std::int32_t>(type);
    return p;
}

proto::remote_typed_param uintParam(const std::string& field, std::uint32_t v) {
    auto p = typed(field, proto::VIR_TYPED_PARAM_UINT);
    p.value.ui = v;
    return p;
}

proto::remote_typed_param ullongParam(const std::string& field, std::uint64_t v) {
    auto p = typed(field, proto::VIR_TYPED_PARAM_ULLONG);
    p.value.ul = v;
    return p;
}

proto::remote_typed_param intParam(const std::string& field, std::int32_t v) {
    auto p = typed(field, proto::VIR_TYPED_PARAM_INT);
    p.value.i = v;
    return p;
}

proto::remote_typed_param stringParam(const std::string& field, const std::string& v) {
    auto p = typed(field, proto::VIR_TYPED_PARAM_STRING);
    p.value.s = v;
    return p;
}

}  // namespace

TEST(DomainStatsRecord, ReadsARunningGuest) {
    auto g = rpc::readGuestStats({intParam("state.state", 1),
                                  intParam("state.reason", 1),
                                  ullongParam("cpu.time", 1500000000),
                                  ullongParam("balloon.current", 524288),
                                  ullongParam("balloon.maximum", 1048576),
                                  uintParam("vcpu.current", 2),
                                  uintParam("vcpu.maximum", 4),
                                  uintParam("block.count", 2),
                                  stringParam("block.0.name", "vda"),
                                  ullongParam("block.0.rd.bytes", 4096),
                                  ullongParam("block.0.rd.reqs", 8),
                                  ullongParam("block.0.wr.bytes", 512),
                                  ullongParam("block.0.wr.reqs", 1),
                                  stringParam("block.1.name", "hdc"),
                                  uintParam("net.count", 1),
                                  stringParam("net.0.name", "vnet0"),
                                  ullongParam("net.0.rx.bytes", 100),
                                  ullongParam("net.0.rx.pkts", 2),
                                  ullongParam("net.0.tx.bytes", 300),
                                  ullongParam("net.0.tx.pkts", 4)});
    EXPECT_EQ(g.state, 1);
    EXPECT_EQ(g.cpuTimeNs, 1500000000u);
    EXPECT_EQ(g.memoryKiB, 524288u);
    EXPECT_EQ(g.maxMemoryKiB, 1048576u);
    EXPECT_EQ(g.vcpus, 2u);
    ASSERT_EQ(g.disks.size(), 2u);
    EXPECT_EQ(g.disks[0].name, "vda");
    EXPECT_EQ(g.disks[0].readBytes, 4096);
    EXPECT_EQ(g.disks[0].readRequests, 8);
    EXPECT_EQ(g.disks[0].writeBytes, 512);
    EXPECT_EQ(g.disks[0].writeRequests, 1);
    EXPECT_EQ(g.disks[1].name, "hdc");
    EXPECT_EQ(g.disks[1].readBytes, -1);  // an empty cdrom counts nothing
    ASSERT_EQ(g.interfaces.size(), 1u);
    EXPECT_EQ(g.interfaces[0].name, "vnet0");
    EXPECT_EQ(g.interfaces[0].rxBytes, 100);
    EXPECT_EQ(g.interfaces[0].rxPackets, 2);
    EXPECT_EQ(g.interfaces[0].txBytes, 300);
    EXPECT_EQ(g.interfaces[0].txPackets, 4);
}

TEST(DomainStatsRecord, AnInactiveGuestHasNoCpuTime) {
    auto g =
        rpc::readGuestStats({intParam("state.state", 5), ullongParam("balloon.maximum", 1024)});
    EXPECT_EQ(g.state, 5);
    EXPECT_FALSE(g.cpuTimeNs);
    EXPECT_FALSE(g.memoryKiB);
    EXPECT_EQ(g.maxMemoryKiB, 1024u);
    EXPECT_TRUE(g.disks.empty());
    EXPECT_TRUE(g.interfaces.empty());
}

TEST(DomainStatsRecord, WrongTypesAndHostileCountsAreIgnored) {
    auto g = rpc::readGuestStats({stringParam("cpu.time", "lots"), intParam("balloon.current", -5),
                                  uintParam("block.count", 4000000000u),
                                  stringParam("block.0.name", "vda")});
    EXPECT_FALSE(g.state);
    EXPECT_FALSE(g.cpuTimeNs);
    EXPECT_FALSE(g.memoryKiB);
    // block.count is trusted no further than the record's own size.
    EXPECT_LE(g.disks.size(), 4u);
    ASSERT_FALSE(g.disks.empty());
    EXPECT_EQ(g.disks[0].name, "vda");
}
