// SPDX-License-Identifier: LGPL-2.1-or-later
// Fuzzes what Corral reads off the wire, the way the daemon and the CLI read it. The input is a
// byte stream as one peer sends it (the seeds in tests/fuzz/corpus/xdr_decode are real virsh
// sessions with corrald, both directions, captured by tools/devel/capture_rpc.py). The packet
// assembler cuts it into packets; each packet's body is decoded as the type its program,
// procedure, message type and status select: call arguments and event messages, reply values,
// remote_error, for every procedure of the REMOTE, QEMU, LXC and keepalive programs.
//
// Checked, beyond "no crash, no sanitizer report":
//  - the assembler loses and invents nothing: every packet, built again, is the bytes it came
//    from, in order; and feeding the stream in small pieces gives the same packets (and the same
//    verdict on a corrupt stream) as feeding it at once;
//  - decoding is exact and re-encoding stable: a decoded value encodes to as many bytes as it was
//    decoded from, that encoding decodes again, and encodes to the same bytes (a fixed point).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <utility>
#include <vector>

#include "rpc/generated/keepalive_protocol.hpp"
#include "rpc/generated/lxc_protocol.hpp"
#include "rpc/generated/qemu_protocol.hpp"
#include "rpc/generated/remote_protocol.hpp"
#include "rpc/packet.hpp"

using namespace corral::rpc;
using namespace corral::rpc::proto;

namespace {

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "xdr_decode_fuzz: %s\n", what);
        std::abort();
    }
}

template <class T>
void checkRoundTrip(std::span<const std::uint8_t> body) {
    T value{};
    if (!decodeFromBytes(body, value)) {
        return;  // refused: what the daemon answers with an RPC error
    }
    std::vector<std::uint8_t> once = encodeToBytes(value);
    check(once.size() == body.size(), "a decoded value encodes to a different length than it was decoded from");
    T again{};
    check(decodeFromBytes(once, again), "the encoding of a decoded value does not decode");
    check(encodeToBytes(again) == once, "re-encoding a decoded value is not stable");
}

using BodyCheck = void (*)(const Packet&);

/// Decodes `p`'s body as the daemon (calls) or the CLI (replies, events) would for procedure P.
template <template <std::int32_t> class Proc, std::int32_t P>
void checkBody(const Packet& p) {
    switch (p.header.type) {
        case MessageType::Call:
        case MessageType::CallWithFds:
        case MessageType::Message:  // events: the event procedure's arguments, server to client
            checkRoundTrip<typename Proc<P>::Args>(p.payload);
            break;
        case MessageType::Reply:
        case MessageType::ReplyWithFds:
            if (p.header.status == MessageStatus::Ok) {
                checkRoundTrip<typename Proc<P>::Ret>(p.payload);
            } else if (p.header.status == MessageStatus::Error) {
                checkRoundTrip<remote_error>(p.payload);
            }
            break;
        case MessageType::Stream:
        case MessageType::StreamHole:
            break;  // stream data is bytes, not XDR
    }
}

template <template <std::int32_t> class Proc, std::size_t... I>
constexpr std::array<BodyCheck, sizeof...(I)> bodyChecks(std::index_sequence<I...>) {
    return {&checkBody<Proc, static_cast<std::int32_t>(I + 1)>...};
}

/// Procedures are numbered 1..Last with no gaps. A procedure added after Last must be added
/// here too: the static_asserts below fail until it is.
template <template <std::int32_t> class Proc, std::int32_t Last>
constexpr auto kChecks = bodyChecks<Proc>(std::make_index_sequence<static_cast<std::size_t>(Last)>());

template <template <std::int32_t> class Proc, std::int32_t N>
concept Declared = requires { typename Proc<N>::Args; };

static_assert(!Declared<RemoteProc, REMOTE_PROC_DOMAIN_FD_ASSOCIATE + 1>, "a REMOTE procedure is not fuzzed");
static_assert(!Declared<QemuProc, QEMU_PROC_DOMAIN_MONITOR_COMMAND_WITH_FILES + 1>, "a QEMU procedure is not fuzzed");
static_assert(!Declared<LxcProc, LXC_PROC_DOMAIN_OPEN_NAMESPACE + 1>, "an LXC procedure is not fuzzed");
static_assert(!Declared<KeepaliveProc, KEEPALIVE_PROC_PONG + 1>, "a keepalive procedure is not fuzzed");

