// SPDX-License-Identifier: LGPL-2.1-or-later
// The rules for names and addresses that reach the host: libvirt's refusal of a newline in a new
// name (its words), Corral's of other control characters and of names too long for a file.
#include "conf/object_name.hpp"

#include <gtest/gtest.h>

#include "util/name_escape.hpp"

using namespace corral;
using namespace corral::conf;

TEST(ObjectName, NewlineInANewNameIsRefusedInLibvirtsWords) {
    auto r = validateNewName("web\nevil", ErrorDomain::Domain);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::XmlDetail);
    EXPECT_EQ(r.error().message, "invalid char in name: \\n");  // on one line
    EXPECT_EQ(validateNewName("a\tb", ErrorDomain::Network).error().message, "invalid char in name: \\t");
    EXPECT_EQ(validateNewName(std::string("a\x7f", 2), ErrorDomain::Domain).error().message,
              "invalid char in name: \\x7f");
}

TEST(ObjectName, DotsCommasAndUnicodeAreFineBecauseTheyAreEscaped) {
    for (const char* name : {"..", ".", "x,process=evil", "caf\xc3\xa9", "a b", "a\\b", "-rf"}) {
        EXPECT_TRUE(validateNewName(name, ErrorDomain::Domain)) << name;
    }
}

TEST(ObjectName, ANameTooLongForItsFilesIsRefusedAtDefine) {
    EXPECT_TRUE(validateNewName(std::string(kMaxEscapedNameLength, 'a'), ErrorDomain::Domain));
    auto longName = validateNewName(std::string(kMaxEscapedNameLength + 1, 'a'), ErrorDomain::Domain);
    ASSERT_FALSE(longName);
    EXPECT_NE(longName.error().message.find("is too long"), std::string::npos);
    // 51 two-byte characters are only 102 bytes, but 408 escaped.
    std::string wide;
    for (int i = 0; i < 51; ++i) {
        wide += "\xc3\xa9";
    }
    EXPECT_FALSE(validateNewName(wide, ErrorDomain::Domain));
}

TEST(ObjectName, InterfaceNamesAreWhatTheKernelAndNftTakeUnquoted) {
    for (const char* ok : {"virbr0", "br-lan.2", "vnet%d", "eth0+x", "a_b"}) {
        EXPECT_TRUE(validateInterfaceName(ok, "<bridge name>", ErrorDomain::Network)) << ok;
    }
    for (const char* bad : {"", ".", "..", "a/b", "a b", "a\"b", "a,b", "a:b", "0123456789abcdef", "a\nb"}) {
        auto r = validateInterfaceName(bad, "<bridge name>", ErrorDomain::Network);
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.error().message.find("<bridge name>"), std::string::npos);
        EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
    }
}

TEST(ObjectName, ListenAddressesAreAddressesOrHostNames) {
    for (const char* ok : {"127.0.0.1", "0.0.0.0", "::1", "fe80::1", "::", "localhost", "vnc.example.org"}) {
        EXPECT_TRUE(isListenAddress(ok)) << ok;
    }
    for (const char* bad : {"", "127.0.0.1,share=force-shared", "0.0.0.0,password=off", "[::1]", "a b", "-x",
                            "host\n"}) {
        EXPECT_FALSE(isListenAddress(bad)) << bad;
    }
}
