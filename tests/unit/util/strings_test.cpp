// SPDX-License-Identifier: LGPL-2.1-or-later
// String helpers, glob matching in particular (the DN and username allow-lists depend on it).
#include "util/strings.hpp"

#include <gtest/gtest.h>

using namespace corral;

TEST(Strings, GlobMatchesLikeGlib) {
    EXPECT_TRUE(globMatch("C=GB,O=Test,CN=client*", "C=GB,O=Test,CN=client1"));
    EXPECT_TRUE(globMatch("*", ""));
    EXPECT_TRUE(globMatch("a?c", "abc"));
    EXPECT_FALSE(globMatch("a?c", "ac"));
    EXPECT_FALSE(globMatch("C=GB,O=Test,CN=client*", "C=GB,O=Evil,CN=client1"));
    EXPECT_TRUE(globMatch("*b*b*", "abxxbyy"));
}

TEST(Strings, ParsesNumbersStrictly) {
    EXPECT_EQ(parseUnsigned("42"), 42u);
    EXPECT_EQ(parseUnsigned("0x10"), 16u);
    EXPECT_FALSE(parseUnsigned("42k"));
    EXPECT_FALSE(parseUnsigned(""));
    EXPECT_FALSE(parseUnsigned("99999999999999999999999"));
    EXPECT_EQ(parseSigned("-1"), -1);
}

TEST(Strings, SplitsAndTrims) {
    auto parts = splitString("a,,b", ',');
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[1], "");
    EXPECT_EQ(trimString("  x \n"), "x");
}

TEST(Strings, ParsesCpuListsAsKernelAndLibvirtWriteThem) {
    EXPECT_EQ(parseCpuList("0-3,8"), (std::vector<unsigned>{0, 1, 2, 3, 8}));
    EXPECT_EQ(parseCpuList("0-5,^2,^4-5"), (std::vector<unsigned>{0, 1, 3}));
    EXPECT_EQ(parseCpuList("1, 0"), (std::vector<unsigned>{0, 1}));
    EXPECT_EQ(parseCpuList("0-100000", 4), (std::vector<unsigned>{0, 1, 2, 3}));
    EXPECT_TRUE(parseCpuList("x,,-").empty());
}