template <std::size_t N>
void dispatch(const std::array<BodyCheck, N>& checks, const Packet& p) {
    if (p.header.proc >= 1 && static_cast<std::size_t>(p.header.proc) <= N) {
        checks[static_cast<std::size_t>(p.header.proc) - 1](p);
    }
}

void checkPacketBody(const Packet& p) {
    // As the daemon does, a program is served only at its one version.
    const MessageHeader& h = p.header;
    if (h.prog == REMOTE_PROGRAM && h.vers == REMOTE_PROTOCOL_VERSION) {
        dispatch(kChecks<RemoteProc, REMOTE_PROC_DOMAIN_FD_ASSOCIATE>, p);
    } else if (h.prog == QEMU_PROGRAM && h.vers == QEMU_PROTOCOL_VERSION) {
        dispatch(kChecks<QemuProc, QEMU_PROC_DOMAIN_MONITOR_COMMAND_WITH_FILES>, p);
    } else if (h.prog == LXC_PROGRAM && h.vers == LXC_PROTOCOL_VERSION) {
        dispatch(kChecks<LxcProc, LXC_PROC_DOMAIN_OPEN_NAMESPACE>, p);
    } else if (h.prog == KEEPALIVE_PROGRAM && h.vers == KEEPALIVE_PROTOCOL_VERSION) {
        dispatch(kChecks<KeepaliveProc, KEEPALIVE_PROC_PONG>, p);
    }
}

struct Assembled {
    std::vector<Packet> packets;
    bool corrupt = false;
};

/// The stream fed `chunk` bytes at a time (0: all at once), and what the assembler made of it.
Assembled assemble(std::span<const std::uint8_t> stream, std::size_t chunk) {
    Assembled out;
    PacketAssembler assembler;
    std::size_t step = chunk == 0 ? stream.size() : chunk;
    for (std::size_t at = 0; at < stream.size() && !out.corrupt; at += step) {
        out.corrupt = !assembler.feed(stream.subspan(at, std::min(step, stream.size() - at)));
        while (auto p = assembler.next()) {
            out.packets.push_back(std::move(*p));
        }
    }
    return out;
}

bool samePacket(const Packet& a, const Packet& b) {
    const MessageHeader& x = a.header;
    const MessageHeader& y = b.header;
    return x.prog == y.prog && x.vers == y.vers && x.proc == y.proc && x.type == y.type && x.serial == y.serial &&
           x.status == y.status && a.payload == b.payload && a.fds.size() == b.fds.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> stream(data, size);
    Assembled whole = assemble(stream, 0);
    Assembled pieces = assemble(stream, 1 + size % 13);
    check(whole.corrupt == pieces.corrupt, "feeding in pieces changes the verdict on the stream");
    check(whole.packets.size() == pieces.packets.size(), "feeding in pieces changes the number of packets");
    std::size_t offset = 0;
    for (std::size_t i = 0; i < whole.packets.size(); ++i) {
        const Packet& p = whole.packets[i];
        check(samePacket(p, pieces.packets[i]), "feeding in pieces changes a packet");
        // No descriptors arrive with a fuzzed stream: a *_WITH_FDS packet completes only with a count of 0.
        std::span<const std::uint8_t> payload(p.payload);
        std::vector<std::uint8_t> rebuilt = carriesFds(p.header.type) ? buildPacketWithFds(p.header, 0, payload)
                                                                       : buildPacket(p.header, payload);
        check(offset + rebuilt.size() <= size &&
                  std::equal(rebuilt.begin(), rebuilt.end(), stream.begin() + static_cast<std::ptrdiff_t>(offset)),
              "a packet built again is not the bytes it was cut from");
        offset += rebuilt.size();
        checkPacketBody(p);
    }
    return 0;
}
