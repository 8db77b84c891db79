// SPDX-License-Identifier: LGPL-2.1-or-later
// ClientSession: output queueing and teardown.
#include "daemon/client_session.hpp"

#include "daemon/daemon_stream.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>


namespace corral::daemon {

namespace {
std::atomic<std::uint64_t> gNextClientId{1};
}

ClientSession::ClientSession(std::unique_ptr<rpc::Transport> transport, bool readOnlySocket, PeerIdentity peer,
                             std::function<void()> wakeIo)
    : readOnly(readOnlySocket),
      lastReceived(std::chrono::steady_clock::now()),
      transport_(std::move(transport)),
      fd_(transport_->fd()),
      id_(gNextClientId++),
      peer_(std::move(peer)),
      wakeIo_(std::move(wakeIo)) {}

ClientSession::ClientSession(UniqueFd fd, bool readOnlySocket, PeerIdentity peer, std::function<void()> wakeIo)
    : ClientSession(std::make_unique<rpc::SocketTransport>(std::move(fd), true), readOnlySocket, std::move(peer),
                    std::move(wakeIo)) {}

ssize_t ClientSession::receive(std::span<std::uint8_t> buffer, std::vector<std::uint8_t>& decoded,
                               std::vector<UniqueFd>& fds) {
    ssize_t n = transport_->receive(buffer, fds);
    std::shared_ptr<rpc::SecurityLayer> layer;
    {
        std::lock_guard lock(outMutex_);
        layer = readLayer_;
    }
    decoded.clear();
    if (n <= 0) {
        return n;
    }
    if (!layer) {
        decoded.assign(buffer.begin(), buffer.begin() + n);
        return n;
    }
    auto plain = layer->decode(std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(n)));
    if (!plain) {
        errno = EPROTO;  // a frame that does not decode: the stream cannot be trusted
        return -1;
    }
    decoded = std::move(*plain);
    return n;
}

bool ClientSession::hasBufferedInput() const { return transport_->hasBufferedInput(); }

void ClientSession::startSecurityLayer(std::shared_ptr<rpc::SecurityLayer> layer,
                                       std::vector<std::uint8_t> lastClearPacket) {
    bool needWake = false;
    {
        // One critical section: no other packet (a PONG, an event) can slip in between the last
        // clear one and the switch, and none can go out in the clear after it.
        std::lock_guard lock(outMutex_);
        readLayer_ = layer;
        needWake = sendLocked(std::move(lastClearPacket), {});
        writeLayer_ = std::move(layer);
    }
    if (needWake && wakeIo_) {
        wakeIo_();
    }
}

ClientSession::~ClientSession() = default;

bool ClientSession::writeSome(Outgoing& item, std::size_t& offset) {
    while (offset < item.bytes.size()) {
        ssize_t n = transport_->send(std::span<const std::uint8_t>(item.bytes.data() + offset, item.bytes.size() - offset));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        offset += static_cast<std::size_t>(n);
        outBytes_ -= std::min(outBytes_, static_cast<std::size_t>(n));
    }
    while (item.fdsSent < item.fds.size()) {
        auto sent = transport_->sendDescriptor(item.fds[item.fdsSent].get());
        if (!sent) {
            errno = EPIPE;
            return false;
        }
        if (!*sent) {
            errno = EAGAIN;
            return false;
        }
        item.fds[item.fdsSent++].reset();
    }
    return true;
}

bool ClientSession::sendLocked(std::vector<std::uint8_t> packet, std::vector<UniqueFd> fds, bool event) {
    if (closed_.load()) {
        return false;
    }
    if (writeLayer_) {
        auto encoded = writeLayer_->encode(packet);
        if (!encoded) {
            return false;  // nothing sensible can follow; the peer sees the stream stall and drops
        }
        packet = std::move(*encoded);
    }
    Outgoing item{std::move(packet), std::move(fds), 0, event};
    outBytes_ += item.bytes.size();
    std::size_t written = 0;
    // Fast path: most replies fit the socket buffer; no I/O-thread round trip. A dead peer
    // or a full socket is left to the I/O thread.
    if (out_.empty() && writeSome(item, written)) {
        return false;
    }
    if (out_.empty()) {
        outOffset_ = written;
    }
    if (event) {
        eventBytes_ += item.bytes.size();
    }
    out_.push_back(std::move(item));
    return true;
}

bool ClientSession::sendEvent(std::vector<std::uint8_t> packet, std::size_t limit) {
    bool needWake = false;
    {
        std::lock_guard lock(outMutex_);
        if (closed_.load()) {
            return true;  // nothing to end: the session is gone already
        }
        if (eventBytes_ + packet.size() > limit) {
            return false;
        }
        needWake = sendLocked(std::move(packet), {}, true);
    }
    if (needWake && wakeIo_) {
        wakeIo_();
    }
    return true;
}

