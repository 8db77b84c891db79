// SPDX-License-Identifier: LGPL-2.1-or-later
// QemuAgent: the daemon's side of a guest's QEMU guest agent (qemu-ga), reached through the
// unix socket of its virtio-serial channel org.qemu.guest_agent.0. Everything read from it is
// written by the guest, so every call is bounded: one command at a time, a deadline on every
// wait, a size limit on every reply, and a resynchronisation (guest-sync-delimited) before each
// command so that a reply left over from an earlier call that gave up is never taken for this
// call's. Calls run on the caller's (worker) thread; no other thread reads the socket.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "util/json_value.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::drivers::qemu {

/// How long an agent call waits, as libvirt's timeouts say it (virDomainAgentSetResponseTimeout,
/// virDomainQemuAgentCommand): -2 block, -1 default, 0 no wait, N seconds.
struct AgentWait {
    static constexpr int kBlock = -2;    ///< VIR_DOMAIN_AGENT_RESPONSE_TIMEOUT_BLOCK
    static constexpr int kDefault = -1;  ///< VIR_DOMAIN_AGENT_RESPONSE_TIMEOUT_DEFAULT
    static constexpr int kNoWait = 0;    ///< VIR_DOMAIN_AGENT_RESPONSE_TIMEOUT_NOWAIT
    /// libvirt's wait for the guest-sync handshake (QEMU_AGENT_WAIT_TIME), shorter when the
    /// caller's own wait is.
    static constexpr std::chrono::seconds kSync{5};
    /// What "default" means for the command itself. libvirt waits for ever; here a guest that
    /// never answers holds a worker thread for at most this long.
    static constexpr std::chrono::seconds kDefaultCommand{60};

    int seconds = kDefault;

    /// The command's wait; nullopt: until the guest answers or goes away.
    [[nodiscard]] std::optional<std::chrono::milliseconds> command() const;
    /// The handshake's wait (never unbounded).
    [[nodiscard]] std::chrono::milliseconds sync() const;
};

class QemuAgent {
public:
    /// The most bytes one reply line may have: far above what qemu-ga sends for a guest with
    /// hundreds of file systems and interfaces, far below what hurts the daemon.
    static constexpr std::size_t kMaxReplyBytes = 4u << 20;

    /// `socketPath`: the channel's socket (QEMU listens on it; one client at a time).
    explicit QemuAgent(std::string socketPath) : path_(std::move(socketPath)) {}

    /// Runs `command` with `argumentsJson` (a JSON object, "" for none) and returns the reply's
    /// "return" member. Errors: AgentUnresponsive ("Guest agent not available for now") when
    /// the guest does not finish the handshake or the reply within `wait`, when its reply is
    /// larger than kMaxReplyBytes or not JSON, or when the channel closes; InternalError with
    /// the agent's own description when it reports an error.
    Result<JsonValue> execute(std::string_view command, std::string_view argumentsJson, AgentWait wait);

    /// Drops the connection (the guest's agent went away, or the guest stopped).
    void disconnect();

private:
    using Clock = std::chrono::steady_clock;
    /// Reads until `line` holds one '\n'-terminated line (without it) or `deadline` passes.
    /// With `afterSentinel` bytes before a 0xFF are skipped, unbuffered, and the line starts
    /// after it. Returns false on timeout; errors on end of file or a line over `maxBytes`.
    Result<bool> readLine(std::string& line, std::optional<Clock::time_point> deadline, bool afterSentinel,
                          std::size_t maxBytes);
    Result<void> writeAll(std::string_view text, std::optional<Clock::time_point> deadline);
    Result<void> synchronise(Clock::time_point deadline);
    Result<void> ensureConnected();

    std::string path_;
    std::timed_mutex mutex_;  // one call at a time; a second waits at most its own deadline
    UniqueFd fd_;             // guarded by mutex_
    std::string pending_;     // guarded by mutex_: bytes read past the last line
    std::uint64_t syncId_ = 0;  // guarded by mutex_
};

}  // namespace corral::drivers::qemu
