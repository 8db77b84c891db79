// SPDX-License-Identifier: LGPL-2.1-or-later
// ConsoleStream: the relay thread and the client's input.
#include "daemon/console_stream.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "daemon/client_session.hpp"

namespace corral::daemon {

namespace {
/// Console output queued for a client that does not read it: past this, the relay stops
/// reading the guest's side, and the guest's serial port blocks as on a real line.
constexpr std::size_t kMaxQueuedConsoleOutput = 1u << 20;
}  // namespace

ConsoleStream::ConsoleStream(std::weak_ptr<ClientSession> session, const rpc::MessageHeader& call, UniqueFd fd)
    : session_(std::move(session)), header_(call), fd_(std::move(fd)) {
    header_.type = rpc::MessageType::Stream;
    header_.status = rpc::MessageStatus::Continue;
}

ConsoleStream::~ConsoleStream() {
    close();
    if (thread_.joinable()) {
        if (thread_.get_id() == std::this_thread::get_id()) {
            thread_.detach();  // the relay itself dropped the last reference
        } else {
            thread_.join();
        }
    }
}

void ConsoleStream::start() { thread_ = std::thread([self = shared_from_this()] { self->relay(); }); }

void ConsoleStream::write(std::span<const std::uint8_t> data) {
    // Console input is a few keys at a time into a local socket: a short blocking write. Keys
    // after the guest's side ended go nowhere (its descriptor is closed then).
    std::unique_lock lock(endMutex_);
    std::size_t done = 0;
    while (done < data.size() && !closed_ && !guestEnded_) {
        ssize_t n = ::send(fd_.get(), data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            lock.unlock();
            close();
            return;
        }
        done += static_cast<std::size_t>(n);
    }
}

void ConsoleStream::close() {
    {
        std::lock_guard lock(endMutex_);
        if (closed_.exchange(true)) {
            return;
        }
        if (!guestEnded_) {
            if (fd_) {
                ::shutdown(fd_.get(), SHUT_RDWR);  // wakes the relay, which confirms the end
            }
            return;
        }
    }
    confirmEnd();  // the client's answer to our end of data
}

void ConsoleStream::confirmEnd() {
    if (auto session = session_.lock()) {
        rpc::MessageHeader end = header_;
        end.status = rpc::MessageStatus::Ok;
        session->send(rpc::buildPacket(end, std::span<const std::uint8_t>()));
        session->removeStream(header_.serial);
    }
}

void ConsoleStream::relay() {
    std::uint8_t buf[16384];
    while (true) {
        ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        auto session = session_.lock();
        if (!session) {
            return;
        }
        if (n <= 0) {
            {
                std::lock_guard lock(endMutex_);
                if (!closed_) {
                    // The guest's side ended: end of data, and the client finishes the stream.
                    // Until it does, the stream holds no descriptor.
                    guestEnded_ = true;
                    fd_.reset();
                    session->send(rpc::buildPacket(header_, std::span<const std::uint8_t>()));
                    return;
                }
            }
            confirmEnd();  // the client ended it (finish or abort)
            return;
        }
        session->send(rpc::buildPacket(header_, std::span<const std::uint8_t>(buf, static_cast<std::size_t>(n))));
        if (!session->waitForRoom(kMaxQueuedConsoleOutput, [this] { return closed_.load(); })) {
            if (closed_) {
                confirmEnd();  // the client ended it while its output waited
            } else {
                session->removeStream(header_.serial);
            }
            return;
        }
    }
}

}  // namespace corral::daemon
