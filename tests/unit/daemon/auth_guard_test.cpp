// SPDX-License-Identifier: LGPL-2.1-or-later
// The waits that slow password guessing, per source address and per claimed user, on a clock
// the test moves itself.
#include "daemon/auth_guard.hpp"

#include <gtest/gtest.h>

using namespace corral::daemon;
using namespace std::chrono_literals;

namespace {

/// How long after `now` an answer judged at `now` may go out; -1 s when it is not judged.
std::chrono::milliseconds waitFor(AuthGuard& guard, const std::string& source, const std::string& user,
                                  AuthGuard::Clock::time_point now) {
    auto at = guard.answerAt(source, user, now);
    return at ? std::chrono::duration_cast<std::chrono::milliseconds>(*at - now) : -1000ms;
}

}  // namespace

TEST(AuthGuard, EachFailureDoublesTheNextWaitUpToTheCap) {
    AuthGuard guard;
    auto t = AuthGuard::Clock::now();
    EXPECT_EQ(waitFor(guard, "192.0.2.7", "alice", t), 0ms);
    guard.failed("192.0.2.7", "alice", t);
    EXPECT_EQ(waitFor(guard, "192.0.2.7", "alice", t), 1000ms);
    // One attempt at a time, each sent when the previous answer came: 1 s, 2 s, 4 s ... 30 s.
    t += 1s;
    guard.failed("192.0.2.7", "alice", t);
    EXPECT_EQ(waitFor(guard, "192.0.2.7", "alice", t), 2000ms);
    for (auto expected : {4000ms, 8000ms, 16000ms, 30000ms, 30000ms}) {
        t += waitFor(guard, "192.0.2.7", "alice", t);
        guard.failed("192.0.2.7", "alice", t);
        EXPECT_EQ(waitFor(guard, "192.0.2.7", "alice", t), expected);
    }
    // Another source, for another user, is not slowed by the first one's failures.
    EXPECT_EQ(waitFor(guard, "192.0.2.8", "bob", t), 0ms);
}

TEST(AuthGuard, EveryAnswerWaitsWhateverTheOutcome) {
    // The answer time is fixed before the attempt is judged: a right password judged while the
    // source is penalised waits exactly as long as a wrong one.
    AuthGuard guard;
    auto t = AuthGuard::Clock::now();
    guard.failed("192.0.2.7", "alice", t);
    guard.failed("192.0.2.7", "alice", t);
    auto right = guard.answerAt("192.0.2.7", "alice", t);
    ASSERT_TRUE(right);
    EXPECT_EQ(*right - t, 3000ms);  // the 1 s and 2 s waits, one after the other
    guard.succeeded("192.0.2.7", "alice");
    // The user's own mistakes are taken back, but the waits already promised stay.
    EXPECT_EQ(waitFor(guard, "192.0.2.7", "alice", t), 3000ms);
    EXPECT_EQ(waitFor(guard, "192.0.2.7", "alice", t + 3s), 0ms);
}

TEST(AuthGuard, ParallelAttemptsQueueTheirWaits) {
    // 35 guesses sent at once on 35 connections (the attack): each is answered one wait
    // after the other, as if sent one by one, not all after one wait.
    AuthGuard guard;
    const auto t = AuthGuard::Clock::now();
    auto last = t;
    int judged = 0;
    for (int i = 0; i < 35; ++i) {
        auto at = guard.answerAt("198.51.100.9", "alice", t);
        if (!at) {
            continue;  // more than the longest wait ahead: not judged at all
        }
        ++judged;
        last = std::max(last, *at);
        guard.failed("198.51.100.9", "alice", t);
    }
    // Only the attempts whose answer falls within 30 s were judged: 0, 1, 3, 7, 15 s.
    EXPECT_EQ(judged, 5);
    EXPECT_EQ(last - t, 15s);
    EXPECT_EQ(guard.answerAt("198.51.100.9", "alice", t), std::nullopt);
    // Later, one attempt per wait gets through.
    EXPECT_EQ(waitFor(guard, "198.51.100.9", "alice", t + 31s), 0ms);
    guard.failed("198.51.100.9", "alice", t + 31s);
    EXPECT_EQ(waitFor(guard, "198.51.100.9", "alice", t + 31s), 30000ms);
}

TEST(AuthGuard, FailuresCountPerTargetUserAcrossSources) {
    AuthGuard guard;
    auto t = AuthGuard::Clock::now();
    guard.failed("192.0.2.1", "alice", t);
    guard.failed("192.0.2.2", "alice", t);
    guard.failed("192.0.2.3", "alice", t);
    // A fresh source guessing alice waits behind all three; a fresh source for bob does not.
    EXPECT_EQ(waitFor(guard, "192.0.2.4", "alice", t), 7000ms);
    EXPECT_EQ(waitFor(guard, "192.0.2.4", "bob", t), 0ms);
    // Before the client names a user, only its source counts.
    EXPECT_EQ(waitFor(guard, "192.0.2.4", "", t), 0ms);
}

TEST(AuthGuard, OneUsersSuccessNeverClearsAnothersFailures) {
    // The bypass: log in with one's own account between guesses at someone else's.
    AuthGuard guard;
    auto t = AuthGuard::Clock::now();
    for (int i = 0; i < 4; ++i) {
        t += waitFor(guard, "203.0.113.5", "bob", t);
        guard.failed("203.0.113.5", "bob", t);
        guard.succeeded("203.0.113.5", "mallory");
    }
    EXPECT_EQ(waitFor(guard, "203.0.113.5", "bob", t), 8000ms);
    EXPECT_EQ(waitFor(guard, "203.0.113.5", "mallory", t), 8000ms);  // the source is still penalised
    EXPECT_EQ(waitFor(guard, "192.0.2.99", "bob", t), 8000ms);       // and so is bob, from anywhere
    // bob's own success from that source takes back the failures made there for bob.
    guard.succeeded("203.0.113.5", "bob");
    t += 8s;
    guard.failed("203.0.113.5", "bob", t);
    EXPECT_EQ(waitFor(guard, "203.0.113.5", "bob", t), 1000ms);
}

TEST(AuthGuard, TenQuietMinutesForgetIt) {
    AuthGuard guard;
    auto t = AuthGuard::Clock::now();
    guard.failed("b", "u", t);
    EXPECT_EQ(waitFor(guard, "b", "u", t + 11min), 0ms);
    guard.failed("b", "u", t + 12min);
    EXPECT_EQ(waitFor(guard, "b", "u", t + 12min), 1000ms);  // counting starts again
}

TEST(AuthGuard, ManyNamesDoNotGrowWithoutBoundOrEvictTheSource) {
    AuthGuard guard;
    auto t = AuthGuard::Clock::now();
    guard.failed("192.0.2.7", "alice", t);
    for (std::size_t i = 0; i < AuthGuard::kMaxRecords + 50; ++i) {
        guard.failed("192.0.2.7", "user" + std::to_string(i), t + std::chrono::seconds(1 + i / 1000));
    }
    // The source's own record is not pushed out by the names it made up.
    EXPECT_EQ(guard.answerAt("192.0.2.7", "", t + 1s), std::nullopt);
}

TEST(AuthGuard, SourceIsTheAddressWithoutPortOrTheUnixUid) {
    EXPECT_EQ(AuthGuard::sourceOf("192.0.2.7;40522", 0), "192.0.2.7");
    EXPECT_EQ(AuthGuard::sourceOf("::1;40522", 0), "::1");
    EXPECT_EQ(AuthGuard::sourceOf("unix:/run/corral/corral-sock", 1000), "uid:1000");
}
