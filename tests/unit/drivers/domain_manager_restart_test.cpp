// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainManager across a daemon restart: running guests are reconnected with their ids and
// states, vanished ones are marked shut off (daemon), transient ones survive, autostart runs.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <set>

#include "conf/domain_def.hpp"
#include "drivers/common/domain_manager.hpp"
#include "objects/store.hpp"

using namespace corral;
using namespace corral::drivers;
using objects::DomainState;

namespace {

/// Guests that outlive the manager, as real QEMU processes outlive corrald.
std::set<std::string> gRunning;
/// What the backend's check refuses: a newer version that no longer accepts a stored definition.
std::string gRefusedPart;

class SurvivingBackend final : public GuestBackend {
public:
    Result<void> checkDefinition(const conf::DomainDef&) override {
        if (!gRefusedPart.empty()) {
            return fail(ErrorCode::ConfigUnsupported, gRefusedPart + " is not supported");
        }
        return {};
    }
    Result<void> start(objects::DomainObj& dom, conf::DomainDef&, bool) override {
        gRunning.insert(dom.name());
        return {};
    }
    Result<void> destroy(objects::DomainObj& dom, bool) override {
        gRunning.erase(dom.name());
        return {};
    }
    Result<bool> shutdown(objects::DomainObj& dom, unsigned) override {
        gRunning.erase(dom.name());
        return true;
    }
    Result<void> reboot(objects::DomainObj&, unsigned) override { return {}; }
    Result<void> suspend(objects::DomainObj&) override { return {}; }
    Result<void> resume(objects::DomainObj&) override { return {}; }
    Result<bool> reconnect(objects::DomainObj& dom, conf::DomainDef&) override {
        return gRunning.count(dom.name()) != 0;
    }
    std::uint64_t cpuTimeNs(const objects::DomainObj&) override { return 0; }
    std::string osType(const conf::DomainDef&) override { return "hvm"; }
};

std::string xml(const std::string& name) {
    return "<domain type='qemu'><name>" + name + "</name><memory>1024</memory><os><type>hvm</type></os></domain>";
}

struct Fixture : ::testing::Test {
    void SetUp() override {
        gRunning.clear();
        gRefusedPart.clear();
        char tmpl[] = "/tmp/corral-restart-XXXXXX";
        dir = mkdtemp(tmpl);
    }
    void TearDown() override { std::filesystem::remove_all(dir); }
    std::unique_ptr<objects::Store> openStore() { return std::move(*objects::Store::open(dir + "/s.db")); }
    std::unique_ptr<DomainManager> manager(objects::Store* store) {
        return std::make_unique<DomainManager>(DomainManagerOptions{"qemu", store, nullptr, {}},
                                               std::make_unique<SurvivingBackend>());
    }
    std::string dir;
};

}  // namespace

TEST_F(Fixture, RunningGuestsAreReconnectedWithTheirIds) {
    int idA = -1;
    int idT = -1;
    {
        auto store = openStore();
        auto m = manager(store.get());
        auto a = m->defineXml(xml("a"), 0);
        ASSERT_TRUE(a);
        ASSERT_TRUE(m->defineXml(xml("off"), 0));
        idA = m->create(*a, 0)->id;
        ASSERT_TRUE(m->suspend(*a));
        idT = m->createXml(xml("transient"), 0)->id;
        // The daemon dies here: no shutdown of anything.
    }
    auto store = openStore();
    auto m = manager(store.get());
    ASSERT_TRUE(m->loadFromStore());
    auto a = m->lookupByName("a");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->id, idA);
    EXPECT_EQ(m->getState(*a)->state, DomainState::Paused);
    EXPECT_TRUE(*m->isPersistent(*a));
    auto t = m->lookupByName("transient");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->id, idT);
    EXPECT_FALSE(*m->isPersistent(*t));
    EXPECT_EQ(m->lookupByName("off")->id, -1);
    // New ids continue after the reconnected ones.
    auto off = m->lookupByName("off");
    auto started = m->create(*off, 0);
    ASSERT_TRUE(started);
    EXPECT_GT(started->id, std::max(idA, idT));
    // Stopping a reconnected persistent guest brings back its persistent definition.
    ASSERT_TRUE(m->destroy(*a, 0));
    EXPECT_EQ(m->lookupByName("a")->id, -1);
}

