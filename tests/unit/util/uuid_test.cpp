// SPDX-License-Identifier: LGPL-2.1-or-later
// UUID parsing, formatting and generation.
#include "util/uuid.hpp"

#include <gtest/gtest.h>

using namespace corral;

TEST(Uuid, RoundTripsDashedForm) {
    auto u = Uuid::parse("6f2e3c1a-8d4b-4c7e-9a35-0b1d2e3f4a5b");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->toString(), "6f2e3c1a-8d4b-4c7e-9a35-0b1d2e3f4a5b");
}

TEST(Uuid, AcceptsUndashedAndUpperCase) {
    auto u = Uuid::parse("6F2E3C1A8D4B4C7E9A350B1D2E3F4A5B");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->toString(), "6f2e3c1a-8d4b-4c7e-9a35-0b1d2e3f4a5b");
}

TEST(Uuid, RejectsJunk) {
    EXPECT_FALSE(Uuid::parse(""));
    EXPECT_FALSE(Uuid::parse("6f2e3c1a-8d4b-4c7e-9a35-0b1d2e3f4a5"));
    EXPECT_FALSE(Uuid::parse("6f2e3c1a-8d4b-4c7e-9a35-0b1d2e3f4a5bff"));
    EXPECT_FALSE(Uuid::parse("zf2e3c1a-8d4b-4c7e-9a35-0b1d2e3f4a5b"));
}

TEST(Uuid, GeneratesVersion4AndDistinct) {
    Uuid a = Uuid::generate();
    Uuid b = Uuid::generate();
    EXPECT_NE(a, b);
    EXPECT_EQ(a.toString()[14], '4');
}
