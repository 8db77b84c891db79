// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainManager through the test driver: identity rules, state machine, events, list filters.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "drivers/common/managed_driver.hpp"
#include "drivers/test/test_driver.hpp"

using namespace corral;
using namespace corral::drivers;
using objects::DomainState;
using objects::LifecycleEvent;

namespace {

std::string domainXml(const std::string& name, const std::string& uuid = "") {
    std::string xml = "<domain type='test'><name>" + name + "</name>";
    if (!uuid.empty()) {
        xml += "<uuid>" + uuid + "</uuid>";
    }
    xml += "<memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>";
    return xml;
}

class TestDriverFixture : public ::testing::Test {
protected:
    void SetUp() override {
        auto created = createTestDriver();
        ASSERT_TRUE(created) << created.error().wireMessage();
        driver = std::move(*created);
        driver->addEventSink([this](const DomainEvent& ev) {
            events.push_back(ev.dom.name + ":" + std::to_string(static_cast<int>(ev.event)) + "/" +
                             std::to_string(ev.detail));
        });
    }
    std::unique_ptr<HypervisorDriver> driver;
    std::vector<std::string> events;
};

}  // namespace

TEST_F(TestDriverFixture, SeedsRunningTestDomainWithIdOne) {
    auto ref = driver->lookup()->lookupByName("test");
    ASSERT_TRUE(ref);
    EXPECT_EQ(ref->id, 1);
    EXPECT_EQ(ref->uuid.toString(), "6695eb01-f6a4-8304-79aa-97f2502e193f");
    auto st = driver->queries()->getState(*ref);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->state, DomainState::Running);
}

TEST_F(TestDriverFixture, DefinedDomainIsInactiveWithIdMinusOne) {
    auto ref = driver->config()->defineXml(domainXml("web1"), 0);
    ASSERT_TRUE(ref) << ref.error().wireMessage();
    EXPECT_EQ(ref->id, -1);
    auto looked = driver->lookup()->lookupByName("web1");
    ASSERT_TRUE(looked);
    EXPECT_EQ(looked->id, -1);
    EXPECT_EQ(events.back(), "web1:0/0");  // Defined Added
}

TEST_F(TestDriverFixture, RedefineSameIdentityIsAnUpdate) {
    auto first = driver->config()->defineXml(domainXml("web1"), 0);
    ASSERT_TRUE(first);
    auto again = driver->config()->defineXml(domainXml("web1", first->uuid.toString()), 0);
    ASSERT_TRUE(again) << again.error().wireMessage();
    EXPECT_EQ(events.back(), "web1:0/1");  // Defined Updated
}

TEST_F(TestDriverFixture, RefusesDuplicateNameWithOtherUuid) {
    ASSERT_TRUE(driver->config()->defineXml(domainXml("web1"), 0));
    auto dup = driver->config()->defineXml(domainXml("web1", "11111111-2222-3333-4444-555555555555"), 0);
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code, ErrorCode::OperationFailed);
    EXPECT_NE(dup.error().message.find("already exists with uuid"), std::string::npos);
}

TEST_F(TestDriverFixture, RefusesDuplicateUuidWithOtherName) {
    auto dup = driver->config()->defineXml(domainXml("other", "6695eb01-f6a4-8304-79aa-97f2502e193f"), 0);
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code, ErrorCode::OperationFailed);
    EXPECT_NE(dup.error().message.find("is already defined with uuid"), std::string::npos);
}

TEST_F(TestDriverFixture, LifecycleEmitsEventsInOrder) {
    auto ref = driver->config()->defineXml(domainXml("vm"), 0);
    ASSERT_TRUE(ref);
    auto started = driver->lifecycle()->create(*ref, 0);
    ASSERT_TRUE(started) << started.error().wireMessage();
    EXPECT_GE(started->id, 2);
    ASSERT_TRUE(driver->lifecycle()->suspend(*ref));
    EXPECT_EQ(driver->queries()->getState(*ref)->state, DomainState::Paused);
    ASSERT_TRUE(driver->lifecycle()->resume(*ref));
    ASSERT_TRUE(driver->lifecycle()->destroy(*ref, 0));
    auto st = driver->queries()->getState(*ref);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->state, DomainState::Shutoff);
    EXPECT_EQ(st->reason, static_cast<int>(objects::ShutoffReason::Destroyed));
    ASSERT_TRUE(driver->config()->undefine(*ref, 0));
    std::vector<std::string> expected = {"vm:0/0", "vm:2/0", "vm:3/0", "vm:4/0", "vm:5/1", "vm:1/0"};
    EXPECT_EQ(events, expected);
    EXPECT_FALSE(driver->lookup()->lookupByName("vm"));
}

