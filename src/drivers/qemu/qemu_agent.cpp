// SPDX-License-Identifier: LGPL-2.1-or-later
// The guest agent's wire: one JSON object per line each way. Before each command the daemon
// sends a 0xFF byte (qemu-ga resets its parser on it, dropping whatever half a command an
// earlier call left) and guest-sync-delimited with a fresh id; the agent answers with a 0xFF
// byte and then the id. Everything before that byte is skipped without being kept, so neither
// stale replies nor a guest writing garbage can cost memory or be mistaken for an answer.
#include "drivers/qemu/qemu_agent.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "util/json.hpp"
#include "util/unix_socket.hpp"

namespace corral::drivers::qemu {

namespace {

constexpr std::size_t kMaxSyncLine = 4096;  // {"return": ID}: a few dozen bytes

Unexpected unresponsive(const std::string& why) {
    return fail(ErrorCode::AgentUnresponsive, why, ErrorDomain::Qemu);
}

Unexpected notAvailable() { return unresponsive("Guest agent not available for now"); }

}  // namespace

std::optional<std::chrono::milliseconds> AgentWait::command() const {
    if (seconds == kBlock) {
        return std::nullopt;
    }
    if (seconds == kDefault || seconds < kBlock) {
        return kDefaultCommand;
    }
    return std::chrono::seconds(seconds);
}

std::chrono::milliseconds AgentWait::sync() const {
    if (seconds >= 0 && std::chrono::seconds(seconds) < kSync) {
        return std::chrono::seconds(seconds);
    }
    return kSync;
}

void QemuAgent::disconnect() {
    std::lock_guard lock(mutex_);
    fd_.reset();
    pending_.clear();
}

Result<void> QemuAgent::ensureConnected() {
    if (fd_) {
        return {};
    }
    CORRAL_ASSIGN_OR_RETURN(UniqueFd fd, connectUnixSocket(path_));
    // Non-blocking: a guest that stops reading fills the socket, and a write must then give up
    // at its deadline instead of waiting for the guest.
    const int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) {
        return fail(ErrorCode::SystemError, "cannot set up the guest agent socket '" + path_ + "'", ErrorDomain::Qemu);
    }
    fd_ = std::move(fd);
    pending_.clear();
    return {};
}

namespace {

/// poll()'s timeout for `deadline`: -1 for none, else the milliseconds left (0 when passed).
int pollTimeout(std::optional<std::chrono::steady_clock::time_point> deadline) {
    if (!deadline) {
        return -1;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 60 * 60 * 1000));
}

}  // namespace

Result<void> QemuAgent::writeAll(std::string_view text, std::optional<Clock::time_point> deadline) {
    while (!text.empty()) {
        const ssize_t n = ::send(fd_.get(), text.data(), text.size(), MSG_NOSIGNAL);
        if (n > 0) {
            text.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd p{fd_.get(), POLLOUT, 0};
            const int r = ::poll(&p, 1, pollTimeout(deadline));
            if (r == 0) {
                return notAvailable();
            }
            continue;
        }
        fd_.reset();
        return unresponsive("cannot write to the guest agent's channel");
    }
    return {};
}

Result<bool> QemuAgent::readLine(std::string& line, std::optional<Clock::time_point> deadline, bool afterSentinel,
                                 std::size_t maxBytes) {
    for (;;) {
        if (afterSentinel) {
            const auto at = pending_.find('\xff');
            if (at == std::string::npos) {
                pending_.clear();  // all of it came before the sentinel: nobody's answer
            } else {
                pending_.erase(0, at + 1);
                afterSentinel = false;
                continue;
            }
        } else {
            if (const auto nl = pending_.find('\n'); nl != std::string::npos) {
                line.assign(pending_, 0, nl);
                pending_.erase(0, nl + 1);
                return true;
            }
            if (pending_.size() > maxBytes) {
                // The rest of the line stays unread; the next handshake skips it.
                pending_.clear();
                return unresponsive("the guest agent's reply is longer than " + std::to_string(maxBytes) + " bytes");
            }
        }
        pollfd p{fd_.get(), POLLIN, 0};
        const int r = ::poll(&p, 1, pollTimeout(deadline));
        if (r == 0) {
            return false;
        }
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(ErrorCode::SystemError, "cannot wait for the guest agent", ErrorDomain::Qemu);
        }
        char buf[65536];
        const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
        if (n == 0) {
            fd_.reset();
            pending_.clear();
            return unresponsive("the guest agent's channel was closed");
        }
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
                continue;
            }
            fd_.reset();
            pending_.clear();
            return unresponsive("cannot read the guest agent's channel");
        }
        pending_.append(buf, static_cast<std::size_t>(n));
    }
}

