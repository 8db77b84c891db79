// SPDX-License-Identifier: LGPL-2.1-or-later
// ClientSession: output queueing and teardown.
#include "daemon/client_session.hpp"

#include "daemon/console_stream.hpp"

#include <sys/socket.h>

#include <cerrno>

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

void ClientSession::send(std::vector<std::uint8_t> packet) {
    bool needWake = false;
    {
        std::lock_guard lock(outMutex_);
        if (closed_.load()) {
            return;
        }
        std::size_t written = 0;
        if (out_.empty()) {
            // Fast path: most replies fit the socket buffer; no I/O-thread round trip.
            while (written < packet.size()) {
                ssize_t n = ::send(fd_.get(), packet.data() + written, packet.size() - written,
                                   MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n > 0) {
                    written += static_cast<std::size_t>(n);
                } else if (n < 0 && errno == EINTR) {
                    continue;
                } else {
                    break;  // EAGAIN or a dead peer: the I/O thread sorts it out
                }
            }
        }
        if (written < packet.size()) {
            outBytes_ += packet.size() - written;
            if (out_.empty()) {
                outOffset_ = written;
            }
            out_.push_back(std::move(packet));
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
        auto& front = out_.front();
        ssize_t n = ::send(fd_.get(), front.data() + outOffset_, front.size() - outOffset_,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno == EAGAIN || errno == EWOULDBLOCK;
        }
        outOffset_ += static_cast<std::size_t>(n);
        outBytes_ -= static_cast<std::size_t>(n);
        if (outOffset_ == front.size()) {
            out_.pop_front();
            outOffset_ = 0;
        }
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
