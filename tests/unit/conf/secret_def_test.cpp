// SPDX-License-Identifier: LGPL-2.1-or-later
// Secret XML: each usage type, the flags, and the refusals (unknown parts, bad values).
#include "conf/secret_def.hpp"

#include <gtest/gtest.h>

namespace corral::conf {
namespace {

TEST(SecretDef, ParsesEveryUsageTypeAndFormatsItBack) {
    struct Case {
        const char* xml;
        SecretUsage usage;
        const char* id;
    };
    const Case cases[] = {
        {"<usage type='volume'><volume>/var/lib/corral/images/a.luks</volume></usage>", SecretUsage::Volume,
         "/var/lib/corral/images/a.luks"},
        {"<usage type='ceph'><name>client.admin secret</name></usage>", SecretUsage::Ceph, "client.admin secret"},
        {"<usage type='iscsi'><target>libvirtiscsi</target></usage>", SecretUsage::Iscsi, "libvirtiscsi"},
        {"<usage type='tls'><name>TLS_example</name></usage>", SecretUsage::Tls, "TLS_example"},
        {"<usage type='vtpm'><name>VTPM_example</name></usage>", SecretUsage::Vtpm, "VTPM_example"},
    };
    for (const auto& c : cases) {
        std::string xml = std::string("<secret ephemeral='no' private='yes'><uuid>c4c3b9a8-1d2e-4f5a-8b6c-7d8e9f0a1b2c</uuid>"
                                      "<description>d &amp; e</description>") +
                          c.xml + "</secret>";
        auto def = parseSecretXml(xml);
        ASSERT_TRUE(def.has_value()) << def.error().message;
        EXPECT_EQ((*def)->usage, c.usage);
        EXPECT_EQ((*def)->usageId, c.id);
        EXPECT_TRUE((*def)->isPrivate);
        EXPECT_FALSE((*def)->ephemeral);
        EXPECT_EQ((*def)->description, "d & e");
        // The formatted definition parses back to the same facts.
        auto again = parseSecretXml(formatSecretXml(**def));
        ASSERT_TRUE(again.has_value()) << formatSecretXml(**def);
        EXPECT_EQ((*again)->usageId, c.id);
        EXPECT_EQ(formatSecretXml(**again), formatSecretXml(**def));
    }
}

TEST(SecretDef, FormatsAsLibvirtDoes) {
    auto def = parseSecretXml(
        "<secret ephemeral='no' private='no'><uuid>c4c3b9a8-1d2e-4f5a-8b6c-7d8e9f0a1b2c</uuid>"
        "<usage type='volume'><volume>/img</volume></usage></secret>");
    ASSERT_TRUE(def.has_value());
    EXPECT_EQ(formatSecretXml(**def),
              "<secret ephemeral='no' private='no'>\n"
              "  <uuid>c4c3b9a8-1d2e-4f5a-8b6c-7d8e9f0a1b2c</uuid>\n"
              "  <usage type='volume'>\n"
              "    <volume>/img</volume>\n"
              "  </usage>\n"
              "</secret>\n");
}

TEST(SecretDef, WithoutUuidOrUsageIsAccepted) {
    auto def = parseSecretXml("<secret/>");
    ASSERT_TRUE(def.has_value());
    EXPECT_FALSE((*def)->uuidGiven);
    EXPECT_EQ((*def)->usage, SecretUsage::None);
}

TEST(SecretDef, RefusesWhatItDoesNotUnderstand) {
    const char* bad[] = {
        "<secret><uuid>nope</uuid></secret>",
        "<secret private='maybe'/>",
        "<secret ephemeral='1'/>",
        "<secret><usage type='volume'/></secret>",
        "<secret><usage type='volume'><volume>  </volume></usage></secret>",
        "<secret><usage type='nvme'><name>x</name></usage></secret>",
        "<secret><usage type='ceph'><name>a</name><extra/></usage></secret>",
        "<secret><usage type='ceph'><name>a</name></usage><usage type='tls'><name>b</name></usage></secret>",
        "<secret><value>cGFzc3dvcmQ=</value></secret>",
        "<secret colour='blue'/>",
        "<network/>",
    };
    for (const char* xml : bad) {
        EXPECT_FALSE(parseSecretXml(xml).has_value()) << xml;
    }
    auto unknown = parseSecretXml("<secret><value>cGFzc3dvcmQ=</value></secret>");
    ASSERT_FALSE(unknown.has_value());
    EXPECT_EQ(unknown.error().code, ErrorCode::ConfigUnsupported);
    EXPECT_NE(unknown.error().message.find("<value>"), std::string::npos) << unknown.error().message;
}

}  // namespace
}  // namespace corral::conf
