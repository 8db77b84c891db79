// SPDX-License-Identifier: LGPL-2.1-or-later
// AuthGuard: what slows down password guessing. Failures are counted per source address and per
// user name the client claimed; each one makes the next attempt for that source or that user
// wait longer (1 s, 2 s, 4 s ... at most 30 s), and the waits queue up: attempts sent at once
// on many connections are answered one wait after another, as if sent one by one.
//
// Every answer of an attempt waits, not only the failures: an answer that comes at once when
// the password is right and late when it is wrong would tell the guesser without waiting. The
// time an answer goes out is fixed before the attempt is judged (answerAt), so it cannot depend
// on the outcome. An attempt that would have to wait more than the longest penalty is not judged
// at all. A success takes back only the failures of the same user from the same source (their
// typing mistakes), never another user's; ten quiet minutes forget a source or user.
// Per connection, max_auth_attempts failures end the connection (sshd's MaxAuthTries); the
// daemon counts those itself.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace corral::daemon {

class AuthGuard {
public:
    using Clock = std::chrono::steady_clock;
    /// The longest single wait, and how far ahead answers may be queued.
    static constexpr std::chrono::milliseconds kMaxPenalty{30000};
    /// Records kept per kind (sources, users) before the oldest are forgotten.
    static constexpr std::size_t kMaxRecords = 10000;

    /// When the answer to an attempt from `source` for `user` ("" when the client named none
    /// yet) that is judged now may go out: `now` when neither has a wait running, else the end
    /// of the later wait. nullopt when that is more than kMaxPenalty away: the attempt must not be
    /// judged (and is not counted as a failure).
    std::optional<Clock::time_point> answerAt(const std::string& source, const std::string& user,
                                              Clock::time_point now = Clock::now());
    /// An attempt failed: the source's and the user's next attempts wait for the new penalty,
    /// after the waits already queued.
    void failed(const std::string& source, const std::string& user, Clock::time_point now = Clock::now());
    /// `user` logged in from `source`: that user's own failures from that source are taken back.
    void succeeded(const std::string& source, const std::string& user);

    /// The part of a peer address that identifies the source: the IP of "IP;PORT", the uid of a
    /// unix client.
    static std::string sourceOf(const std::string& address, unsigned uid);

private:
    struct Record {
        unsigned failures = 0;
        Clock::time_point last;       ///< the latest failure
        Clock::time_point busyUntil;  ///< the end of the waits queued so far
    };
    using Records = std::map<std::string, Record>;

    /// The record of `key`, forgetting it first when it has been quiet for ten minutes.
    static Record* find(Records& records, const std::string& key, Clock::time_point now);
    static void addFailure(Records& records, const std::string& key, Clock::time_point now);
    static void takeBack(Records& records, const std::string& key, unsigned failures);

    std::mutex mutex_;
    Records sources_;  ///< guarded by mutex_
    Records users_;    ///< guarded by mutex_
    /// Failures by (source, user): what a success of that user from there takes back.
    std::map<std::pair<std::string, std::string>, unsigned> pairs_;  ///< guarded by mutex_
};

}  // namespace corral::daemon