TEST_F(TestDriverFixture, StartingARunningDomainFails) {
    auto ref = driver->lookup()->lookupByName("test");
    auto again = driver->lifecycle()->create(*ref, 0);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, ErrorCode::OperationInvalid);
}

TEST_F(TestDriverFixture, UndefineOfRunningDomainMakesItTransient) {
    auto ref = driver->lookup()->lookupByName("test");
    ASSERT_TRUE(driver->config()->undefine(*ref, 0));
    EXPECT_FALSE(*driver->queries()->isPersistent(*ref));
    EXPECT_TRUE(*driver->queries()->isActive(*ref));
    ASSERT_TRUE(driver->lifecycle()->destroy(*ref, 0));
    EXPECT_FALSE(driver->lookup()->lookupByName("test"));
}

TEST_F(TestDriverFixture, TransientCreateDisappearsWhenStopped) {
    auto ref = driver->lifecycle()->createXml(domainXml("tmp"), 0);
    ASSERT_TRUE(ref) << ref.error().wireMessage();
    EXPECT_GE(ref->id, 1);
    EXPECT_FALSE(*driver->queries()->isPersistent(*ref));
    ASSERT_TRUE(driver->lifecycle()->shutdown(*ref, 0));
    EXPECT_FALSE(driver->lookup()->lookupByName("tmp"));
}

TEST_F(TestDriverFixture, ListFlagsFilter) {
    ASSERT_TRUE(driver->config()->defineXml(domainXml("off"), 0));
    auto names = [&](unsigned flags) {
        std::vector<std::string> out;
        auto listed = driver->lookup()->listAll(flags);
        for (const auto& r : *listed) {
            out.push_back(r.name);
        }
        return out;
    };
    EXPECT_EQ(names(list_flags::kActive), std::vector<std::string>{"test"});
    EXPECT_EQ(names(list_flags::kInactive), std::vector<std::string>{"off"});
    EXPECT_EQ(names(list_flags::kActive | list_flags::kInactive).size(), 2u);
    EXPECT_EQ(names(list_flags::kShutoff), std::vector<std::string>{"off"});
    EXPECT_EQ(names(list_flags::kRunning), std::vector<std::string>{"test"});
    EXPECT_TRUE(names(list_flags::kPaused).empty());
    EXPECT_TRUE(names(list_flags::kTransient).empty());
    EXPECT_TRUE(names(list_flags::kAutostart).empty());
    auto off = driver->lookup()->lookupByName("off");
    ASSERT_TRUE(driver->config()->setAutostart(*off, true));
    EXPECT_EQ(names(list_flags::kAutostart), std::vector<std::string>{"off"});
    EXPECT_FALSE(driver->lookup()->listAll(1u << 20));
}

TEST_F(TestDriverFixture, LiveXmlCarriesIdAndInactiveDoesNot) {
    auto ref = driver->lookup()->lookupByName("test");
    auto live = driver->config()->getXmlDesc(*ref, 0);
    ASSERT_TRUE(live);
    EXPECT_NE(live->find("id='1'"), std::string::npos);
    auto inactive = driver->config()->getXmlDesc(*ref, xml_flags::kInactive);
    ASSERT_TRUE(inactive);
    EXPECT_EQ(inactive->find("id='1'"), std::string::npos);
}

TEST_F(TestDriverFixture, MalformedXmlIsRefusedAndNothingChanges) {
    auto bad = driver->config()->defineXml("<domain type='test'><name>x</name><memory>", 0);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::XmlDetail);
    EXPECT_EQ(driver->lookup()->listAll(list_flags::kAll)->size(), 1u);
}