Result<void> QemuAgent::synchronise(Clock::time_point deadline) {
    if (syncId_ == 0) {
        // Ids differ from one daemon run to the next, as libvirt's (the time) do, so a reply to
        // an earlier daemon's handshake is not taken for this one's.
        syncId_ = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) & 0xffffffffffffull;
    }
    const std::uint64_t id = ++syncId_;
    JsonWriter cmd;
    cmd.beginObject().key("execute").value("guest-sync-delimited");
    cmd.key("arguments").beginObject().key("id").value(id).endObject().endObject();
    CORRAL_TRY(writeAll("\xff" + cmd.str() + "\n", deadline));
    for (;;) {
        std::string line;
        CORRAL_ASSIGN_OR_RETURN(bool got, readLine(line, deadline, true, kMaxSyncLine));
        if (!got) {
            return notAvailable();
        }
        auto reply = JsonValue::parse(line, JsonLimits{kMaxSyncLine, 64 * 1024, 4});
        if (reply && (*reply)["return"].isNumber() && (*reply)["return"].asUnsigned() == id) {
            return {};
        }
        // An answer to an earlier handshake, or noise after a 0xFF the guest wrote: look for the
        // next sentinel.
    }
}

Result<JsonValue> QemuAgent::execute(std::string_view command, std::string_view argumentsJson, AgentWait wait) {
    const auto start = Clock::now();
    const std::optional<std::chrono::milliseconds> commandWait = wait.command();
    std::optional<Clock::time_point> deadline;
    if (commandWait) {
        deadline = start + *commandWait;
    }
    std::unique_lock lock(mutex_, std::defer_lock);
    if (deadline) {
        if (!lock.try_lock_until(*deadline)) {
            return notAvailable();
        }
    } else {
        lock.lock();
    }
    CORRAL_TRY(ensureConnected());
    CORRAL_TRY(synchronise(std::min(start + wait.sync(), deadline.value_or(Clock::time_point::max()))));
    JsonWriter cmd;
    cmd.beginObject().key("execute").value(command).endObject();
    std::string text = cmd.str();
    if (!argumentsJson.empty()) {
        text.pop_back();
        text += ",\"arguments\":";
        text += argumentsJson;
        text += "}";
    }
    CORRAL_TRY(writeAll(text + "\n", deadline));
    for (;;) {
        std::string line;
        CORRAL_ASSIGN_OR_RETURN(bool got, readLine(line, deadline, false, kMaxReplyBytes));
        if (!got) {
            return notAvailable();
        }
        // A 0xFF the guest wrote again, or an empty line, is not an answer.
        line.erase(0, line.find_first_not_of("\xff\r\t "));
        if (line.empty()) {
            continue;
        }
        auto reply = JsonValue::parse(line, JsonLimits{kMaxReplyBytes, 64u << 20, 64});
        if (!reply || !reply->isObject()) {
            return unresponsive("the guest agent's reply to '" + std::string(command) + "' is not a JSON object");
        }
        if (reply->has("error")) {
            const JsonValue& err = (*reply)["error"];
            return fail(ErrorCode::InternalError,
                        "unable to execute QEMU agent command '" + std::string(command) + "': " +
                            err["desc"].asString(err["class"].asString("unknown error")),
                        ErrorDomain::Qemu);
        }
        if (!reply->has("return")) {
            return unresponsive("the guest agent's reply to '" + std::string(command) + "' has no \"return\"");
        }
        return (*reply)["return"];
    }
}

}  // namespace corral::drivers::qemu
