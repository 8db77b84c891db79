// SPDX-License-Identifier: LGPL-2.1-or-later
// isThreadOf: the check a thread id another program reports must pass (issue 27.1).
#include "util/process.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

using namespace corral;

TEST(IsThreadOf, OwnThreadsOnly) {
    const pid_t self = ::getpid();
    EXPECT_TRUE(isThreadOf(self, self));
    std::atomic<pid_t> other{0};
    std::atomic<bool> done{false};
    std::thread t([&] {
        other = static_cast<pid_t>(::syscall(SYS_gettid));
        while (!done) {
            std::this_thread::yield();
        }
    });
    while (other == 0) {
        std::this_thread::yield();
    }
    EXPECT_TRUE(isThreadOf(self, other));
    // Another process's pid, or a process that is not ours, is never one of our threads.
    EXPECT_FALSE(isThreadOf(self, 1));
    EXPECT_FALSE(isThreadOf(self, ::getppid()));
    EXPECT_FALSE(isThreadOf(1, self));
    EXPECT_FALSE(isThreadOf(1, other));
    EXPECT_FALSE(isThreadOf(self, 0));
    EXPECT_FALSE(isThreadOf(self, -1));
    done = true;
    t.join();
    // Gone: its id names nothing of ours any more.
    EXPECT_FALSE(isThreadOf(self, other));
}
