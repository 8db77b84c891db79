// SPDX-License-Identifier: LGPL-2.1-or-later
// EventRateLimiter: how many events each guest may raise on its own (RTC changes, watchdog,
// I/O errors, resets, pauses QEMU reports). A guest, or a QEMU it took over, decides how often
// those happen; every client registered for them pays in memory and bandwidth. Events the
// daemon causes through the API are never limited: they are bounded by the calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>

#include "util/uuid.hpp"

namespace corral::drivers {

class EventRateLimiter {
public:
    using Clock = std::chrono::steady_clock;

    /// Each guest may raise `burst` events at once, then `perSecond` a second (a token bucket).
    EventRateLimiter(unsigned perSecond, unsigned burst) : perSecond_(perSecond), burst_(burst) {}

    struct Verdict {
        bool pass = false;
        /// Events of this guest dropped and not yet reported: non-zero at most once a second,
        /// when the caller should log it.
        std::uint64_t dropsToReport = 0;
    };

    /// Whether one more event of guest `uuid` at `now` goes out. Thread-safe.
    Verdict admit(const Uuid& uuid, Clock::time_point now);
    /// Forgets the guest (it stopped): its next run starts with a full bucket.
    void forget(const Uuid& uuid);

private:
    struct Bucket {
        double tokens = 0;
        Clock::time_point refilled;
        std::uint64_t dropped = 0;  ///< not reported yet
        Clock::time_point reported;
    };

    const unsigned perSecond_;
    const unsigned burst_;
    std::mutex mutex_;
    std::map<Uuid, Bucket> buckets_;  ///< guarded by mutex_
};

}  // namespace corral::drivers
