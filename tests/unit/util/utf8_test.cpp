// SPDX-License-Identifier: LGPL-2.1-or-later
// sanitizeUtf8: what a peer's bytes become before they reach a client that decodes UTF-8.
#include "util/utf8.hpp"

#include <gtest/gtest.h>

using namespace corral;

namespace {
const std::string kFffd = "\xEF\xBF\xBD";
}

TEST(SanitizeUtf8, KeepsWellFormedTextAsItIs) {
    for (const char* text : {"", "plain ascii", "caf\xC3\xA9", "\xE2\x82\xAC 10", "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF",
                             "\xEF\xBF\xBD itself"}) {
        EXPECT_EQ(sanitizeUtf8(text), text);
    }
}

TEST(SanitizeUtf8, ReplacesEachByteThatIsNotPartOfASequence) {
    // Bytes that never occur in UTF-8.
    EXPECT_EQ(sanitizeUtf8("a\xFF\xFE" "b"), "a" + kFffd + kFffd + "b");
    // A lead byte whose continuation is missing: only the lead goes, the next byte stays.
    EXPECT_EQ(sanitizeUtf8("\xC3(x"), kFffd + "(x");
    // Truncated at the end.
    EXPECT_EQ(sanitizeUtf8("ok\xE2\x82"), "ok" + kFffd + kFffd);
    // An overlong '/', a surrogate (U+D800), a code point past U+10FFFF.
    EXPECT_EQ(sanitizeUtf8("\xC0\xAF"), kFffd + kFffd);
    EXPECT_EQ(sanitizeUtf8("\xED\xA0\x80"), kFffd + kFffd + kFffd);
    EXPECT_EQ(sanitizeUtf8("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);
    // A lone continuation byte.
    EXPECT_EQ(sanitizeUtf8("\x80"), kFffd);
}

TEST(SanitizeUtf8, WhatItWritesIsAlwaysWellFormed) {
    // Every two-byte string: the output decodes from start to end.
    for (int a = 0; a < 256; ++a) {
        for (int b = 0; b < 256; ++b) {
            std::string in{static_cast<char>(a), static_cast<char>(b)};
            std::string out = sanitizeUtf8(in);
            for (std::size_t at = 0; at < out.size();) {
                std::uint32_t cp = 0;
                std::size_t len = decodeUtf8(out, at, cp);
                ASSERT_NE(len, 0u) << "input " << a << " " << b;
                at += len;
            }
        }
    }
}
