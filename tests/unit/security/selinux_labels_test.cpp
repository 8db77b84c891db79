// SPDX-License-Identifier: LGPL-2.1-or-later
// SELinux context parsing and the MCS pair allocator that keeps guests' labels apart.
#include "security/selinux_labels.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <thread>
#include <unordered_set>
#include <vector>

using namespace corral;
using namespace corral::security;

namespace {
// A repeatable random source, so a failure can be replayed.
std::function<std::uint32_t()> seeded(std::uint32_t seed) {
    auto engine = std::make_shared<std::mt19937>(seed);
    return [engine] { return static_cast<std::uint32_t>((*engine)()); };
}

// Replays fixed draws, then repeats the last one.
std::function<std::uint32_t()> scripted(std::vector<std::uint32_t> draws) {
    auto state =
        std::make_shared<std::pair<std::vector<std::uint32_t>, std::size_t>>(std::move(draws), 0);
    return [state] {
        auto& [values, next] = *state;
        return values[std::min(next++, values.size() - 1)];
    };
}
}  // namespace

TEST(SelinuxContext, ParsesAllFourParts) {
    auto ctx = parseSelinuxContext("system_u:system_r:svirt_t:s0:c12,c34");
    ASSERT_TRUE(ctx.has_value()) << ctx.error().message;
    EXPECT_EQ(ctx->user, "system_u");
    EXPECT_EQ(ctx->role, "system_r");
    EXPECT_EQ(ctx->type, "svirt_t");
    EXPECT_EQ(ctx->range, "s0:c12,c34");
}

TEST(SelinuxContext, KeepsColonsInsideTheRange) {
    auto ctx = parseSelinuxContext("system_u:system_r:virtd_t:s0-s0:c0.c1023");
    ASSERT_TRUE(ctx.has_value()) << ctx.error().message;
    EXPECT_EQ(ctx->type, "virtd_t");
    EXPECT_EQ(ctx->range, "s0-s0:c0.c1023");
    EXPECT_EQ(formatSelinuxContext(*ctx), "system_u:system_r:virtd_t:s0-s0:c0.c1023");
}

TEST(SelinuxContext, AcceptsAContextWithoutRange) {
    auto ctx = parseSelinuxContext("user_u:user_r:user_t");
    ASSERT_TRUE(ctx.has_value()) << ctx.error().message;
    EXPECT_EQ(ctx->range, "");
    EXPECT_EQ(formatSelinuxContext(*ctx), "user_u:user_r:user_t");
}

TEST(SelinuxContext, FormatRoundTrips) {
    for (const char* text : {"system_u:object_r:svirt_image_t:s0:c1,c2", "u:r:t:s0",
                             "staff_u:staff_r:staff_t:s0-s0:c0.c100,c200,c300.c400",
                             "my.user:my-role:some.type-x_t:s15:c0"}) {
        auto ctx = parseSelinuxContext(text);
        ASSERT_TRUE(ctx.has_value()) << text << ": " << ctx.error().message;
        EXPECT_EQ(formatSelinuxContext(*ctx), text);
    }
}

TEST(SelinuxContext, RejectsMalformedTextAndNamesIt) {
    for (std::string_view text :
         {"", "svirt_t", "a:b", ":b:c", "a::c", "a:b:", "a:b:c:", "a:b:c:s0:", "a:b:c:s0:c1,",
          "a:b:c:s0:,c1", "a:b:c:s0-", "a:b:c:-s0", "a:b:c:s0-s0-s1", "a:b:c:s0:c1..c2",
          "a:b:c:s0::c1", "a b:r:t:s0", "u:r:t:s0\n", "u:r:t\":s0", "u:r:t:s0:c1;rm"}) {
        auto ctx = parseSelinuxContext(text);
        ASSERT_FALSE(ctx.has_value()) << "accepted '" << text << "'";
        EXPECT_EQ(ctx.error().code, ErrorCode::InvalidArg);
        EXPECT_EQ(ctx.error().domain, ErrorDomain::Security);
        EXPECT_NE(ctx.error().message.find("'" + std::string(text) + "'"), std::string::npos)
            << ctx.error().message;
    }
    using namespace std::string_literals;
    EXPECT_FALSE(parseSelinuxContext("u:r:t\0x:s0"s).has_value());
}

TEST(SelinuxContext, ErrorSaysWhichPartIsWrong) {
    auto ctx = parseSelinuxContext("system_u:system_r:svirt t:s0");
    ASSERT_FALSE(ctx.has_value());
    EXPECT_EQ(ctx.error().message,
              "invalid SELinux context 'system_u:system_r:svirt t:s0': bad type 'svirt t'");
}