TEST_F(Fixture, VanishedGuestsAreShutOffByDaemon) {
    {
        auto store = openStore();
        auto m = manager(store.get());
        auto a = m->defineXml(xml("a"), 0);
        ASSERT_TRUE(m->create(*a, 0));
        ASSERT_TRUE(m->createXml(xml("transient"), 0));
    }
    gRunning.clear();  // both guests died while the daemon was down
    auto store = openStore();
    auto m = manager(store.get());
    ASSERT_TRUE(m->loadFromStore());
    auto a = m->lookupByName("a");
    ASSERT_TRUE(a);
    auto st = m->getState(*a);
    EXPECT_EQ(st->state, DomainState::Shutoff);
    EXPECT_EQ(st->reason, static_cast<int>(objects::ShutoffReason::Daemon));
    EXPECT_FALSE(m->lookupByName("transient"));
    EXPECT_TRUE(store->loadStatuses("qemu")->empty());
}

TEST_F(Fixture, AutostartStartsMarkedDomains) {
    {
        auto store = openStore();
        auto m = manager(store.get());
        auto a = m->defineXml(xml("auto"), 0);
        ASSERT_TRUE(m->setAutostart(*a, true));
        ASSERT_TRUE(m->defineXml(xml("manual"), 0));
    }
    auto store = openStore();
    auto m = manager(store.get());
    ASSERT_TRUE(m->loadFromStore());
    m->autostartAll();
    EXPECT_GE(m->lookupByName("auto")->id, 1);
    EXPECT_EQ(m->lookupByName("manual")->id, -1);
}

TEST_F(Fixture, ANameRefusedTodayStillLoadsAndCanBeUndefined) {
    // An older daemon accepted a newline in a name; that definition must not be lost or stuck.
    const std::string oldName = "old\nname";
    const Uuid uuid = Uuid::generate();
    {
        auto store = openStore();
        const std::string stored = "<domain type='qemu'><name>old&#10;name</name><uuid>" + uuid.toString() +
                                   "</uuid><memory>1024</memory><os><type>hvm</type></os></domain>";
        ASSERT_TRUE(store->putDefinition("qemu", uuid, oldName, stored));
        auto m = manager(store.get());
        auto refused = m->defineXml(xml("new&#10;name"), 0);
        ASSERT_FALSE(refused);
        EXPECT_EQ(refused.error().message, "invalid char in name: \\n");
        ASSERT_FALSE(m->createXml(xml("new&#10;name"), 0));
    }
    auto store = openStore();
    auto m = manager(store.get());
    ASSERT_TRUE(m->loadFromStore());
    auto listed = m->listAll(0);
    ASSERT_TRUE(listed);
    ASSERT_EQ(listed->size(), 1u);
    EXPECT_EQ((*listed)[0].name, oldName);
    auto old = m->lookupByName(oldName);
    ASSERT_TRUE(old);
    ASSERT_TRUE(m->undefine(*old, 0));
    EXPECT_FALSE(m->lookupByName(oldName));
    EXPECT_TRUE(store->loadDefinitions("qemu")->empty());
}

TEST_F(Fixture, AStoredDefinitionThisVersionRefusesIsListedButNeverStartsWithoutWhatItAsks) {
    {
        auto store = openStore();
        auto m = manager(store.get());
        ASSERT_TRUE(m->defineXml(xml("old"), 0));
    }
    gRefusedPart = "<interface><filterref>";  // accepted by the version that stored it
    auto store = openStore();
    auto m = manager(store.get());
    ASSERT_TRUE(m->loadFromStore());
    auto old = m->lookupByName("old");
    ASSERT_TRUE(old) << "a stored definition must stay visible, so the administrator can fix or remove it";
    auto started = m->create(*old, 0);
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error().code, ErrorCode::ConfigUnsupported);
    EXPECT_NE(started.error().message.find("<interface><filterref>"), std::string::npos) << started.error().message;
    EXPECT_EQ(gRunning.count("old"), 0u);
    EXPECT_EQ(m->getState(*old)->state, DomainState::Shutoff);
    EXPECT_TRUE(m->undefine(*old, 0));
}
