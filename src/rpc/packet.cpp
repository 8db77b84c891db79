// SPDX-License-Identifier: LGPL-2.1-or-later
// Packet framing and error replies.
#include "rpc/packet.hpp"

#include "rpc/generated/netmessage_protocol.hpp"

namespace corral::rpc {

namespace {
/// Room an assembler keeps between packets: a few reads' worth, enough for ordinary calls.
constexpr std::size_t kKeptCapacity = 256 * 1024;
}  // namespace

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

std::vector<std::uint8_t> buildPacketWithFds(const MessageHeader& h, std::uint32_t fdCount,
                                             std::span<const std::uint8_t> payload) {
    std::vector<std::uint8_t> body;
    body.reserve(4 + payload.size());
    proto::XdrEncoder enc(body);
    enc.putUint32(fdCount);
    body.insert(body.end(), payload.begin(), payload.end());
    return buildPacket(h, std::span<const std::uint8_t>(body));
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

Result<void> PacketAssembler::feed(std::span<const std::uint8_t> bytes, std::vector<UniqueFd> fds) {
    if (failed_) {
        return fail(ErrorCode::Rpc, "packet stream is already corrupt", ErrorDomain::Rpc);
    }
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    for (auto& fd : fds) {
        receivedFds_.push_back(std::move(fd));
    }
    auto r = extract();
    if (!r) {
        failed_ = true;
    }
    return r;
}

Result<bool> PacketAssembler::collectFds() {
    // The sender writes one dummy byte per descriptor right after the packet; the kernel hands
    // the descriptor over with its byte, so both have arrived once the bytes have.
    while (fdsExpected_ > awaitingFds_->fds.size() && consumed_ < buffer_.size()) {
        if (receivedFds_.empty()) {
            return fail(ErrorCode::Rpc, "a file descriptor announced by the packet did not arrive with it",
                        ErrorDomain::Rpc);
        }
        ++consumed_;
        awaitingFds_->fds.push_back(std::move(receivedFds_.front()));
        receivedFds_.erase(receivedFds_.begin());
    }
    if (awaitingFds_->fds.size() < fdsExpected_) {
        return false;
    }
    ready_.push_back(std::move(*awaitingFds_));
    ++completed_;
    awaitingFds_.reset();
    return true;
}

Result<void> PacketAssembler::extract() {
    while (true) {
        if (awaitingFds_) {
            CORRAL_ASSIGN_OR_RETURN(bool complete, collectFds());
            if (!complete) {
                break;
            }
        }
        if (buffer_.size() - consumed_ < kLengthSize) {
            break;
        }
        const std::uint8_t* p = buffer_.data() + consumed_;
        std::uint32_t len = static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
                            static_cast<std::uint32_t>(p[2]) << 8 | p[3];
        if (len < kLengthSize + kHeaderSize) {
            return fail(ErrorCode::Rpc, "packet length " + std::to_string(len) + " is below the minimum of 28",
                        ErrorDomain::Rpc);
        }
        if (len > maxPacket_) {
            return fail(ErrorCode::Rpc,
                        "packet length " + std::to_string(len) + " exceeds maximum " + std::to_string(maxPacket_),
                        ErrorDomain::Rpc);
        }
        if (buffer_.size() - consumed_ < len) {
            break;
        }
        CORRAL_ASSIGN_OR_RETURN(MessageHeader header,
                                parseHeader(std::span<const std::uint8_t>(p + kLengthSize, kHeaderSize)));
        Packet packet;
        packet.header = header;
        const std::uint8_t* body = p + kLengthSize + kHeaderSize;
        if (!carriesFds(header.type)) {
            packet.payload.assign(body, p + len);
            ready_.push_back(std::move(packet));
            ++completed_;
            consumed_ += len;
            continue;
        }
        if (len < kLengthSize + kHeaderSize + 4) {
            return fail(ErrorCode::Rpc, "packet with file descriptors lacks their count", ErrorDomain::Rpc);
        }
        std::uint32_t count = static_cast<std::uint32_t>(body[0]) << 24 | static_cast<std::uint32_t>(body[1]) << 16 |
                              static_cast<std::uint32_t>(body[2]) << 8 | body[3];
        if (count > kMaxPassedFds) {
            return fail(ErrorCode::Rpc,
                        "packet announces " + std::to_string(count) + " file descriptors, more than the maximum of " +
                            std::to_string(kMaxPassedFds),
                        ErrorDomain::Rpc);
        }
        packet.payload.assign(body + 4, p + len);
        consumed_ += len;
        fdsExpected_ = count;
        awaitingFds_ = std::move(packet);
    }
    if (!awaitingFds_ && !receivedFds_.empty()) {
        // Descriptors always follow the packet that announces them; stray ones are refused
        // rather than collected (a client could otherwise fill our descriptor table).
        return fail(ErrorCode::Rpc, "file descriptors arrived without a packet announcing them", ErrorDomain::Rpc);
    }
    // Compact once the consumed prefix dominates, keeping appends amortised O(1).
    if (consumed_ > 0 && consumed_ * 2 >= buffer_.size()) {
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_));
        consumed_ = 0;
    }
    // A large packet is gone: give its room back rather than keep it for the connection's life.
    if (buffer_.capacity() > kKeptCapacity && buffer_.size() * 4 < buffer_.capacity()) {
        std::vector<std::uint8_t>(buffer_.begin(), buffer_.end()).swap(buffer_);
    }
    return {};
}

std::size_t PacketAssembler::pendingBytes() const {
    return buffer_.size() - consumed_ + (awaitingFds_ ? awaitingFds_->payload.size() : 0);
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