TEST(SelinuxRange, ValidatesLevelsAndCategorySets) {
    for (const char* good :
         {"s0", "s0:c0", "s0:c12,c34", "s0-s0:c0.c1023", "s0:c0.c3,c7", "s1-s2"}) {
        EXPECT_TRUE(validateSelinuxRange(good).has_value()) << good;
    }
    for (const char* bad : {"", "s0:", "s0:c1,,c2", "s0-", "s0:c1.", "s0 ", "s0:c1.c2.c3"}) {
        EXPECT_FALSE(validateSelinuxRange(bad).has_value()) << bad;
    }
}

TEST(DynamicLabel, ReplacesTheRangeOfTheBase) {
    EXPECT_EQ(*dynamicLabel(kSvirtProcessBase, "s0:c12,c34"),
              "system_u:system_r:svirt_t:s0:c12,c34");
    EXPECT_EQ(*dynamicProcessLabel("s0:c1,c2"), "system_u:system_r:svirt_t:s0:c1,c2");
    EXPECT_EQ(*dynamicImageLabel("s0:c12,c34"), "system_u:object_r:svirt_image_t:s0:c12,c34");
    // A base whose range holds ':' loses all of it, not just the part after the last ':'.
    EXPECT_EQ(*dynamicLabel("system_u:system_r:svirt_tcg_t:s0-s0:c0.c1023", "s0:c5,c6"),
              "system_u:system_r:svirt_tcg_t:s0:c5,c6");
    // A base without a range gains one.
    EXPECT_EQ(*dynamicLabel("u:r:t", "s0:c5,c6"), "u:r:t:s0:c5,c6");
}

TEST(DynamicLabel, RejectsBadBaseOrRange) {
    auto badBase = dynamicLabel("svirt_t", "s0:c1,c2");
    ASSERT_FALSE(badBase.has_value());
    EXPECT_NE(badBase.error().message.find("'svirt_t'"), std::string::npos);
    auto badRange = dynamicImageLabel("s0:c1,");
    ASSERT_FALSE(badRange.has_value());
    EXPECT_NE(badRange.error().message.find("'s0:c1,'"), std::string::npos)
        << badRange.error().message;
}

TEST(StaticLabel, AcceptsWellFormedContextsOnly) {
    EXPECT_TRUE(validateStaticLabel("system_u:system_r:svirt_t:s0:c392,c662").has_value());
    EXPECT_TRUE(validateStaticLabel("unconfined_u:unconfined_r:unconfined_t").has_value());
    auto bad = validateStaticLabel("system_u:svirt_t");
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code, ErrorCode::XmlError);
    EXPECT_NE(bad.error().message.find("'system_u:svirt_t'"), std::string::npos)
        << bad.error().message;
    EXPECT_FALSE(validateStaticLabel("").has_value());
}

TEST(McsAllocator, FiveThousandAllocationsAreDistinctPairs) {
    McsAllocator alloc;
    auto random = seeded(20240611);
    std::unordered_set<std::string> seen;
    for (int i = 0; i < 5000; ++i) {
        auto range = alloc.allocate(random);
        ASSERT_TRUE(range.has_value()) << range.error().message;
        ASSERT_TRUE(seen.insert(*range).second) << "handed out twice: " << *range;
        unsigned low = 0;
        unsigned high = 0;
        char tail = 0;
        ASSERT_EQ(std::sscanf(range->c_str(), "s0:c%u,c%u%c", &low, &high, &tail), 2) << *range;
        EXPECT_LT(low, high) << *range;
        EXPECT_LE(high, 1023u) << *range;
        EXPECT_EQ(*range, "s0:c" + std::to_string(low) + ",c" + std::to_string(high));
    }
    EXPECT_EQ(alloc.size(), 5000u);
    for (const auto& range : seen) {
        EXPECT_TRUE(alloc.inUse(range));
    }
    EXPECT_EQ(alloc.capacity(), 1024u * 1023u / 2);
}

TEST(McsAllocator, OrdersThePairAndRetriesCollisions) {
    McsAllocator alloc;
    // 9,3 becomes c3,c9; then 3,9 collides, 5,5 is no pair, 1030 % 1024 = 6 gives c6,c7.
    auto random = scripted({9, 3, 3, 9, 5, 5, 1030, 7});
    EXPECT_EQ(*alloc.allocate(random), "s0:c3,c9");
    EXPECT_EQ(*alloc.allocate(random), "s0:c6,c7");
}

