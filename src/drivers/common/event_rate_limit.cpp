// SPDX-License-Identifier: LGPL-2.1-or-later
// EventRateLimiter: the token buckets.
#include "drivers/common/event_rate_limit.hpp"

#include <algorithm>

namespace corral::drivers {

EventRateLimiter::Verdict EventRateLimiter::admit(const Uuid& uuid, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto [it, added] = buckets_.try_emplace(uuid);
    Bucket& b = it->second;
    if (added) {
        b.tokens = burst_;
        b.refilled = now;  // `reported` stays in the past: the first drop is reported at once
    }
    std::chrono::duration<double> elapsed = now - b.refilled;
    if (elapsed.count() > 0) {
        b.tokens = std::min<double>(burst_, b.tokens + elapsed.count() * perSecond_);
        b.refilled = now;
    }
    Verdict v;
    if (b.tokens >= 1) {
        b.tokens -= 1;
        v.pass = true;
    } else {
        ++b.dropped;
    }
    if (b.dropped > 0 && now - b.reported >= std::chrono::seconds(1)) {
        v.dropsToReport = b.dropped;
        b.dropped = 0;
        b.reported = now;
    }
    return v;
}

void EventRateLimiter::forget(const Uuid& uuid) {
    std::lock_guard lock(mutex_);
    buckets_.erase(uuid);
}

}  // namespace corral::drivers
