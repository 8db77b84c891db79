// SPDX-License-Identifier: LGPL-2.1-or-later
// Storage pool and volume XML: what parses, what is refused by name, the canonical forms.
#include "conf/storage_def.hpp"

#include <gtest/gtest.h>

using namespace corral;
using namespace corral::conf;

TEST(StoragePoolDef, ParsesAndFormatsADirPool) {
    auto def = parseStoragePoolXml(
        "<pool type='dir'><name>images</name><uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>"
        "<capacity unit='bytes'>5</capacity><source/><target><path>/var/lib/images</path>"
        "<permissions><mode>0750</mode><owner>107</owner><group>-1</group></permissions></target></pool>");
    ASSERT_TRUE(def) << def.error().wireMessage();
    EXPECT_EQ((*def)->type, "dir");
    EXPECT_EQ((*def)->targetPath, "/var/lib/images");
    EXPECT_EQ((*def)->perms.mode, 0750u);
    EXPECT_EQ((*def)->perms.uid, 107u);
    EXPECT_FALSE((*def)->perms.gid.has_value());
    EXPECT_EQ((*def)->capacity, 0u);  // output only: never read from input
    const std::string text = formatStoragePoolXml(**def, true);
    EXPECT_NE(text.find("<mode>0750</mode>"), std::string::npos);
    auto again = parseStoragePoolXml(text);
    ASSERT_TRUE(again) << again.error().wireMessage();
    EXPECT_EQ(formatStoragePoolXml(**again, true), text);
}

TEST(StoragePoolDef, RefusesWhatItDoesNotRun) {
    auto r = parseStoragePoolXml("<pool type='dir'><name>p</name><target><path>/p</path>"
                                 "<permissions><label>system_u:object_r:x</label></permissions></target></pool>");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::ConfigUnsupported);
    EXPECT_NE(r.error().message.find("<label>"), std::string::npos) << r.error().message;

    r = parseStoragePoolXml("<pool type='dir'><name>p</name><target><path>/a/../etc</path></target></pool>");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("must be absolute"), std::string::npos);
    r = parseStoragePoolXml("<pool type='dir'><name>p</name><target><path>rel</path></target></pool>");
    ASSERT_FALSE(r);
    r = parseStoragePoolXml("<pool type='nosuch'><name>p</name></pool>");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("'nosuch'"), std::string::npos);
    r = parseStoragePoolXml("<pool type='dir'><name>p</name><target><path>/p</path><permissions>"
                            "<mode>01777</mode></permissions></target></pool>");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("malformed octal mode"), std::string::npos);
}

TEST(StorageVolDef, ParsesUnitsFormatsAndBackingStore) {
    auto def = parseStorageVolXml(
        "<volume><name>v.qcow2</name><capacity unit='G'>2</capacity><allocation unit='KB'>3</allocation>"
        "<target><format type='qcow2'/><compat>1.1</compat><features><lazy_refcounts/></features></target>"
        "<backingStore><path>/pool/base.qcow2</path><format type='qcow2'/></backingStore></volume>");
    ASSERT_TRUE(def) << def.error().wireMessage();
    EXPECT_EQ((*def)->capacity, 2ull << 30);
    EXPECT_EQ((*def)->allocation, 3000u);
    EXPECT_TRUE((*def)->lazyRefcounts);
    EXPECT_EQ((*def)->backingPath, "/pool/base.qcow2");
    // A dumpxml fed back (vol-clone does) parses: the output-only parts are recomputed.
    (*def)->key = (*def)->path = "/pool/v.qcow2";
    auto again = parseStorageVolXml(formatStorageVolXml(**def));
    ASSERT_TRUE(again) << again.error().wireMessage();
    EXPECT_EQ((*again)->format, "qcow2");
}

TEST(StorageVolDef, RefusesNamesThatLeaveThePool) {
    for (const char* name : {"..", ".", "a/b", "../x", "/etc/passwd", ""}) {
        auto r = parseStorageVolXml(std::string("<volume><name>") + name + "</name><capacity>1</capacity></volume>");
        ASSERT_FALSE(r) << name;
        EXPECT_EQ(r.error().code, ErrorCode::XmlError) << name;
    }
    auto r = parseStorageVolXml("<volume><name>a&#10;b</name><capacity>1</capacity></volume>");
    ASSERT_FALSE(r);
}

TEST(StorageVolDef, RefusesFormatsAndPartsItDoesNotRun) {
    auto r = parseStorageVolXml("<volume><name>v</name><capacity>1</capacity><target><format type='vmdk'/></target>"
                                "</volume>");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::ConfigUnsupported);
    r = parseStorageVolXml("<volume><name>v</name><capacity>1</capacity><target><encryption format='luks'/>"
                           "</target></volume>");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("<encryption"), std::string::npos) << r.error().message;
    r = parseStorageVolXml("<volume><name>v</name><capacity>1</capacity><backingStore><path>/b</path></backingStore>"
                           "</volume>");
    ASSERT_FALSE(r);  // raw cannot have a backing store
    r = parseStorageVolXml("<volume><name>v</name><capacity unit='parsecs'>1</capacity></volume>");
    ASSERT_FALSE(r);
    r = parseStorageVolXml("<volume><name>v</name><capacity unit='E'>100</capacity></volume>");
    ASSERT_FALSE(r);  // overflows 64 bits
    r = parseStorageVolXml("<volume><name>v</name></volume>");
    ASSERT_FALSE(r);
}

TEST(StoragePoolCapabilities, MarksSupportedTypes) {
    const std::string caps = formatStoragePoolCapabilities({"dir"});
    EXPECT_NE(caps.find("<pool type='dir' supported='yes'>"), std::string::npos);
    EXPECT_NE(caps.find("<pool type='logical' supported='no'/>"), std::string::npos);
}

TEST(StorageVolDef, LuksEncryptionWithItsSecretAndNothingElse) {
    auto v = parseStorageVolXml(
        "<volume><name>e.img</name><capacity unit='M'>16</capacity><target><format type='raw'/>"
        "<encryption format='luks'><secret type='passphrase' uuid='0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'/>"
        "</encryption></target></volume>");
    ASSERT_TRUE(v) << v.error().wireMessage();
    EXPECT_EQ((*v)->encryptionFormat, "luks");
    EXPECT_EQ((*v)->encryptionSecretUuid, "0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f");
    (*v)->path = "/p/e.img";
    EXPECT_NE(formatStorageVolXml(**v).find("<encryption format='luks'>\n      <secret type='passphrase' "
                                            "uuid='0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'/>"),
              std::string::npos);
    const std::pair<const char*, const char*> refused[] = {
        {"<encryption format='qcow'><secret type='passphrase' uuid='u'/></encryption>", "'qcow'"},
        {"<encryption format='luks'/>", "needs <secret"},
        {"<encryption format='luks'><secret type='passphrase'/></encryption>", "either uuid or usage"},
        {"<encryption format='luks'><secret type='passphrase' uuid='u' usage='x'/></encryption>", "either uuid or usage"},
        {"<encryption format='luks'><secret type='passphrase' uuid='u'/><cipher name='aes'/></encryption>", "<cipher"},
    };
    for (const auto& [enc, needle] : refused) {
        auto r = parseStorageVolXml(std::string("<volume><name>e.img</name><capacity>1</capacity><target>") + enc +
                                    "</target></volume>");
        ASSERT_FALSE(r) << enc;
        EXPECT_NE(r.error().message.find(needle), std::string::npos) << enc << ": " << r.error().message;
    }
}