TEST_F(TestDriverFixture, WrongDomainTypeIsRefused) {
    std::string xml = domainXml("q");
    xml.replace(xml.find("'test'"), 6, "'kvm'");
    auto r = driver->config()->defineXml(xml, 0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::ConfigUnsupported);
}

TEST_F(TestDriverFixture, TryGetInfoDoesNotWaitForABusyDomain) {
    auto ref = driver->lookup()->lookupByName("test");
    ASSERT_TRUE(ref);
    // The test driver's facets are its DomainManager's (its state is replaced on reset, so the
    // driver itself is no ManagedDriver).
    auto& manager = dynamic_cast<DomainManager&>(*driver->lookup());
    auto dom = manager.domains().findByName("test");
    ASSERT_TRUE(dom);
    {
        std::lock_guard busy(dom->mutex());  // as a job writing the domain's status holds it
        EXPECT_FALSE(driver->queries()->tryGetInfo(*ref).has_value());
    }
    auto quick = driver->queries()->tryGetInfo(*ref);
    ASSERT_TRUE(quick.has_value());
    ASSERT_TRUE(*quick);
    auto full = driver->queries()->getInfo(*ref);
    ASSERT_TRUE(full);
    EXPECT_EQ((*quick)->state, full->state);
    EXPECT_EQ((*quick)->maxMemKiB, full->maxMemKiB);
    EXPECT_EQ((*quick)->vcpus, full->vcpus);

    // An unknown domain is an answer (no domain), not "busy".
    DomainRef gone = *ref;
    gone.uuid = Uuid::generate();
    gone.name = "gone";
    auto missing = driver->queries()->tryGetInfo(gone);
    ASSERT_TRUE(missing.has_value());
    ASSERT_FALSE(*missing);
    EXPECT_EQ(missing->error().code, ErrorCode::NoDomain);
}

TEST_F(TestDriverFixture, AttachAndDetachDisksLiveAndPersistent) {
    std::vector<std::string> deviceEvents;
    driver->addEventSink([&](const DomainEvent& ev) {
        if (ev.eventId == event_id::kDeviceAdded || ev.eventId == event_id::kDeviceRemoved) {
            deviceEvents.push_back((ev.eventId == event_id::kDeviceAdded ? "added " : "removed ") + ev.devAlias);
        }
    });
    auto ref = driver->lookup()->lookupByName("test");  // running and persistent
    ASSERT_TRUE(ref);
    auto* devices = driver->devices();
    ASSERT_NE(devices, nullptr);
    const std::string disk = "<disk type='file' device='disk'><source file='/tmp/b.img'/><target dev='vdb'/></disk>";
    auto disksOf = [&](unsigned xmlFlags) {
        std::string xml = *driver->config()->getXmlDesc(*ref, xmlFlags);
        return std::string(xml.find("dev='vdb'") != std::string::npos ? "vdb" : "-");
    };
    constexpr unsigned kInactive = 2;  // VIR_DOMAIN_XML_INACTIVE

    ASSERT_TRUE(devices->attachDevice(*ref, disk, affect_flags::kLive));
    EXPECT_EQ(disksOf(0), "vdb");
    EXPECT_EQ(disksOf(kInactive), "-");
    auto again = devices->attachDevice(*ref, disk, affect_flags::kLive);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().wireMessage(), "Requested operation is not valid: target vdb already exists");

    ASSERT_TRUE(devices->detachDevice(*ref, disk, affect_flags::kLive));
    EXPECT_EQ(disksOf(0), "-");
    auto missing = devices->detachDevice(*ref, disk, affect_flags::kLive);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::DeviceMissing);
    EXPECT_EQ(missing.error().wireMessage(), "device not found: disk vdb not found");

    // Both at once; then the persistent copy only. No event without a live change.
    ASSERT_TRUE(devices->attachDevice(*ref, disk, affect_flags::kLive | affect_flags::kConfig));
    EXPECT_EQ(disksOf(0), "vdb");
    EXPECT_EQ(disksOf(kInactive), "vdb");
    ASSERT_TRUE(devices->detachDevice(*ref, disk, affect_flags::kConfig));
    EXPECT_EQ(disksOf(0), "vdb");
    EXPECT_EQ(disksOf(kInactive), "-");
    EXPECT_EQ(deviceEvents, (std::vector<std::string>{"added vdb", "removed vdb", "added vdb"}));

    // An interface is known by its MAC: the same one twice is refused, a missing one named.
    const std::string nic = "<interface type='user'><mac address='52:54:00:00:00:42'/></interface>";
    ASSERT_TRUE(devices->attachDevice(*ref, nic, affect_flags::kLive));
    auto twice = devices->attachDevice(*ref, nic, affect_flags::kLive);
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error().wireMessage(),
              "Requested operation is not valid: interface with MAC address 52:54:00:00:00:42 already exists");
    ASSERT_TRUE(devices->detachDevice(*ref, nic, affect_flags::kLive));
    auto gone = devices->detachDevice(*ref, nic, affect_flags::kLive);
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().wireMessage(), "device not found: no device matching MAC address 52:54:00:00:00:42 found");
    // One without a MAC gets one made as at define.
    ASSERT_TRUE(devices->attachDevice(*ref, "<interface type='user'/>", affect_flags::kConfig));
    EXPECT_NE(driver->config()->getXmlDesc(*ref, kInactive)->find("<mac address='52:54:00:"), std::string::npos);
    deviceEvents.clear();

    // Neither a disk nor an interface, or malformed: refused, nothing changes.
    auto sound = devices->attachDevice(*ref, "<sound model='ich6'/>", affect_flags::kLive);
    ASSERT_FALSE(sound);
    EXPECT_EQ(sound.error().code, ErrorCode::ConfigUnsupported);
    auto broken = devices->attachDevice(*ref, "<disk type='file'><target dev='vdc'/>", affect_flags::kLive);
    ASSERT_FALSE(broken);
    auto untargeted = devices->attachDevice(*ref, "<disk type='file'><source file='/x'/></disk>", affect_flags::kConfig);
    ASSERT_FALSE(untargeted);
    EXPECT_EQ(untargeted.error().code, ErrorCode::XmlError);
    EXPECT_TRUE(deviceEvents.empty());
}

