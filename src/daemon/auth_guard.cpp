// SPDX-License-Identifier: LGPL-2.1-or-later
#include "daemon/auth_guard.hpp"

#include <algorithm>

namespace corral::daemon {

namespace {
constexpr auto kForgetAfter = std::chrono::minutes(10);
constexpr auto kFirstPenalty = std::chrono::milliseconds(1000);
constexpr auto kMaxPenalty = std::chrono::milliseconds(30000);
}  // namespace

std::chrono::milliseconds AuthGuard::penalty(const std::string& source, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = records_.find(source);
    if (it == records_.end()) {
        return std::chrono::milliseconds(0);
    }
    if (now - it->second.last > kForgetAfter) {
        records_.erase(it);
        return std::chrono::milliseconds(0);
    }
    unsigned doublings = std::min(it->second.failures - 1, 5u);
    return std::min(kFirstPenalty * (1u << doublings), kMaxPenalty);
}

void AuthGuard::failed(const std::string& source, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto& r = records_[source];
    if (r.failures > 0 && now - r.last > kForgetAfter) {
        r.failures = 0;
    }
    ++r.failures;
    r.last = now;
    // Bounded memory under a scan from many addresses: old entries go first.
    if (records_.size() > 10000) {
        for (auto it = records_.begin(); it != records_.end();) {
            it = now - it->second.last > kForgetAfter ? records_.erase(it) : std::next(it);
        }
    }
}

void AuthGuard::succeeded(const std::string& source) {
    std::lock_guard lock(mutex_);
    records_.erase(source);
}

std::string AuthGuard::sourceOf(const std::string& address, unsigned uid) {
    if (address.rfind("unix:", 0) == 0) {
        return "uid:" + std::to_string(uid);
    }
    return address.substr(0, address.rfind(';'));
}

}  // namespace corral::daemon
