// SPDX-License-Identifier: LGPL-2.1-or-later
// QmpMonitor implementation: a line-oriented JSON protocol over a unix socket.
#include "drivers/qemu/qmp_monitor.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "util/json.hpp"
#include "util/logging.hpp"
#include "util/unix_socket.hpp"

namespace corral::drivers::qemu {

namespace {
/// A reply or event larger than this is a broken peer, not a QMP message.
constexpr std::size_t kMaxLine = 16 * 1024 * 1024;
}  // namespace

struct QmpMonitor::State {
    UniqueFd fd;
    QmpCallbacks callbacks;
    std::string buffer;  // bytes read but not yet split into lines

    std::mutex commandMutex;  // one command in flight at a time
    std::mutex mutex;         // guards the fields below
    std::condition_variable replied;
    std::optional<JsonValue> reply;
    bool closed = false;       // connection ended
    bool closedByUs = false;   // close() was called
    unsigned commands = 0;
    std::thread reader;

    /// Reads one line (blocking, with a deadline when `timeout` >= 0). Used before the reader
    /// thread runs.
    Result<std::string> readLine(std::chrono::milliseconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (true) {
            auto nl = buffer.find('\n');
            if (nl != std::string::npos) {
                std::string line = buffer.substr(0, nl);
                buffer.erase(0, nl + 1);
                return line;
            }
            if (buffer.size() > kMaxLine) {
                return fail(ErrorCode::InternalError, "QEMU monitor sent an oversized message");
            }
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                return fail(ErrorCode::OperationTimeout, "timed out waiting for the QEMU monitor");
            }
            pollfd p{fd.get(), POLLIN, 0};
            int r = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 60000)));
            if (r < 0 && errno != EINTR) {
                return failErrno(errno, "cannot poll the QEMU monitor");
            }
            if (r <= 0) {
                continue;
            }
            char chunk[65536];
            ssize_t n = ::recv(fd.get(), chunk, sizeof chunk, 0);
            if (n == 0) {
                return fail(ErrorCode::OperationFailed, "QEMU closed its monitor");
            }
            if (n < 0) {
                if (errno == EINTR || errno == EAGAIN) {
                    continue;
                }
                return failErrno(errno, "cannot read from the QEMU monitor");
            }
            buffer.append(chunk, static_cast<std::size_t>(n));
        }
    }

    Result<void> writeAll(std::string_view data) {
        while (!data.empty()) {
            ssize_t n = ::send(fd.get(), data.data(), data.size(), MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return failErrno(errno, "cannot write to the QEMU monitor");
            }
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return {};
    }

    /// Handles one message on the reader thread: an event goes to the callback, anything else
    /// is the reply of the command in flight.
    void dispatch(const std::string& line) {
        auto msg = JsonValue::parse(line);
        if (!msg) {
            // QEMU answers every command with one message, so an unreadable one is the reply of
            // the command in flight: fail that command now rather than at its timeout.
            logWarning("malformed message from QEMU monitor: " + msg.error().message);
            msg = JsonValue::parse(R"({"error": {"class": "GenericError", "desc": "unreadable reply from the QEMU monitor"}})");
        }
        if (msg->has("event")) {
            if (callbacks.onEvent) {
                callbacks.onEvent((*msg)["event"].asString(), (*msg)["data"]);
            }
            return;
        }
        std::lock_guard lock(mutex);
        reply = std::move(*msg);
        replied.notify_all();
    }

    static void run(const std::shared_ptr<State>& self) {
        while (true) {
            auto line = self->readLine(std::chrono::hours(24 * 365));
            if (!line) {
                break;
            }
            self->dispatch(*line);
        }
        bool notify;
        {
            std::lock_guard lock(self->mutex);
            self->closed = true;
            notify = !self->closedByUs;
            self->replied.notify_all();
        }
        if (notify && self->callbacks.onClosed) {
            self->callbacks.onClosed();
        }
    }
};

QmpMonitor::QmpMonitor(std::shared_ptr<State> state) : state_(std::move(state)) {}

Result<std::unique_ptr<QmpMonitor>> QmpMonitor::open(UniqueFd socket, QmpCallbacks callbacks,
                                                     std::chrono::milliseconds greetingTimeout) {
    auto state = std::make_shared<State>();
    state->fd = std::move(socket);
    state->callbacks = std::move(callbacks);
    CORRAL_ASSIGN_OR_RETURN(std::string greeting, state->readLine(greetingTimeout));
    auto hello = JsonValue::parse(greeting);
    if (!hello || !hello->has("QMP")) {
        return fail(ErrorCode::InternalError, "unexpected greeting from the QEMU monitor: " + greeting.substr(0, 200));
    }
    CORRAL_TRY(state->writeAll("{\"execute\":\"qmp_capabilities\"}\n"));
    state->commands = 1;
    while (true) {
        CORRAL_ASSIGN_OR_RETURN(std::string line, state->readLine(greetingTimeout));
        auto msg = JsonValue::parse(line);
        if (msg && msg->has("event")) {
            continue;  // an event before the reply (none is expected this early)
        }
        if (!msg || !msg->has("return")) {
            return fail(ErrorCode::InternalError, "QEMU refused QMP capabilities negotiation: " + line.substr(0, 200));
        }
        break;
    }
    state->reader = std::thread([state] { State::run(state); });
    return std::unique_ptr<QmpMonitor>(new QmpMonitor(state));
}

