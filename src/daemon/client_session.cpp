// SPDX-License-Identifier: LGPL-2.1-or-later
// ClientSession: output queueing and teardown.
#include "daemon/client_session.hpp"

#include "daemon/console_stream.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "util/unix_socket.hpp"

namespace corral::daemon {

namespace {
std::atomic<std::uint64_t> gNextClientId{1};
}

ClientSession::ClientSession(UniqueFd fd, bool readOnlySocket, PeerIdentity peer,
                             std::function<void()> wakeIo)
    : readOnly(readOnlySocket),
      lastReceived(std::chrono::steady_clock::now()),
      fd_(std::move(fd)),
      id_(gNextClientId++),
      peer_(std::move(peer)),
      wakeIo_(std::move(wakeIo)) {}

ClientSession::~ClientSession() = default;

bool ClientSession::writeSome(Outgoing& item, std::size_t& offset) {
    while (offset < item.bytes.size()) {
        ssize_t n = ::send(fd_.get(), item.bytes.data() + offset, item.bytes.size() - offset, MSG_NOSIGNAL | MSG_DONTWAIT);
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
        auto sent = sendDescriptor(fd_.get(), item.fds[item.fdsSent].get());
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

void ClientSession::send(std::vector<std::uint8_t> packet, std::vector<UniqueFd> fds) {
    bool needWake = false;
    {
        std::lock_guard lock(outMutex_);
        if (closed_.load()) {
            return;
        }
        Outgoing item{std::move(packet), std::move(fds), 0};
        outBytes_ += item.bytes.size();
        std::size_t written = 0;
        // Fast path: most replies fit the socket buffer; no I/O-thread round trip. A dead peer
        // or a full socket is left to the I/O thread.
        if (!out_.empty() || !writeSome(item, written)) {
            if (out_.empty()) {
                outOffset_ = written;
            }
            out_.push_back(std::move(item));
            needWake = true;
        }
    }
    if (needWake && wakeIo_) {
        wakeIo_();
    }
}

bool ClientSession::flush() {
    std::lock_guard lock(outMutex_);
    while (!out_.empty()) {
        if (!writeSome(out_.front(), outOffset_)) {
            return errno == EAGAIN || errno == EWOULDBLOCK;
        }
        out_.pop_front();
        outOffset_ = 0;
    }
    return true;
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
    std::lock_guard lock(outMutex_);
    if (closed_.exchange(true)) {
        return;
    }
    out_.clear();
    outBytes_ = 0;
    ::shutdown(fd_.get(), SHUT_RDWR);
}

void ClientSession::addStream(std::shared_ptr<ConsoleStream> stream) {
    std::lock_guard lock(streamMutex_);
    streams_[stream->serial()] = std::move(stream);
}

std::shared_ptr<ConsoleStream> ClientSession::stream(std::uint32_t serial) const {
    std::lock_guard lock(streamMutex_);
    auto it = streams_.find(serial);
    return it == streams_.end() ? nullptr : it->second;
}

void ClientSession::removeStream(std::uint32_t serial) {
    std::shared_ptr<ConsoleStream> gone;  // released outside the lock
    std::lock_guard lock(streamMutex_);
    auto it = streams_.find(serial);
    if (it != streams_.end()) {
        gone = std::move(it->second);
        streams_.erase(it);
    }
}

void ClientSession::closeStreams() {
    std::map<std::uint32_t, std::shared_ptr<ConsoleStream>> all;
    {
        std::lock_guard lock(streamMutex_);
        all.swap(streams_);
    }
    for (auto& [serial, stream] : all) {
        stream->close();
    }
}

}  // namespace corral::daemon
