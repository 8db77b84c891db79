// SPDX-License-Identifier: LGPL-2.1-or-later
// QmpMonitor: one connection to a QEMU's QMP socket. Commands are serialized and wait for their
// reply with a timeout; events arrive on the monitor's reader thread and are handed to a
// callback; the end of the connection (QEMU died or exited) is reported exactly once.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "util/json_value.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::drivers::qemu {

struct QmpCallbacks {
    /// An asynchronous event ("SHUTDOWN", "STOP", ...) with its "data" member. Runs on the
    /// reader thread: it must not issue monitor commands itself.
    std::function<void(const std::string& event, const JsonValue& data)> onEvent;
    /// The connection ended (QEMU exited or closed the monitor). Runs on the reader thread.
    std::function<void()> onClosed;
};

class QmpMonitor {
public:
    static constexpr std::chrono::milliseconds kDefaultTimeout{30000};

    /// Takes a connected socket, reads QEMU's greeting and negotiates capabilities, then starts
    /// the reader thread. `greetingTimeout` bounds the wait for a QEMU that is still starting.
    static Result<std::unique_ptr<QmpMonitor>> open(UniqueFd socket, QmpCallbacks callbacks,
                                                    std::chrono::milliseconds greetingTimeout);

    /// Connects to the QMP socket at `path` (a QEMU started by an earlier daemon) and opens it.
    static Result<std::unique_ptr<QmpMonitor>> connect(const std::string& path, QmpCallbacks callbacks,
                                                       std::chrono::milliseconds greetingTimeout);

    ~QmpMonitor();
    QmpMonitor(const QmpMonitor&) = delete;
    QmpMonitor& operator=(const QmpMonitor&) = delete;

    /// Runs `command` with `argumentsJson` (a JSON object, or "" for none) and returns its
    /// "return" member. A QMP error comes back as OperationFailed with QEMU's description.
    Result<JsonValue> execute(std::string_view command, std::string_view argumentsJson = {},
                              std::chrono::milliseconds timeout = kDefaultTimeout);

    /// Sends one descriptor with SCM_RIGHTS, then runs `getfd` naming it `fdName`.
    Result<void> sendFd(int fd, std::string_view fdName);
    /// Runs `command` with `fd` passed alongside (SCM_RIGHTS), as add-fd and getfd take one;
    /// returns its "return" member.
    Result<JsonValue> executeWithFd(std::string_view command, std::string_view argumentsJson, int fd);

    /// Closes the connection; the reader thread ends without calling onClosed.
    void close();

    /// Number of commands this monitor has sent (for the start-cost figures).
    [[nodiscard]] unsigned commandsSent() const;

private:
    struct State;
    explicit QmpMonitor(std::shared_ptr<State> state);
    std::shared_ptr<State> state_;
};

}  // namespace corral::drivers::qemu
