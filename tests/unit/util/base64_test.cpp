// SPDX-License-Identifier: LGPL-2.1-or-later
#include "util/base64.hpp"

#include <gtest/gtest.h>

namespace corral {
namespace {

std::vector<std::uint8_t> bytesOf(std::string_view s) { return {s.begin(), s.end()}; }

TEST(Base64, EncodesRfc4648Vectors) {
    EXPECT_EQ(base64Encode(bytesOf("")), "");
    EXPECT_EQ(base64Encode(bytesOf("f")), "Zg==");
    EXPECT_EQ(base64Encode(bytesOf("fo")), "Zm8=");
    EXPECT_EQ(base64Encode(bytesOf("foo")), "Zm9v");
    EXPECT_EQ(base64Encode(bytesOf("foobar")), "Zm9vYmFy");
}

TEST(Base64, RoundTripsEveryByte) {
    std::vector<std::uint8_t> all;
    for (int i = 0; i < 256; ++i) {
        all.push_back(static_cast<std::uint8_t>(i));
    }
    auto back = base64Decode(base64Encode(all) + "\n");
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, all);
}

TEST(Base64, RefusesMalformedText) {
    EXPECT_FALSE(base64Decode("Zm9").has_value());
    EXPECT_FALSE(base64Decode("Zm9*").has_value());
    EXPECT_FALSE(base64Decode("Z===").has_value());
    EXPECT_FALSE(base64Decode("Zg==Zm9v").has_value());
}

}  // namespace
}  // namespace corral
