// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/qemu/qmp_events.hpp"

#include <gtest/gtest.h>

namespace corral::drivers::qemu {
namespace {

conf::DomainDef twoDisks() {
    auto def = conf::parseDomainXml(
        "<domain type='qemu'><name>d</name><memory>65536</memory><os><type>hvm</type></os><devices>"
        "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/></disk>"
        "<disk type='file' device='disk'><source file='/var/lib/images/data.raw'/><target dev='vdb' bus='virtio'/></disk>"
        "</devices></domain>");
    EXPECT_TRUE(def.has_value());
    return **def;
}

DomainEvent translate(const std::string& name, const std::string& data, const conf::DomainDef& def = {}) {
    auto json = JsonValue::parse(data);
    EXPECT_TRUE(json.has_value()) << data;
    auto ev = domainEventFromQmp(name, *json, def);
    EXPECT_TRUE(ev.has_value()) << name;
    return ev.value_or(DomainEvent{});
}

TEST(QmpEvents, BlockIoErrorNamesTheDiskByItsFormatNode) {
    DomainEvent ev = translate("BLOCK_IO_ERROR",
                               R"({"device":"","node-name":"corral-format-vdb","operation":"write","action":"stop",)"
                               R"("nospace":true,"reason":"No space left on device"})",
                               twoDisks());
    EXPECT_EQ(ev.eventId, event_id::kIoErrorReason);
    EXPECT_EQ(ev.srcPath, "/var/lib/images/data.raw");
    EXPECT_EQ(ev.devAlias, "virtio-disk1");  // libvirt's alias, the -device id
    EXPECT_EQ(ev.detail, 1);  // VIR_DOMAIN_EVENT_IO_ERROR_PAUSE
    EXPECT_EQ(ev.reason, "enospc");
}

TEST(QmpEvents, BlockIoErrorOtherThanSpaceKeepsQemusReason) {
    DomainEvent ev = translate("BLOCK_IO_ERROR",
                               R"({"device":"","node-name":"corral-format-hdc","operation":"read","action":"report",)"
                               R"("nospace":false,"reason":"Input/output error"})",
                               twoDisks());
    EXPECT_EQ(ev.detail, 2);  // REPORT
    EXPECT_EQ(ev.reason, "Input/output error");
    EXPECT_EQ(ev.devAlias, "ide0-1-0");
}

TEST(QmpEvents, RtcWatchdogBalloon) {
    EXPECT_EQ(translate("RTC_CHANGE", R"({"offset":3600,"qom-path":"/machine/unattached/device[6]"})").number, 3600);
    EXPECT_EQ(translate("WATCHDOG", R"({"action":"poweroff"})").detail, 3);
    EXPECT_EQ(translate("WATCHDOG", R"({"action":"inject-nmi"})").detail, 6);
    EXPECT_EQ(translate("BALLOON_CHANGE", R"({"actual":134217728})").number, 131072);
}

TEST(QmpEvents, VncPhasesAndAddresses) {
    const char* data = R"({"server":{"auth":"none","family":"ipv4","service":"5900","host":"127.0.0.1",)"
                       R"("websocket":false},"client":{"family":"ipv6","service":"41000","host":"::1",)"
                       R"("websocket":false,"x509_dname":"CN=viewer"}})";
    DomainEvent ev = translate("VNC_INITIALIZED", data);
    EXPECT_EQ(ev.eventId, event_id::kGraphics);
    EXPECT_EQ(ev.detail, 1);
    EXPECT_EQ(ev.local.node, "127.0.0.1");
    EXPECT_EQ(ev.local.service, "5900");
    EXPECT_EQ(ev.remote.family, 1);
    EXPECT_EQ(ev.authScheme, "none");
    ASSERT_EQ(ev.subject.size(), 1u);
    EXPECT_EQ(ev.subject[0].first, "x509dname");
    EXPECT_EQ(translate("VNC_DISCONNECTED", data).detail, 2);
}

TEST(QmpEvents, LifecycleAndUnknownEventsAreNotTranslated) {
    auto empty = JsonValue::parse("{}");
    ASSERT_TRUE(empty.has_value());
    EXPECT_FALSE(domainEventFromQmp("STOP", *empty, {}).has_value());
    EXPECT_FALSE(domainEventFromQmp("SHUTDOWN", *empty, {}).has_value());
    EXPECT_FALSE(domainEventFromQmp("SOMETHING_NEW", *empty, {}).has_value());
}

}  // namespace
}  // namespace corral::drivers::qemu
