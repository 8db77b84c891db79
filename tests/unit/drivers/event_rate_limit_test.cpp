// SPDX-License-Identifier: LGPL-2.1-or-later
// EventRateLimiter: a burst, then a steady rate per guest; drops reported once a second; and
// the limit applied by DomainManager to what a guest raises on its own, not to API events.
#include "drivers/common/event_rate_limit.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>

#include "drivers/common/domain_manager.hpp"
#include "objects/store.hpp"

using namespace corral;
using namespace corral::drivers;
using namespace std::chrono_literals;

namespace {

Uuid uuidOf(std::uint8_t last) {
    Uuid u{};
    u.bytes[15] = last;
    return u;
}

}  // namespace

TEST(EventRateLimiter, ABurstThenTheSteadyRate) {
    EventRateLimiter limiter(10, 5);
    auto t0 = EventRateLimiter::Clock::time_point{} + 1000s;
    int passed = 0;
    for (int i = 0; i < 50; ++i) {
        passed += limiter.admit(uuidOf(1), t0).pass ? 1 : 0;
    }
    EXPECT_EQ(passed, 5);
    // Half a second later: five more tokens, no more.
    passed = 0;
    for (int i = 0; i < 50; ++i) {
        passed += limiter.admit(uuidOf(1), t0 + 500ms).pass ? 1 : 0;
    }
    EXPECT_EQ(passed, 5);
    // Another guest has its own bucket.
    EXPECT_TRUE(limiter.admit(uuidOf(2), t0 + 500ms).pass);
    // A long quiet time refills only up to the burst.
    passed = 0;
    for (int i = 0; i < 50; ++i) {
        passed += limiter.admit(uuidOf(1), t0 + 1h).pass ? 1 : 0;
    }
    EXPECT_EQ(passed, 5);
}

TEST(EventRateLimiter, DropsAreReportedAtOnceThenOnceASecond) {
    EventRateLimiter limiter(1, 1);
    auto t0 = EventRateLimiter::Clock::time_point{} + 1000s;
    EXPECT_TRUE(limiter.admit(uuidOf(1), t0).pass);
    auto first = limiter.admit(uuidOf(1), t0);
    EXPECT_FALSE(first.pass);
    EXPECT_EQ(first.dropsToReport, 1u);
    std::uint64_t reported = 0;
    for (int i = 0; i < 9; ++i) {
        reported += limiter.admit(uuidOf(1), t0 + 100ms).dropsToReport;
    }
    EXPECT_EQ(reported, 0u);  // held back until a second has passed
    auto later = limiter.admit(uuidOf(1), t0 + 1100ms);  // a token again: it passes
    EXPECT_TRUE(later.pass);
    EXPECT_EQ(later.dropsToReport, 9u);
    // forget(): the guest stopped; its next run starts with a full bucket.
    EXPECT_FALSE(limiter.admit(uuidOf(1), t0 + 1100ms).pass);
    limiter.forget(uuidOf(1));
    EXPECT_TRUE(limiter.admit(uuidOf(1), t0 + 1100ms).pass);
}

namespace {

/// A backend whose guests raise events when the test says so, as QEMU's monitor thread does.
class EventfulBackend final : public GuestBackend {
public:
    void attach(GuestEventSink& sink) override { sink_ = &sink; }
    Result<void> checkDefinition(const conf::DomainDef&) override { return {}; }
    Result<void> start(objects::DomainObj&, conf::DomainDef&, bool) override { return {}; }
    Result<void> destroy(objects::DomainObj&, bool) override { return {}; }
    Result<bool> shutdown(objects::DomainObj&, unsigned) override { return true; }
    Result<void> reboot(objects::DomainObj&, unsigned) override { return {}; }
    Result<void> suspend(objects::DomainObj&) override { return {}; }
    Result<void> resume(objects::DomainObj&) override { return {}; }
    Result<bool> reconnect(objects::DomainObj&, conf::DomainDef&) override { return false; }
    std::uint64_t cpuTimeNs(const objects::DomainObj&) override { return 0; }
    std::string osType(const conf::DomainDef&) override { return "hvm"; }
    GuestEventSink* sink_ = nullptr;
};

}  // namespace

TEST(EventRateLimiter, AGuestFloodingRtcChangesIsCutToTheRateButApiEventsAreNot) {
    char tmpl[] = "/tmp/corral-events-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    {
        auto store = std::move(*objects::Store::open(dir + "/s.db"));
        auto backend = std::make_unique<EventfulBackend>();
        EventfulBackend* guest = backend.get();
        DomainManager m(DomainManagerOptions{"qemu", store.get(), nullptr, {}}, std::move(backend));
        std::atomic<int> rtc{0};
        std::atomic<int> lifecycle{0};
        m.events().subscribe([&](const DomainEvent& ev) {
            (ev.eventId == event_id::kRtcChange ? rtc : lifecycle)++;
        });
        auto dom = m.createXml(
            "<domain type='qemu'><name>g</name><memory>1024</memory><os><type>hvm</type></os></domain>", 0);
        ASSERT_TRUE(dom);
        auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < 5000; ++i) {
            DomainEvent ev;
            ev.eventId = event_id::kRtcChange;
            ev.number = i;
            guest->sink_->guestEvent(dom->uuid, ev);
        }
        double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        // The burst of 100 passes; after it at most 20 a second (plus one for rounding).
        EXPECT_GE(rtc.load(), 100);
        EXPECT_LE(rtc.load(), 100 + static_cast<int>(20 * elapsed) + 1) << elapsed;
        // Suspend and resume through the API: every one of their events goes out.
        int before = lifecycle.load();
        for (int i = 0; i < 200; ++i) {
            ASSERT_TRUE(m.suspend(*dom));
            ASSERT_TRUE(m.resume(*dom));
        }
        EXPECT_EQ(lifecycle.load() - before, 400);
    }
    std::filesystem::remove_all(dir);
}
