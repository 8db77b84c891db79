// SPDX-License-Identifier: LGPL-2.1-or-later
// Packet framing and error replies.
#include "rpc/packet.hpp"

#include "rpc/generated/netmessage_protocol.hpp"

namespace corral::rpc {

std::vector<std::uint8_t> buildPacket(const MessageHeader& h, std::span<const std::uint8_t> payload) {
    std::vector<std::uint8_t> out;
    out.reserve(kLengthSize + kHeaderSize + payload.size());
    proto::XdrEncoder enc(out);
    enc.putUint32(static_cast<std::uint32_t>(kLengthSize + kHeaderSize + payload.size()));
    enc.putUint32(h.prog);
    enc.putUint32(h.vers);
    enc.putInt32(h.proc);
    enc.putUint32(static_cast<std::uint32_t>(h.type));
    enc.putUint32(h.serial);
    enc.putUint32(static_cast<std::uint32_t>(h.status));
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

std::vector<std::uint8_t> buildErrorReply(const MessageHeader& call, const Error& err) {
    MessageHeader h = call;
    h.type = MessageType::Reply;
    h.status = MessageStatus::Error;
    proto::remote_error wire{};
    wire.code = static_cast<std::int32_t>(err.code);
    wire.domain = static_cast<std::int32_t>(err.domain);
    wire.message = err.wireMessage();
    wire.level = 2;  // VIR_ERR_ERROR
    return buildPacket(h, wire);
}

Result<MessageHeader> parseHeader(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < kHeaderSize) {
        return fail(ErrorCode::Rpc, "packet header is truncated", ErrorDomain::Rpc);
    }
    proto::XdrDecoder dec(bytes.subspan(0, kHeaderSize));
    MessageHeader h;
    std::uint32_t type = 0;
    std::uint32_t status = 0;
    dec.getUint32(h.prog);
    dec.getUint32(h.vers);
    dec.getInt32(h.proc);
    dec.getUint32(type);
    dec.getUint32(h.serial);
    dec.getUint32(status);
    if (type > static_cast<std::uint32_t>(MessageType::StreamHole)) {
        return fail(ErrorCode::Rpc, "unknown message type " + std::to_string(type), ErrorDomain::Rpc);
    }
    if (status > static_cast<std::uint32_t>(MessageStatus::Continue)) {
        return fail(ErrorCode::Rpc, "unknown message status " + std::to_string(status), ErrorDomain::Rpc);
    }
    h.type = static_cast<MessageType>(type);
    h.status = static_cast<MessageStatus>(status);
    return h;
}

Result<void> PacketAssembler::feed(std::span<const std::uint8_t> bytes) {
    if (failed_) {
        return fail(ErrorCode::Rpc, "packet stream is already corrupt", ErrorDomain::Rpc);
    }
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    auto r = extract();
    if (!r) {
        failed_ = true;
    }
    return r;
}

Result<void> PacketAssembler::extract() {
    while (buffer_.size() - consumed_ >= kLengthSize) {
        const std::uint8_t* p = buffer_.data() + consumed_;
        std::uint32_t len = static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
                            static_cast<std::uint32_t>(p[2]) << 8 | p[3];
        if (len < kLengthSize + kHeaderSize) {
            return fail(ErrorCode::Rpc, "packet length " + std::to_string(len) + " is below the minimum of 28",
                        ErrorDomain::Rpc);
        }
        if (len > kPacketMax) {
            return fail(ErrorCode::Rpc,
                        "packet length " + std::to_string(len) + " exceeds maximum " + std::to_string(kPacketMax),
                        ErrorDomain::Rpc);
        }
        if (buffer_.size() - consumed_ < len) {
            break;
        }
        CORRAL_ASSIGN_OR_RETURN(MessageHeader header,
                                parseHeader(std::span<const std::uint8_t>(p + kLengthSize, kHeaderSize)));
        Packet packet;
        packet.header = header;
        packet.payload.assign(p + kLengthSize + kHeaderSize, p + len);
        ready_.push_back(std::move(packet));
        consumed_ += len;
    }
    // Compact once the consumed prefix dominates, keeping appends amortised O(1).
    if (consumed_ > 0 && consumed_ * 2 >= buffer_.size()) {
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_));
        consumed_ = 0;
    }
    return {};
}

std::optional<Packet> PacketAssembler::next() {
    if (readyPos_ >= ready_.size()) {
        ready_.clear();
        readyPos_ = 0;
        return std::nullopt;
    }
    return std::move(ready_[readyPos_++]);
}

}  // namespace corral::rpc
