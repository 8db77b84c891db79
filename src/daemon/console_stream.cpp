// SPDX-License-Identifier: LGPL-2.1-or-later
// ConsoleStream: the relay thread, the client's queued input; ConsoleRegistry.
#include "daemon/console_stream.hpp"

#include <poll.h>
#include <sys/eventfd.h>
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
    : session_(std::move(session)),
      header_(call),
      fd_(std::move(fd)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
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
    {
        // closed_ is read under the lock the relay clears the queue with, once it is set: no key
        // is left behind in a queue nobody empties.
        std::lock_guard lock(inputMutex_);
        if (closed_ || data.empty()) {
            return;
        }
        input_.append(reinterpret_cast<const char*>(data.data()), data.size());
    }
    std::lock_guard lock(fdMutex_);
    if (wake_) {
        std::uint64_t one = 1;
        (void)!::write(wake_.get(), &one, sizeof one);
    }
}

std::size_t ConsoleStream::pendingInput() const {
    std::lock_guard lock(inputMutex_);
    return input_.size();
}

void ConsoleStream::close() {
    std::lock_guard lock(fdMutex_);
    if (!closed_.exchange(true) && fd_) {
        ::shutdown(fd_.get(), SHUT_RDWR);  // wakes the relay, which ends the stream
    }
}

void ConsoleStream::takeOver() {
    endError_ = EndError::TakenOver;
    close();
}

void ConsoleStream::hole(std::span<const std::uint8_t> /*payload*/) {
    endError_ = EndError::UnexpectedHole;
    close();
}

bool ConsoleStream::writeInput() {
    std::size_t before = 0;
    std::size_t after = 0;
    {
        std::lock_guard lock(inputMutex_);
        before = input_.size();
        while (!input_.empty()) {
            ssize_t n = ::send(fd_.get(), input_.data(), input_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                break;  // the guest's side is full: POLLOUT says when it takes more
            }
            if (n <= 0) {
                return false;
            }
            input_.erase(0, static_cast<std::size_t>(n));
        }
        after = input_.size();
    }
    if (before > kMaxPendingInput && after <= kMaxPendingInput) {
        if (auto session = session_.lock()) {
            session->wake();  // the I/O thread may read this client again
        }
    }
    return true;
}

void ConsoleStream::finishByClient(bool /*abort*/) {
    bool relayDone = false;
    {
        std::lock_guard lock(endMutex_);
        clientEnded_ = true;
        relayDone = relayDone_;
    }
    if (!relayDone) {
        close();  // the relay answers when it ends
        return;
    }
    if (auto session = session_.lock()) {
        answerClient(*session);
    }
}

void ConsoleStream::answerClient(ClientSession& session) {
    // The confirmation the client's finish or abort waits for.
    rpc::MessageHeader last = header_;
    last.status = rpc::MessageStatus::Ok;
    session.send(rpc::buildPacket(last, std::span<const std::uint8_t>()));
    session.removeStream(header_.serial);
}

void ConsoleStream::end(ClientSession& session) {
    bool clientEnded = false;
    {
        std::lock_guard lock(endMutex_);
        relayDone_ = true;
        clientEnded = clientEnded_;
    }
    if (clientEnded) {
        answerClient(session);
        return;
    }
    // After the end of data the stream stays known until the client finishes or aborts it (it
    // waits for an answer then; libvirt's client drops a connection on a confirmation it did
    // not ask for), holding no descriptor.
    if (endError_ != EndError::None) {
        Error err;
        err.code = endError_ == EndError::TakenOver ? ErrorCode::OperationFailed : ErrorCode::Rpc;
        err.domain = endError_ == EndError::TakenOver ? ErrorDomain::Domain : ErrorDomain::Rpc;
        err.message = endError_ == EndError::TakenOver
                          ? "the console has been taken over by another client (--force)"
                          : "Unexpected stream hole";
        session.send(buildStreamError(header_, err));
        // As libvirt: a client whose stream failed does not abort it (nothing would answer).
        session.removeStream(header_.serial);
    } else {
        // The guest's side ended: empty data is the end of the stream.
        session.send(rpc::buildPacket(header_, std::span<const std::uint8_t>()));
    }
}

void ConsoleStream::relay() {
    std::uint8_t buf[16384];
    while (!closed_) {
        bool haveInput = pendingInput() > 0;
        pollfd fds[2] = {{fd_.get(), static_cast<short>(POLLIN | (haveInput ? POLLOUT : 0)), 0},
                         {wake_.get(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if ((fds[1].revents & POLLIN) != 0) {
            std::uint64_t count = 0;
            (void)!::read(wake_.get(), &count, sizeof count);
        }
        if ((fds[0].revents & POLLOUT) != 0 && !writeInput()) {
            break;
        }
        if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
            continue;
        }
        ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        auto session = session_.lock();
        if (!session) {
            return;
        }
        session->send(rpc::buildPacket(header_, std::span<const std::uint8_t>(buf, static_cast<std::size_t>(n))));
        if (!session->waitForRoom(kMaxQueuedConsoleOutput, [this] { return closed_.load(); })) {
            break;
        }
    }
    {
        std::lock_guard lock(fdMutex_);
        closed_ = true;
        fd_.reset();  // the guest's side is done with: its controller sees the end now
        wake_.reset();  // only the relay waits on it
    }
    {
        // Keys nobody will take: a typist held back for them must be read again.
        std::lock_guard lock(inputMutex_);
        std::string().swap(input_);
    }
    if (auto session = session_.lock()) {
        end(*session);
        session->wake();
    }
}

Result<std::shared_ptr<ConsoleStream>> ConsoleRegistry::open(
    const std::string& key, bool force, const std::function<Result<std::shared_ptr<ConsoleStream>>()>& open) {
    std::lock_guard lock(mutex_);
    for (auto it = holders_.begin(); it != holders_.end();) {
        auto held = it->second.lock();
        it = held && !held->closed() ? std::next(it) : holders_.erase(it);
    }
    if (auto it = holders_.find(key); it != holders_.end()) {
        if (!force) {
            return fail(ErrorCode::OperationFailed, "Active console session exists for this domain");
        }
        if (auto held = it->second.lock()) {
            held->takeOver();
        }
        holders_.erase(it);
    }
    CORRAL_ASSIGN_OR_RETURN(std::shared_ptr<ConsoleStream> stream, open());
    holders_[key] = stream;
    return stream;
}

}  // namespace corral::daemon
