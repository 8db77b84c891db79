// SPDX-License-Identifier: LGPL-2.1-or-later
// refuseUnreadParts: what a driver's plan did not read is refused by name, except what only
// describes the domain.
#include <gtest/gtest.h>

#include "conf/domain_coverage.hpp"

namespace corral::conf {
namespace {

std::unique_ptr<DomainDef> parsed(const std::string& body, const std::string& osAttrs = "") {
    auto def = parseDomainXml("<domain type='qemu'>\n<name>t</name>\n<memory>65536</memory>\n<os" + osAttrs +
                              "><type>hvm</type></os>\n" + body + "</domain>");
    EXPECT_TRUE(def) << def.error().message;
    return std::move(*def);
}

TEST(DomainCoverage, NothingReadRefusesEveryPartByNameAndDriver) {
    auto def = parsed("<features><privnet/></features>\n<devices><hostdev mode='subsystem'/></devices>\n");
    XmlReadTracker t;
    auto r = refuseUnreadParts(*def, t, "lxc", ErrorDomain::Lxc);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::ConfigUnsupported);
    EXPECT_EQ(r.error().message, "<features> (line 5), <hostdev> (line 6) are not supported by the 'lxc' driver");
}

TEST(DomainCoverage, AReadElementLeavesItsUnreadChildrenAndAttributes) {
    auto def = parsed("<devices>\n<interface type='network'>\n<source network='default'/>\n"
                      "<filterref filter='clean-traffic'/>\n<bandwidth><inbound average='10'/></bandwidth>\n"
                      "</interface>\n<graphics type='vnc' keymap='fr'/>\n</devices>\n");
    XmlReadTracker t;
    for (const auto& d : def->devices) {
        (void)d.attr("type");
        (void)d.childAttr("source", "network");
    }
    auto r = refuseUnreadParts(*def, t, "qemu", ErrorDomain::Qemu);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message,
              "<interface><filterref> (line 8), <interface><bandwidth> (line 9), <graphics keymap='fr'> (line 11) "
              "are not supported by the 'qemu' driver");
}

TEST(DomainCoverage, OsAttributesAreParts) {
    // <os firmware='efi'> was once dropped at parse: the guest booted SeaBIOS.
    auto def = parsed("", " firmware='efi'");
    XmlReadTracker t;
    auto r = refuseUnreadParts(*def, t, "qemu", ErrorDomain::Qemu);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "<os firmware='efi'> (line 4) is not supported by the 'qemu' driver");
    (void)def->os.attributes.attr("firmware");
    EXPECT_TRUE(refuseUnreadParts(*def, t, "qemu", ErrorDomain::Qemu));
}

TEST(DomainCoverage, UnknownElementsAndRootAttributesAreRefused) {
    auto def = parsed("<frobnicate/>\n");
    def->rootAttrs.emplace_back("xmlns:qemu", "http://libvirt.org/schemas/domain/qemu/1.0");
    XmlReadTracker t;
    auto r = refuseUnreadParts(*def, t, "qemu", ErrorDomain::Qemu);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "<frobnicate> (line 5) is not supported by the 'qemu' driver");
}

TEST(DomainCoverage, MetadataAndAliasesOnlyDescribe) {
    auto def = parsed("<metadata><app:x xmlns:app='urn:a'>anything</app:x></metadata>\n"
                      "<devices><disk><alias name='ua-disk'/><target dev='vda'/></disk></devices>\n");
    XmlReadTracker t;
    (void)def->devices[0].childAttr("target", "dev");
    EXPECT_TRUE(refuseUnreadParts(*def, t, "qemu", ErrorDomain::Qemu));
}

TEST(DomainCoverage, ManyPartsAreCounted) {
    std::string devices = "<devices>";
    for (int i = 0; i < 8; ++i) {
        devices += "<sound model='ich9'/>";
    }
    auto def = parsed(devices + "</devices>\n");
    XmlReadTracker t;
    auto r = refuseUnreadParts(*def, t, "qemu", ErrorDomain::Qemu);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("<sound> (line 5) and 3 more are not supported"), std::string::npos)
        << r.error().message;
}

}  // namespace
}  // namespace corral::conf
