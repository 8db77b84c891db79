// SPDX-License-Identifier: LGPL-2.1-or-later
// The penalty that slows password guessing, per source address.
#include "daemon/auth_guard.hpp"

#include <gtest/gtest.h>

using namespace corral::daemon;
using namespace std::chrono_literals;

TEST(AuthGuard, EachFailureDoublesTheWaitUpToTheCap) {
    AuthGuard guard;
    auto t = AuthGuard::Clock::now();
    EXPECT_EQ(guard.penalty("192.0.2.7", t), 0ms);
    guard.failed("192.0.2.7", t);
    EXPECT_EQ(guard.penalty("192.0.2.7", t), 1000ms);
    guard.failed("192.0.2.7", t);
    EXPECT_EQ(guard.penalty("192.0.2.7", t), 2000ms);
    for (int i = 0; i < 10; ++i) {
        guard.failed("192.0.2.7", t);
    }
    EXPECT_EQ(guard.penalty("192.0.2.7", t), 30000ms);
    // Another source is not slowed by the first one's failures.
    EXPECT_EQ(guard.penalty("192.0.2.8", t), 0ms);
}

TEST(AuthGuard, SuccessOrTenQuietMinutesClearIt) {
    AuthGuard guard;
    auto t = AuthGuard::Clock::now();
    guard.failed("a", t);
    guard.succeeded("a");
    EXPECT_EQ(guard.penalty("a", t), 0ms);
    guard.failed("b", t);
    EXPECT_EQ(guard.penalty("b", t + 11min), 0ms);
    guard.failed("b", t + 12min);
    EXPECT_EQ(guard.penalty("b", t + 12min), 1000ms);  // counting starts again
}

TEST(AuthGuard, SourceIsTheAddressWithoutPortOrTheUnixUid) {
    EXPECT_EQ(AuthGuard::sourceOf("192.0.2.7;40522", 0), "192.0.2.7");
    EXPECT_EQ(AuthGuard::sourceOf("::1;40522", 0), "::1");
    EXPECT_EQ(AuthGuard::sourceOf("unix:/run/corral/corral-sock", 1000), "uid:1000");
}