Result<std::unique_ptr<QmpMonitor>> QmpMonitor::connect(const std::string& path, QmpCallbacks callbacks,
                                                        std::chrono::milliseconds greetingTimeout) {
    CORRAL_ASSIGN_OR_RETURN(UniqueFd fd, connectUnixSocket(path));
    return open(std::move(fd), std::move(callbacks), greetingTimeout);
}

QmpMonitor::~QmpMonitor() { close(); }

void QmpMonitor::close() {
    {
        std::lock_guard lock(state_->mutex);
        state_->closedByUs = true;
    }
    if (state_->fd) {
        ::shutdown(state_->fd.get(), SHUT_RDWR);
    }
    if (state_->reader.joinable()) {
        if (state_->reader.get_id() == std::this_thread::get_id()) {
            state_->reader.detach();  // closed from an event callback: the thread ends by itself
        } else {
            state_->reader.join();
        }
    }
}

unsigned QmpMonitor::commandsSent() const {
    std::lock_guard lock(state_->mutex);
    return state_->commands;
}

Result<JsonValue> QmpMonitor::execute(std::string_view command, std::string_view argumentsJson,
                                      std::chrono::milliseconds timeout) {
    std::lock_guard serial(state_->commandMutex);
    {
        std::lock_guard lock(state_->mutex);
        if (state_->closed || state_->closedByUs) {
            return fail(ErrorCode::OperationInvalid, "QEMU monitor is closed (the guest is not running)");
        }
        state_->reply.reset();
        ++state_->commands;
    }
    std::string msg = "{\"execute\":\"" + std::string(command) + "\"";
    if (!argumentsJson.empty()) {
        msg += ",\"arguments\":" + std::string(argumentsJson);
    }
    msg += "}\n";
    CORRAL_TRY(state_->writeAll(msg).withContext("sending '" + std::string(command) + "'"));
    std::unique_lock lock(state_->mutex);
    bool answered = state_->replied.wait_for(lock, timeout, [&] { return state_->reply || state_->closed; });
    if (!answered) {
        return fail(ErrorCode::OperationTimeout,
                    "QEMU monitor did not answer '" + std::string(command) + "' within " +
                        std::to_string(timeout.count() / 1000) + " s",
                    ErrorDomain::Qemu);
    }
    if (!state_->reply) {
        return fail(ErrorCode::OperationFailed,
                    "QEMU exited while running '" + std::string(command) + "'", ErrorDomain::Qemu);
    }
    JsonValue reply = std::move(*state_->reply);
    state_->reply.reset();
    if (reply.has("error")) {
        return fail(ErrorCode::OperationFailed,
                    "QEMU refused '" + std::string(command) + "': " + reply["error"]["desc"].asString("unknown error"),
                    ErrorDomain::Qemu);
    }
    return reply["return"];
}

Result<JsonValue> QmpMonitor::executeWithFd(std::string_view command, std::string_view argumentsJson, int fd) {
    std::lock_guard serial(state_->commandMutex);
    {
        std::lock_guard lock(state_->mutex);
        if (state_->closed) {
            return fail(ErrorCode::OperationInvalid, "QEMU monitor is closed (the guest is not running)");
        }
        state_->reply.reset();
        ++state_->commands;
    }
    std::string msg = "{\"execute\":\"" + std::string(command) + "\"";
    if (!argumentsJson.empty()) {
        msg += ",\"arguments\":" + std::string(argumentsJson);
    }
    msg += "}\n";
    ssize_t n = sendWithDescriptor(state_->fd.get(), std::span<const char>(msg.data(), msg.size()), fd);
    if (n != static_cast<ssize_t>(msg.size())) {
        return failErrno(errno, "cannot pass a descriptor to the QEMU monitor");
    }
    std::unique_lock lock(state_->mutex);
    state_->replied.wait_for(lock, kDefaultTimeout, [&] { return state_->reply || state_->closed; });
    if (!state_->reply) {
        return fail(ErrorCode::OperationFailed, "QEMU did not answer " + std::string(command) + " with a descriptor",
                    ErrorDomain::Qemu);
    }
    JsonValue reply = std::move(*state_->reply);
    state_->reply.reset();
    if (reply.has("error")) {
        return fail(ErrorCode::OperationFailed,
                    "QEMU refused " + std::string(command) + ": " + reply["error"]["desc"].asString(), ErrorDomain::Qemu);
    }
    return reply["return"];
}

Result<void> QmpMonitor::sendFd(int fd, std::string_view fdName) {
    JsonWriter args;
    args.beginObject().key("fdname").value(fdName).endObject();
    CORRAL_TRY(executeWithFd("getfd", args.str(), fd));
    return {};
}

}  // namespace corral::drivers::qemu