TEST(McsAllocator, ReserveAfterRestartBlocksTheSamePair) {
    McsAllocator before;
    auto random = seeded(7);
    std::vector<std::string> running;
    running.reserve(50);
    for (int i = 0; i < 50; ++i) {
        running.push_back(*before.allocate(random));
    }
    // The daemon restarts: a fresh allocator learns the labels of guests still running.
    McsAllocator after;
    for (const auto& range : running) {
        ASSERT_TRUE(after.reserve(range).has_value()) << range;
    }
    EXPECT_EQ(after.size(), 50u);
    auto again = after.reserve(running[10]);
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().code, ErrorCode::InternalError);
    EXPECT_EQ(again.error().message,
              "MCS range '" + running[10] + "' is already reserved by another domain");
    // The same random sequence now has to skip every pair it handed out before the restart.
    auto replay = seeded(7);
    auto fresh = after.allocate(replay);
    ASSERT_TRUE(fresh.has_value());
    EXPECT_EQ(std::count(running.begin(), running.end(), *fresh), 0) << *fresh;
}

TEST(McsAllocator, ReserveRejectsMalformedRanges) {
    McsAllocator alloc;
    for (const char* bad : {"", "s0", "s0:c5", "s0:c5,c5", "s0:c6,c5", "s0:c1,c1024", "s1:c1,c2",
                            "s0:c01,c2", "s0:c1,c2,c3", "s0:c-1,c2", "s0:c+1,c2", "s0:c1.c2",
                            "s0:c1,c2 ", "s0:1,2", "s0:c,c2", "s0:c4294967296,c4294967297"}) {
        auto r = alloc.reserve(bad);
        ASSERT_FALSE(r.has_value()) << "accepted '" << bad << "'";
        EXPECT_EQ(r.error().code, ErrorCode::InvalidArg);
        EXPECT_NE(r.error().message.find("'" + std::string(bad) + "'"), std::string::npos);
        EXPECT_FALSE(alloc.inUse(bad));
    }
    EXPECT_EQ(alloc.size(), 0u);
    EXPECT_TRUE(alloc.reserve("s0:c0,c1023").has_value());
}

TEST(McsAllocator, ReleaseFreesThePairForReuse) {
    McsAllocator alloc(1);  // categories c0 and c1: a single pair
    auto random = seeded(1);
    auto first = alloc.allocate(random);
    ASSERT_TRUE(first.has_value()) << first.error().message;
    EXPECT_EQ(*first, "s0:c0,c1");
    EXPECT_FALSE(alloc.allocate(random).has_value());
    EXPECT_FALSE(alloc.reserve("s0:c0,c1").has_value());
    alloc.release("s0:c0,c1");
    EXPECT_FALSE(alloc.inUse("s0:c0,c1"));
    EXPECT_EQ(alloc.size(), 0u);
    EXPECT_EQ(*alloc.allocate(random), "s0:c0,c1");
    // Unknown and malformed ranges are ignored.
    alloc.release("s0:c5,c9");
    alloc.release("nonsense");
    EXPECT_EQ(alloc.size(), 1u);
}

TEST(McsAllocator, ExhaustionOfATinyRangeFailsClearly) {
    McsAllocator alloc(3);  // c0..c3: six pairs
    EXPECT_EQ(alloc.capacity(), 6u);
    auto random = seeded(99);
    std::unordered_set<std::string> seen;
    for (int i = 0; i < 6; ++i) {
        auto range = alloc.allocate(random);
        ASSERT_TRUE(range.has_value()) << range.error().message;
        EXPECT_TRUE(seen.insert(*range).second);
    }
    auto full = alloc.allocate(random);
    ASSERT_FALSE(full.has_value());
    EXPECT_EQ(full.error().code, ErrorCode::OperationFailed);
    EXPECT_EQ(full.error().message, "no free MCS category pair: all 6 pairs of c0.c3 are in use");
}

TEST(McsAllocator, StuckRandomSourceGivesUp) {
    McsAllocator alloc;
    auto stuck = alloc.allocate([] { return 7u; });  // always the same category: never a pair
    ASSERT_FALSE(stuck.has_value());
    EXPECT_NE(stuck.error().message.find("random tries"), std::string::npos)
        << stuck.error().message;
    EXPECT_EQ(alloc.size(), 0u);
}

TEST(McsAllocator, ConcurrentAllocationsStayUnique) {
    McsAllocator alloc;
    constexpr int kThreads = 4;
    constexpr int kEach = 500;
    std::vector<std::vector<std::string>> got(kThreads);
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            auto random = seeded(static_cast<std::uint32_t>(t));
            for (int i = 0; i < kEach; ++i) {
                auto range = alloc.allocate(random);
                if (range.has_value()) {
                    got[static_cast<std::size_t>(t)].push_back(*range);
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    std::unordered_set<std::string> all;
    for (const auto& list : got) {
        EXPECT_EQ(list.size(), static_cast<std::size_t>(kEach));
        all.insert(list.begin(), list.end());
    }
    EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kEach));
    EXPECT_EQ(alloc.size(), all.size());
}
