// SPDX-License-Identifier: LGPL-2.1-or-later
// Packet framing of libvirt's RPC: a 4-byte length (counting itself), a 24-byte header, an XDR
// payload; and the assembler that cuts a byte stream into packets.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "rpc/xdr.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::rpc {

enum class MessageType : std::uint32_t {
    Call = 0,
    Reply = 1,
    Message = 2,
    Stream = 3,
    CallWithFds = 4,
    ReplyWithFds = 5,
    StreamHole = 6,
};

enum class MessageStatus : std::uint32_t { Ok = 0, Error = 1, Continue = 2 };

struct MessageHeader {
    std::uint32_t prog = 0;
    std::uint32_t vers = 0;
    std::int32_t proc = 0;
    MessageType type = MessageType::Call;
    std::uint32_t serial = 0;
    MessageStatus status = MessageStatus::Ok;
};

inline constexpr std::size_t kPacketMax = 33554432;  ///< VIR_NET_MESSAGE_MAX, length word included
inline constexpr std::size_t kLengthSize = 4;
inline constexpr std::size_t kHeaderSize = 24;
inline constexpr std::uint32_t kMaxPassedFds = 32;  ///< VIR_NET_MESSAGE_NUM_FDS_MAX

/// CALL_WITH_FDS and REPLY_WITH_FDS carry a descriptor count before their body.
inline bool carriesFds(MessageType type) {
    return type == MessageType::CallWithFds || type == MessageType::ReplyWithFds;
}

struct Packet {
    MessageHeader header;
    std::vector<std::uint8_t> payload;  ///< the body; a *_WITH_FDS count is already taken off
    std::vector<UniqueFd> fds;          ///< the descriptors a *_WITH_FDS packet brought
};

/// Length word + header + payload, ready for the socket.
std::vector<std::uint8_t> buildPacket(const MessageHeader& header, std::span<const std::uint8_t> payload);
/// A *_WITH_FDS packet: the count of descriptors, then the payload. The descriptors themselves
/// follow the packet on the socket, one sendmsg() each (sendDescriptor).
std::vector<std::uint8_t> buildPacketWithFds(const MessageHeader& header, std::uint32_t fdCount,
                                             std::span<const std::uint8_t> payload);

template <class T>
std::vector<std::uint8_t> buildPacket(const MessageHeader& header, const T& body) {
    std::vector<std::uint8_t> payload = proto::encodeToBytes(body);
    return buildPacket(header, std::span<const std::uint8_t>(payload));
}

/// The REPLY/ERROR answering `call`: same program, version, procedure and serial, and a
/// remote_error with the code, domain and libvirt-style message of `err`.
std::vector<std::uint8_t> buildErrorReply(const MessageHeader& call, const Error& err);

/// Decodes the 24 header bytes. Errors: Rpc for unknown type or status values.
Result<MessageHeader> parseHeader(std::span<const std::uint8_t> bytes);

/// Cuts a byte stream into packets. Bytes are fed as they arrive; next() yields whole packets.
/// A *_WITH_FDS packet is complete only once its descriptors arrived: each came attached to
/// one dummy byte that follows the packet in the stream (libvirt's convention).
class PacketAssembler {
public:
    /// Appends bytes and the descriptors received with them. The buffer grows with the bytes
    /// that arrive, never with what a length word announces, and shrinks again once a large
    /// packet is taken out. Fails (and stays failed) when a
    /// length word is outside [28, setMaxPacket()], a header is malformed, or a packet announces more
    /// descriptors than allowed or than arrived: the stream can no longer be trusted and the
    /// peer must be dropped.
    Result<void> feed(std::span<const std::uint8_t> bytes, std::vector<UniqueFd> fds = {});
    /// The next complete packet, if one has arrived.
    std::optional<Packet> next();

    /// Bytes held for a packet not complete yet (its part received, or its body while its
    /// descriptors are still to come): what a peer makes the daemon hold without finishing.
    [[nodiscard]] std::size_t pendingBytes() const;
    /// Packets completed so far (a new packet in progress starts its own deadline).
    [[nodiscard]] std::uint64_t completed() const { return completed_; }
    /// Packets announcing more than `bytes` (length word included; at most kPacketMax) fail
    /// like oversized ones: a peer that has not authenticated has no use for large packets.
    void setMaxPacket(std::size_t bytes) { maxPacket_ = bytes < kPacketMax ? bytes : kPacketMax; }

private:
    Result<void> extract();
    /// Takes the dummy bytes and descriptors of `awaitingFds_`; true once it is complete.
    Result<bool> collectFds();

    std::vector<std::uint8_t> buffer_;
    std::size_t consumed_ = 0;
    std::vector<Packet> ready_;
    std::size_t readyPos_ = 0;
    std::vector<UniqueFd> receivedFds_;   ///< arrived, not yet given to a packet
    std::optional<Packet> awaitingFds_;  ///< complete body, descriptors still to come
    std::uint32_t fdsExpected_ = 0;
    std::size_t maxPacket_ = kPacketMax;
    std::uint64_t completed_ = 0;
    bool failed_ = false;
};

}  // namespace corral::rpc
