// SPDX-License-Identifier: LGPL-2.1-or-later
// Packet framing and the stream assembler.
#include "rpc/packet.hpp"

#include <gtest/gtest.h>

#include "rpc/generated/netmessage_protocol.hpp"

using namespace corral;
using namespace corral::rpc;

TEST(Packet, EmptyCallIs28Bytes) {
    MessageHeader h;
    h.prog = 0x20008086;
    h.vers = 1;
    h.proc = 66;
    auto p = buildPacket(h, std::span<const std::uint8_t>{});
    ASSERT_EQ(p.size(), 28u);
    EXPECT_EQ(p[3], 28);
    auto parsed = parseHeader(std::span<const std::uint8_t>(p).subspan(4));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->proc, 66);
}

TEST(Packet, AssemblerHandlesOneByteChunksAndSeveralPackets) {
    MessageHeader h;
    h.prog = 1;
    h.vers = 1;
    std::vector<std::uint8_t> stream;
    for (int i = 0; i < 3; ++i) {
        h.serial = static_cast<std::uint32_t>(i);
        std::vector<std::uint8_t> payload(static_cast<std::size_t>(i * 5), 0xab);
        auto p = buildPacket(h, std::span<const std::uint8_t>(payload));
        stream.insert(stream.end(), p.begin(), p.end());
    }
    PacketAssembler a;
    std::vector<Packet> got;
    for (auto b : stream) {
        ASSERT_TRUE(a.feed(std::span<const std::uint8_t>(&b, 1)));
        while (auto p = a.next()) {
            got.push_back(std::move(*p));
        }
    }
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[2].header.serial, 2u);
    EXPECT_EQ(got[2].payload.size(), 10u);
}

TEST(Packet, AssemblerRefusesBadLengths) {
    PacketAssembler small;
    std::vector<std::uint8_t> tooSmall = {0, 0, 0, 27};
    EXPECT_FALSE(small.feed(tooSmall));
    PacketAssembler big;
    std::vector<std::uint8_t> tooBig = {0x02, 0x00, 0x00, 0x01};
    EXPECT_FALSE(big.feed(tooBig));
    EXPECT_FALSE(big.feed(tooSmall));  // stays failed
}

TEST(Packet, AssemblerRefusesUnknownType) {
    MessageHeader h;
    auto p = buildPacket(h, std::span<const std::uint8_t>{});
    p[19] = 9;  // type word
    PacketAssembler a;
    EXPECT_FALSE(a.feed(p));
}

TEST(Packet, ErrorReplyCarriesCallIdentity) {
    MessageHeader call;
    call.prog = 0x20008086;
    call.vers = 1;
    call.proc = 23;
    call.serial = 9;
    Error err{ErrorCode::NoDomain, ErrorDomain::Domain, "no domain with matching name 'x'"};
    auto bytes = buildErrorReply(call, err);
    PacketAssembler a;
    ASSERT_TRUE(a.feed(bytes));
    auto p = a.next();
    ASSERT_TRUE(p);
    EXPECT_EQ(p->header.type, MessageType::Reply);
    EXPECT_EQ(p->header.status, MessageStatus::Error);
    EXPECT_EQ(p->header.serial, 9u);
    EXPECT_EQ(p->header.proc, 23);
    proto::remote_error e{};
    ASSERT_TRUE(proto::decodeFromBytes(p->payload, e));
    EXPECT_EQ(e.code, 42);
    EXPECT_EQ(*e.message, "Domain not found: no domain with matching name 'x'");
}
