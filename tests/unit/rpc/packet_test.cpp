// SPDX-License-Identifier: LGPL-2.1-or-later
// Packet framing and the stream assembler.
#include "rpc/packet.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "rpc/generated/netmessage_protocol.hpp"
#include "util/unix_socket.hpp"

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

namespace {

/// Writes a CALL_WITH_FDS carrying `fds` the way libvirt's clients do: the packet, then one
/// single-byte sendmsg() per descriptor.
void sendCallWithFds(int sock, const std::vector<int>& fds, std::span<const std::uint8_t> args) {
    MessageHeader h;
    h.prog = 0x20008086;
    h.vers = 1;
    h.proc = 310;
    h.type = MessageType::CallWithFds;
    h.serial = 4;
    auto bytes = buildPacketWithFds(h, static_cast<std::uint32_t>(fds.size()), args);
    ASSERT_EQ(::write(sock, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    for (int fd : fds) {
        auto sent = sendDescriptor(sock, fd);
        ASSERT_TRUE(sent && *sent);
    }
}

/// Reads everything pending on `sock` in chunks of `chunk` bytes into the assembler.
void drain(int sock, PacketAssembler& a, std::size_t chunk) {
    std::vector<std::uint8_t> buf(chunk);
    while (true) {
        std::vector<UniqueFd> fds;
        ssize_t n = receiveWithDescriptors(sock, buf, fds);
        if (n <= 0) {
            return;
        }
        ASSERT_TRUE(a.feed(std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(n)), std::move(fds)));
    }
}

}  // namespace

TEST(Packet, CallWithFdsCarriesRealDescriptors) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    UniqueFd client(sv[0]);
    UniqueFd server(sv[1]);
    int pipeFds[2];
    ASSERT_EQ(::pipe(pipeFds), 0);
    UniqueFd readEnd(pipeFds[0]);
    UniqueFd writeEnd(pipeFds[1]);
    const std::uint8_t args[] = {0, 0, 0, 7};
    sendCallWithFds(client.get(), {readEnd.get(), writeEnd.get()}, args);
    // A plain CALL right behind it must come out as its own packet.
    MessageHeader plain;
    plain.proc = 66;
    auto next = buildPacket(plain, std::span<const std::uint8_t>{});
    ASSERT_EQ(::write(client.get(), next.data(), next.size()), static_cast<ssize_t>(next.size()));

    for (std::size_t chunk : {std::size_t{1}, std::size_t{5}, std::size_t{4096}}) {
        SCOPED_TRACE("chunk " + std::to_string(chunk));
        PacketAssembler a;
        if (chunk != 1) {
            sendCallWithFds(client.get(), {readEnd.get(), writeEnd.get()}, args);
            ASSERT_EQ(::write(client.get(), next.data(), next.size()), static_cast<ssize_t>(next.size()));
        }
        drain(server.get(), a, chunk);
        auto p = a.next();
        ASSERT_TRUE(p);
        EXPECT_EQ(p->header.type, MessageType::CallWithFds);
        EXPECT_EQ(p->payload, std::vector<std::uint8_t>(std::begin(args), std::end(args)));
        ASSERT_EQ(p->fds.size(), 2u);
        // The received pair is the same pipe: what goes in one end comes out of the other.
        ASSERT_EQ(::write(p->fds[1].get(), "x", 1), 1);
        char c = 0;
        ASSERT_EQ(::read(readEnd.get(), &c, 1), 1);
        EXPECT_EQ(c, 'x');
        auto q = a.next();
        ASSERT_TRUE(q);
        EXPECT_EQ(q->header.proc, 66);
        EXPECT_TRUE(q->fds.empty());
    }
}

TEST(Packet, TooManyOrMissingDescriptorsBreakTheStream) {
    MessageHeader h;
    h.type = MessageType::CallWithFds;
    PacketAssembler tooMany;
    EXPECT_FALSE(tooMany.feed(buildPacketWithFds(h, 33, std::span<const std::uint8_t>{})));

    // Announced one, but its dummy byte came without a descriptor.
    PacketAssembler missing;
    auto bytes = buildPacketWithFds(h, 1, std::span<const std::uint8_t>{});
    bytes.push_back(0);
    EXPECT_FALSE(missing.feed(bytes));

    // A descriptor nobody announced.
    int pipeFds[2];
    ASSERT_EQ(::pipe(pipeFds), 0);
    ::close(pipeFds[1]);
    std::vector<UniqueFd> stray;
    stray.emplace_back(pipeFds[0]);
    PacketAssembler strayFd;
    MessageHeader plain;
    EXPECT_FALSE(strayFd.feed(buildPacket(plain, std::span<const std::uint8_t>{}), std::move(stray)));
}

TEST(Packet, APacketInProgressHoldsOnlyTheBytesThatArrived) {
    // A length word announcing 32 MiB reserves nothing: the assembler holds what came.
    PacketAssembler a;
    std::vector<std::uint8_t> head = {0x02, 0x00, 0x00, 0x00};
    ASSERT_TRUE(a.feed(head));
    EXPECT_EQ(a.pendingBytes(), 4u);
    std::vector<std::uint8_t> more(1000, 0);
    ASSERT_TRUE(a.feed(more));
    EXPECT_EQ(a.pendingBytes(), 1004u);
    EXPECT_EQ(a.completed(), 0u);
}

TEST(Packet, PendingBytesFallToZeroWhenALargePacketCompletes) {
    MessageHeader h;
    h.prog = 1;
    h.vers = 1;
    std::vector<std::uint8_t> payload(4u << 20, 0x5a);
    auto p = buildPacket(h, std::span<const std::uint8_t>(payload));
    PacketAssembler a;
    std::size_t fed = 0;
    while (fed < p.size()) {
        std::size_t n = std::min<std::size_t>(65536, p.size() - fed);
        ASSERT_TRUE(a.feed(std::span<const std::uint8_t>(p.data() + fed, n)));
        fed += n;
        if (fed < p.size()) {
            EXPECT_EQ(a.pendingBytes(), fed);
        }
    }
    EXPECT_EQ(a.pendingBytes(), 0u);
    EXPECT_EQ(a.completed(), 1u);
    auto got = a.next();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->payload.size(), payload.size());
}

TEST(Packet, AnAssemblerCanBeToldASmallerMaximum) {
    // What the server does before a client has authenticated.
    PacketAssembler a;
    a.setMaxPacket(1024);
    std::vector<std::uint8_t> head = {0x00, 0x00, 0x04, 0x01};  // 1025
    auto fed = a.feed(head);
    ASSERT_FALSE(fed);
    EXPECT_EQ(fed.error().message, "packet length 1025 exceeds maximum 1024");
    PacketAssembler b;
    b.setMaxPacket(1024);
    std::vector<std::uint8_t> fits = {0x00, 0x00, 0x04, 0x00};
    EXPECT_TRUE(b.feed(fits));
    // Never above the protocol's own maximum.
    PacketAssembler c;
    c.setMaxPacket(std::size_t{1} << 40);
    std::vector<std::uint8_t> tooBig = {0x02, 0x00, 0x00, 0x01};
    EXPECT_FALSE(c.feed(tooBig));
}
