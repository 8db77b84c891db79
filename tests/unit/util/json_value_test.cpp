// SPDX-License-Identifier: LGPL-2.1-or-later
// JsonValue: the QMP parser. A broken or hostile QEMU must get an error, never a crash.
#include "util/json_value.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace corral;

TEST(JsonValue, ParsesAQmpReply) {
    auto v = JsonValue::parse(R"({"return": {"running": true, "status": "running", "singlestep": false}, "id": 7})");
    ASSERT_TRUE(v) << v.error().wireMessage();
    EXPECT_TRUE(v->isObject());
    EXPECT_TRUE((*v)["return"]["running"].asBool());
    EXPECT_EQ((*v)["return"]["status"].asString(), "running");
    EXPECT_EQ((*v)["id"].asInt(), 7);
    EXPECT_TRUE((*v)["missing"].isNull());
    EXPECT_FALSE(v->has("missing"));
}

TEST(JsonValue, DecodesStringEscapesAndSurrogatePairs) {
    auto v = JsonValue::parse(R"(["a\"b\\c\/\n\t", "\u00e9", "\ud83d\ude00"])");
    ASSERT_TRUE(v) << v.error().wireMessage();
    ASSERT_EQ(v->items().size(), 3u);
    EXPECT_EQ(v->items()[0].asString(), "a\"b\\c/\n\t");
    EXPECT_EQ(v->items()[1].asString(), "\xc3\xa9");
    EXPECT_EQ(v->items()[2].asString(), "\xf0\x9f\x98\x80");
}

TEST(JsonValue, ReadsNumbersAsIntegersAndUnsigned) {
    auto v = JsonValue::parse(R"({"a": -12, "b": 4294967296, "c": 1.5e3, "d": 0})");
    ASSERT_TRUE(v);
    EXPECT_EQ((*v)["a"].asInt(), -12);
    EXPECT_EQ((*v)["b"].asUnsigned(), 4294967296u);
    EXPECT_EQ((*v)["c"].asInt(), 1500);
    EXPECT_EQ((*v)["a"].asUnsigned(99), 99u) << "a negative number is no unsigned value";
    EXPECT_EQ((*v)["a"].asString("fallback"), "fallback");
}

TEST(JsonValue, RefusesMalformedDocuments) {
    for (const char* bad : {"", "{", "{\"a\":}", "[1,]", "{\"a\" 1}", "tru", "\"unterminated", "01", "1.",
                            "{} trailing", "\"\\x\"", "\"\\ud800\"", "[\"\x01\"]", "nul", "{1: 2}"}) {
        EXPECT_FALSE(JsonValue::parse(bad)) << "accepted: " << bad;
    }
}

TEST(JsonValue, LimitsNestingDepth) {
    std::string deep(100000, '[');
    EXPECT_FALSE(JsonValue::parse(deep));
    std::string fine = std::string(32, '[') + std::string(32, ']');
    EXPECT_TRUE(JsonValue::parse(fine));
}

TEST(JsonValue, KeepsLargeCountersExact) {
    // QEMU's block and network byte counters pass 2^53 on busy guests.
    auto v = JsonValue::parse(R"({"rd_bytes": 18446744073709551615, "wr": 9007199254740993})");
    ASSERT_TRUE(v);
    EXPECT_EQ((*v)["rd_bytes"].asUnsigned(), 18446744073709551615u);
    EXPECT_EQ((*v)["wr"].asInt(), 9007199254740993);
    EXPECT_EQ((*v)["rd_bytes"].asInt(-1), -1) << "out of int64 range gives the fallback";
}

namespace corral {
namespace {

TEST(JsonValueText, ToJsonRoundTripsKeepingNumbersExact) {
    const char* text = R"({"a":[1,18446744073709551615,-2.5e3,true,null],"b":"q\"uo\\te\n\u0001","c":{}})";
    auto v = JsonValue::parse(text);
    ASSERT_TRUE(v);
    std::string out = v->toJson();
    EXPECT_EQ(out, R"({"a":[1,18446744073709551615,-2.5e3,true,null],"b":"q\"uo\\te\n\u0001","c":{}})");
    auto again = JsonValue::parse(out);
    ASSERT_TRUE(again);
    EXPECT_EQ((*again)["b"].asString(), "q\"uo\\te\n\x01");
}

}  // namespace
}  // namespace corral
