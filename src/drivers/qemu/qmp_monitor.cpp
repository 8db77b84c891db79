// SPDX-License-Identifier: LGPL-2.1-or-later
// QmpMonitor implementation: a line-oriented JSON protocol over a unix socket.
#include "drivers/qemu/qmp_monitor.hpp"

#include <malloc.h>
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
#include <utility>
#include <variant>

#include "util/json.hpp"
#include "util/logging.hpp"
#include "util/unix_socket.hpp"
#include "util/utf8.hpp"

namespace corral::drivers::qemu {

namespace {

// What one guest's QEMU can make the daemon hold. QEMU is an untrusted peer (a guest that escapes
// into it speaks for it), so each monitor, one per guest, holds at most one line of kMaxLine
// bytes and one message parsed within kQmpLimits at a time, and gives the memory back after a
// large one: N hostile guests cost at most N times (2 + 12) MiB, never what they send.
// QEMU 7.2's largest reply, query-qmp-schema, is 207 KB, and 1.6 MiB once parsed (estimated
// between 1 and 2 MiB): the parse bound leaves it six times the room.
constexpr std::size_t kMaxLine = 2 * 1024 * 1024;
constexpr JsonLimits kQmpLimits{kMaxLine, 12 * 1024 * 1024, 64};
/// After a line above this (up to 60 times as much once parsed), the buffer shrinks and malloc
/// gives its free pages back to the system: glibc keeps freed memory for reuse, and a hostile
/// burst would otherwise stay in the daemon's RSS. Ordinary replies and events are far smaller.
constexpr std::size_t kReturnMemoryAbove = 64 * 1024;

/// Bytes QEMU sent beyond the line limit are read and dropped up to the next newline.
struct OversizedLine {};

}  // namespace

struct QmpMonitor::State {
    UniqueFd fd;
    QmpCallbacks callbacks;
    std::string buffer;     // bytes read but not yet split into lines
    std::size_t scanned = 0;  // buffer[0, scanned) holds no newline
    bool discarding = false;  // inside a line over kMaxLine: dropping it

    std::mutex commandMutex;  // one command in flight at a time
    std::mutex mutex;         // guards the fields below
    std::condition_variable replied;
    std::optional<JsonValue> reply;
    bool closed = false;       // connection ended
    bool closedByUs = false;   // close() was called
    unsigned commands = 0;
    std::thread reader;

    /// Reads one line (blocking, until `timeout`). A line longer than kMaxLine is never held:
    /// its bytes are dropped as they come, and it reads as an OversizedLine once it ends.
    Result<std::variant<std::string, OversizedLine>> readLine(std::chrono::milliseconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (true) {
            auto nl = buffer.find('\n', scanned);
            if (nl != std::string::npos) {
                std::string line = buffer.substr(0, nl);
                buffer.erase(0, nl + 1);
                scanned = 0;
                if (std::exchange(discarding, false)) {
                    return OversizedLine{};
                }
                return line;
            }
            scanned = buffer.size();
            if (discarding || buffer.size() > kMaxLine) {
                discarding = true;  // until the newline that ends this line
                buffer.clear();
                scanned = 0;
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
    void dispatch(const std::variant<std::string, OversizedLine>& received) {
        Result<JsonValue> msg = fail(ErrorCode::InternalError,
                                     "a message longer than " + std::to_string(kMaxLine) + " bytes (dropped unread)");
        if (const auto* line = std::get_if<std::string>(&received)) {
            msg = JsonValue::parse(*line, kQmpLimits);
        }
        if (!msg) {
            // QEMU answers every command with one message, so an unreadable one is the reply of
            // the command in flight: fail that command now rather than at its timeout.
            logWarning("refused a message from the QEMU monitor: " + msg.error().message);
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

    /// After a large message: the buffer back to nothing, and malloc's free pages (of every
    /// arena: the parse ran in this thread's) back to the system.
    void returnMemory() {
        buffer.shrink_to_fit();
        ::malloc_trim(0);
    }

    static void run(const std::shared_ptr<State>& self) {
        while (true) {
            auto line = self->readLine(std::chrono::hours(24 * 365));
            if (!line) {
                break;
            }
            const auto* text = std::get_if<std::string>(&*line);
            const bool large = text == nullptr || text->size() > kReturnMemoryAbove;
            self->dispatch(*line);
            line->emplace<OversizedLine>();  // the text goes now, before the memory is returned
            if (large) {
                self->returnMemory();
            }
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
    auto readMessage = [&]() -> Result<std::string> {
        CORRAL_ASSIGN_OR_RETURN(auto line, state->readLine(greetingTimeout));
        if (std::holds_alternative<OversizedLine>(line)) {
            return fail(ErrorCode::InternalError,
                        "QEMU monitor sent a message longer than " + std::to_string(kMaxLine) + " bytes");
        }
        return std::get<std::string>(std::move(line));
    };
    CORRAL_ASSIGN_OR_RETURN(std::string greeting, readMessage());
    auto hello = JsonValue::parse(greeting, kQmpLimits);
    if (!hello || !hello->has("QMP")) {
        return fail(ErrorCode::InternalError,
                    "unexpected greeting from the QEMU monitor: " + sanitizeUtf8(greeting.substr(0, 200)));
    }
    CORRAL_TRY(state->writeAll("{\"execute\":\"qmp_capabilities\"}\n"));
    state->commands = 1;
    while (true) {
        CORRAL_ASSIGN_OR_RETURN(std::string line, readMessage());
        auto msg = JsonValue::parse(line, kQmpLimits);
        if (msg && msg->has("event")) {
            continue;  // an event before the reply (none is expected this early)
        }
        if (!msg || !msg->has("return")) {
            return fail(ErrorCode::InternalError,
                        "QEMU refused QMP capabilities negotiation: " + sanitizeUtf8(line.substr(0, 200)));
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
