// SPDX-License-Identifier: LGPL-2.1-or-later
#include "daemon/auth_guard.hpp"

#include <algorithm>

namespace corral::daemon {

namespace {
constexpr auto kForgetAfter = std::chrono::minutes(10);
constexpr auto kFirstPenalty = std::chrono::milliseconds(1000);

std::chrono::milliseconds penaltyAfter(unsigned failures) {
    unsigned doublings = std::min(failures - 1, 5u);
    return std::min(kFirstPenalty * (1u << doublings), AuthGuard::kMaxPenalty);
}
}  // namespace

AuthGuard::Record* AuthGuard::find(Records& records, const std::string& key, Clock::time_point now) {
    auto it = records.find(key);
    if (it == records.end()) {
        return nullptr;
    }
    if (now - it->second.last > kForgetAfter && now >= it->second.busyUntil) {
        records.erase(it);
        return nullptr;
    }
    return &it->second;
}

void AuthGuard::addFailure(Records& records, const std::string& key, Clock::time_point now) {
    Record* r = find(records, key, now);
    if (r == nullptr) {
        // Bounded memory under a scan from many addresses or for many names: quiet entries go
        // first, then the one whose last failure is oldest.
        if (records.size() >= kMaxRecords) {
            std::erase_if(records, [&](const auto& e) { return now - e.second.last > kForgetAfter; });
        }
        if (records.size() >= kMaxRecords) {
            records.erase(std::min_element(records.begin(), records.end(), [](const auto& a, const auto& b) {
                return a.second.last < b.second.last;
            }));
        }
        r = &records[key];
        r->busyUntil = now;
    }
    ++r->failures;
    r->last = now;
    // The new wait starts after those already queued: parallel attempts do not share one wait.
    r->busyUntil = std::max(r->busyUntil, now) + penaltyAfter(r->failures);
}

void AuthGuard::takeBack(Records& records, const std::string& key, unsigned failures) {
    auto it = records.find(key);
    if (it == records.end()) {
        return;
    }
    it->second.failures -= std::min(it->second.failures, failures);
    // The waits already queued stay: attempts judged meanwhile were promised those times.
    if (it->second.failures == 0 && it->second.busyUntil <= Clock::now()) {
        records.erase(it);
    }
}

std::optional<AuthGuard::Clock::time_point> AuthGuard::answerAt(const std::string& source, const std::string& user,
                                                                 Clock::time_point now) {
    std::lock_guard lock(mutex_);
    Clock::time_point at = now;
    if (const Record* r = find(sources_, source, now)) {
        at = std::max(at, r->busyUntil);
    }
    if (!user.empty()) {
        if (const Record* r = find(users_, user, now)) {
            at = std::max(at, r->busyUntil);
        }
    }
    if (at - now > kMaxPenalty) {
        return std::nullopt;
    }
    return at;
}

void AuthGuard::failed(const std::string& source, const std::string& user, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    addFailure(sources_, source, now);
    if (user.empty()) {
        return;  // nothing claimed (garbage, or a mechanism that names the user later)
    }
    addFailure(users_, user, now);
    if (pairs_.size() >= kMaxRecords) {
        std::erase_if(pairs_, [&](const auto& e) { return !sources_.contains(e.first.first); });
    }
    if (pairs_.size() >= kMaxRecords) {
        pairs_.erase(pairs_.begin());
    }
    ++pairs_[{source, user}];
}

void AuthGuard::succeeded(const std::string& source, const std::string& user) {
    std::lock_guard lock(mutex_);
    auto it = pairs_.find({source, user});
    if (it == pairs_.end()) {
        return;
    }
    takeBack(sources_, source, it->second);
    takeBack(users_, user, it->second);
    pairs_.erase(it);
}

std::string AuthGuard::sourceOf(const std::string& address, unsigned uid) {
    if (address.rfind("unix:", 0) == 0) {
        return "uid:" + std::to_string(uid);
    }
    return address.substr(0, address.rfind(';'));
}

}  // namespace corral::daemon
