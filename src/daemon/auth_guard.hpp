// SPDX-License-Identifier: LGPL-2.1-or-later
// AuthGuard: what slows down password guessing. Each failed authentication from a source
// address doubles the wait before that address gets its next answer (1 s, 2 s, 4 s ... at most
// 30 s); a success, or ten quiet minutes, clears it. Per connection, max_auth_attempts failures
// end the connection (sshd's MaxAuthTries); the daemon counts those itself.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace corral::daemon {

class AuthGuard {
public:
    using Clock = std::chrono::steady_clock;

    /// How long an answer to `source` waits now (zero when it has no recent failures).
    std::chrono::milliseconds penalty(const std::string& source, Clock::time_point now = Clock::now());
    void failed(const std::string& source, Clock::time_point now = Clock::now());
    void succeeded(const std::string& source);

    /// The part of a peer address that identifies the source: the IP of "IP;PORT", the uid of a
    /// unix client.
    static std::string sourceOf(const std::string& address, unsigned uid);

private:
    struct Record {
        unsigned failures = 0;
        Clock::time_point last;
    };
    std::mutex mutex_;
    std::map<std::string, Record> records_;
};

}  // namespace corral::daemon