TEST_F(TestDriverFixture, LiveAttachNeedsARunningDomain) {
    auto ref = driver->config()->defineXml(domainXml("off"), 0);
    ASSERT_TRUE(ref);
    const std::string disk = "<disk type='file'><source file='/tmp/c.img'/><target dev='vdc'/></disk>";
    auto live = driver->devices()->attachDevice(*ref, disk, affect_flags::kLive);
    ASSERT_FALSE(live);
    EXPECT_EQ(live.error().code, ErrorCode::OperationInvalid);
    ASSERT_TRUE(driver->devices()->attachDevice(*ref, disk, affect_flags::kCurrent));  // = config when off
    EXPECT_NE(driver->config()->getXmlDesc(*ref, 0)->find("dev='vdc'"), std::string::npos);
}

// A flag that would change how a guest lives is refused, never accepted and ignored: with
// AUTODESTROY ignored the guest outlived the connection that asked it to end with it.
TEST_F(TestDriverFixture, StartFlagsThatWouldBeIgnoredAreRefused) {
    auto ref = driver->config()->defineXml(domainXml("flags"), 0);
    ASSERT_TRUE(ref);
    for (unsigned flag : {create_flags::kAutodestroy, create_flags::kBypassCache}) {
        auto started = driver->lifecycle()->create(*ref, flag);
        ASSERT_FALSE(started) << flag;
        EXPECT_EQ(started.error().code, ErrorCode::ArgumentUnsupported);
        auto transient = driver->lifecycle()->createXml(domainXml("t" + std::to_string(flag)), flag);
        ASSERT_FALSE(transient) << flag;
        EXPECT_FALSE(driver->lookup()->lookupByName("t" + std::to_string(flag)));
    }
    EXPECT_EQ(driver->queries()->getState(*ref)->state, DomainState::Shutoff);
    EXPECT_TRUE(driver->lifecycle()->create(*ref, create_flags::kPaused));
}