bool ClientSession::waitForRoom(std::size_t limit, const std::function<bool()>& abandon) {
    std::unique_lock lock(outMutex_);
    while (!closed_.load() && outBytes_ >= limit) {
        if (abandon()) {
            return false;
        }
        roomCv_.wait_for(lock, std::chrono::seconds(1));
    }
    return !closed_.load();
}

void ClientSession::send(std::vector<std::uint8_t> packet, std::vector<UniqueFd> fds) {
    bool needWake = false;
    {
        std::lock_guard lock(outMutex_);
        needWake = sendLocked(std::move(packet), std::move(fds));
    }
    if (needWake && wakeIo_) {
        wakeIo_();
    }
}

bool ClientSession::hasHeldReplies() const {
    std::lock_guard lock(outMutex_);
    return !held_.empty();
}

void ClientSession::sendAt(std::vector<std::uint8_t> packet, std::chrono::steady_clock::time_point due,
                           bool closeAfter, std::shared_ptr<rpc::SecurityLayer> layer,
                           std::function<void()> beforeSend) {
    std::lock_guard lock(outMutex_);
    held_.push_back({std::move(packet), due, closeAfter, std::move(layer), std::move(beforeSend)});
}

bool ClientSession::releaseDue(std::chrono::steady_clock::time_point now) {
    std::vector<Held> due;
    {
        std::lock_guard lock(outMutex_);
        for (auto it = held_.begin(); it != held_.end();) {
            if (it->due <= now) {
                due.push_back(std::move(*it));
                it = held_.erase(it);
            } else {
                ++it;
            }
        }
    }
    bool close = false;
    for (auto& h : due) {
        if (h.beforeSend) {
            h.beforeSend();
        }
        if (h.layer) {
            startSecurityLayer(std::move(h.layer), std::move(h.packet));
        } else {
            send(std::move(h.packet));
        }
        close = close || h.closeAfter;
    }
    return close;
}

bool ClientSession::flush() {
    std::lock_guard lock(outMutex_);
    std::size_t before = outBytes_;
    bool ok = true;
    while (!out_.empty()) {
        if (!writeSome(out_.front(), outOffset_)) {
            ok = errno == EAGAIN || errno == EWOULDBLOCK;
            break;
        }
        if (out_.front().event) {
            eventBytes_ -= std::min(eventBytes_, out_.front().bytes.size());
        }
        out_.pop_front();
        outOffset_ = 0;
    }
    if (outBytes_ < before) {
        roomCv_.notify_all();
    }
    return ok;
}

bool ClientSession::wantsWrite() const {
    std::lock_guard lock(outMutex_);
    return !out_.empty();
}

std::size_t ClientSession::queuedBytes() const {
    std::lock_guard lock(outMutex_);
    return outBytes_;
}

void ClientSession::markClosed() {
    {
        std::lock_guard lock(outMutex_);
        if (closed_.exchange(true)) {
            return;
        }
        // The queue's memory goes now, not when the last worker lets go of the session.
        std::deque<Outgoing>().swap(out_);
        outBytes_ = 0;
        eventBytes_ = 0;
        held_.clear();
        transport_->shutdown();
    }
    roomCv_.notify_all();
    if (wakeIo_) {
        wakeIo_();
    }
}

void ClientSession::addStream(std::shared_ptr<DaemonStream> stream) {
    std::lock_guard lock(streamMutex_);
    streams_[stream->serial()] = std::move(stream);
}

std::shared_ptr<DaemonStream> ClientSession::stream(std::uint32_t serial) const {
    std::lock_guard lock(streamMutex_);
    auto it = streams_.find(serial);
    return it == streams_.end() ? nullptr : it->second;
}

void ClientSession::removeStream(std::uint32_t serial) {
    std::shared_ptr<DaemonStream> gone;  // released outside the lock
    std::lock_guard lock(streamMutex_);
    auto it = streams_.find(serial);
    if (it != streams_.end()) {
        gone = std::move(it->second);
        streams_.erase(it);
    }
}

std::size_t ClientSession::streamInputPending() const {
    std::lock_guard lock(streamMutex_);
    std::size_t total = 0;
    for (const auto& [serial, stream] : streams_) {
        total += stream->pendingInput();
    }
    return total;
}

void ClientSession::closeStreams() {
    std::map<std::uint32_t, std::shared_ptr<DaemonStream>> all;
    {
        std::lock_guard lock(streamMutex_);
        all.swap(streams_);
    }
    for (auto& [serial, stream] : all) {
        stream->close();
    }
}

}  // namespace corral::daemon
