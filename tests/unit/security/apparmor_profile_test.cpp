// SPDX-License-Identifier: LGPL-2.1-or-later
// The per-guest AppArmor profile text: naming, exact layout, and paths that must be refused.
#include "security/apparmor_profile.hpp"

#include <gtest/gtest.h>

using namespace corral;
using namespace corral::security;

TEST(AppArmorProfile, NameIsLibvirtDashUuid) {
    auto uuid = Uuid::parse("C7A5FDBD-EDAF-9455-926A-D65C16DB1809");
    ASSERT_TRUE(uuid.has_value());
    EXPECT_EQ(apparmorProfileName(*uuid), "libvirt-c7a5fdbd-edaf-9455-926a-d65c16db1809");
}

TEST(AppArmorProfile, GoldenText) {
    AppArmorGuestFiles files;
    files.readWrite = {"/var/lib/libvirt/images/web1.qcow2",
                       "/var/lib/libvirt/qemu/nvram/web1_VARS.fd"};
    files.readOnly = {"/usr/share/OVMF/OVMF_CODE.fd", "/srv/iso/debian 12.iso"};
    files.monitorSocket = "/var/lib/libvirt/qemu/domain-1-web1/monitor.sock";
    files.pidFile = "/run/libvirt/qemu/web1.pid";
    auto text = apparmorProfile("libvirt-c7a5fdbd-edaf-9455-926a-d65c16db1809", files);
    ASSERT_TRUE(text.has_value()) << text.error().message;
    EXPECT_EQ(*text,
              "#include <tunables/global>\n"
              "\n"
              "profile libvirt-c7a5fdbd-edaf-9455-926a-d65c16db1809 flags=(attach_disconnected) {\n"
              "  #include <abstractions/libvirt-qemu>\n"
              "\n"
              "  \"/run/libvirt/qemu/web1.pid\" rwk,\n"
              "  \"/var/lib/libvirt/images/web1.qcow2\" rwk,\n"
              "  \"/var/lib/libvirt/qemu/domain-1-web1/monitor.sock\" rwk,\n"
              "  \"/var/lib/libvirt/qemu/nvram/web1_VARS.fd\" rwk,\n"
              "  \"/srv/iso/debian 12.iso\" r,\n"
              "  \"/usr/share/OVMF/OVMF_CODE.fd\" r,\n"
              "}\n");
}

TEST(AppArmorProfile, NoFilesLeavesOnlyTheAbstraction) {
    auto text = apparmorProfile("libvirt-x", {});
    ASSERT_TRUE(text.has_value());
    EXPECT_EQ(*text,
              "#include <tunables/global>\n\nprofile libvirt-x flags=(attach_disconnected) {\n"
              "  #include <abstractions/libvirt-qemu>\n}\n");
}

TEST(AppArmorProfile, SortsAndDeduplicatesAndWritableWins) {
    AppArmorGuestFiles files;
    files.readWrite = {"/img/b", "/img/a", "/img/b"};
    files.readOnly = {"/iso/z", "/img/a", "/iso/y", "/iso/z"};
    files.monitorSocket = "/img/a";
    auto text = apparmorProfile("p", files);
    ASSERT_TRUE(text.has_value()) << text.error().message;
    const std::string rules = text->substr(text->find("qemu>\n\n") + 7);
    EXPECT_EQ(rules,
              "  \"/img/a\" rwk,\n"
              "  \"/img/b\" rwk,\n"
              "  \"/iso/y\" r,\n"
              "  \"/iso/z\" r,\n"
              "}\n");
}

TEST(AppArmorProfile, RefusesPathsThatWouldBreakOrWidenTheProfile) {
    using namespace std::string_literals;
    for (const std::string& path :
         {"/img/a\"b"s, "/img/a\nb"s, "/img/a\0b"s, "/img/*.qcow2"s, "/img/disk?.raw"s,
          "/img/[ab]"s, "/img/a]"s, "/img/{a,b}"s, "/img/a}"s, "/img/^a"s, "/img/a\\*"s,
          "/img/a\tb"s, "/img/\x7f"s, "relative/disk.img"s, ""s, "@{HOME}/x"s}) {
        AppArmorGuestFiles files;
        files.readOnly = {"/ok/one"};
        files.readWrite = {"/ok/two", path};
        auto text = apparmorProfile("libvirt-x", files);
        ASSERT_FALSE(text.has_value()) << "accepted " << path;
        EXPECT_EQ(text.error().code, ErrorCode::ConfigUnsupported);
        EXPECT_EQ(text.error().domain, ErrorDomain::Security);
        EXPECT_NE(text.error().message.find("path '" + path + "'"), std::string::npos)
            << text.error().message;
    }
}

TEST(AppArmorProfile, RefusalNamesPathAndReason) {
    AppArmorGuestFiles files;
    files.readOnly = {"/iso/*"};
    auto text = apparmorProfile("libvirt-x", files);
    ASSERT_FALSE(text.has_value());
    EXPECT_EQ(text.error().message,
              "cannot grant path '/iso/*' in AppArmor profile 'libvirt-x': it contains '*'");
    files.readOnly = {};
    files.monitorSocket = "mon.sock";
    auto relative = apparmorProfile("libvirt-x", files);
    ASSERT_FALSE(relative.has_value());
    EXPECT_EQ(
        relative.error().message,
        "cannot grant path 'mon.sock' in AppArmor profile 'libvirt-x': it is not an absolute path");
}

TEST(AppArmorProfile, RefusesBadProfileNames) {
    for (const char* name : {"", "libvirt x", "libvirt-{x}", "a\"b", "a\nb", "a,b"}) {
        auto text = apparmorProfile(name, {});
        ASSERT_FALSE(text.has_value()) << name;
        EXPECT_EQ(text.error().code, ErrorCode::InvalidArg);
    }
}
