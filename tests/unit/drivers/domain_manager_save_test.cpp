// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainManager's save and restore with a backend whose "guest state" is a line of text: the
// image format, states and events, managed save at start, and the refusals that keep a guest
// from being lost or restored onto the wrong definition.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "conf/domain_def.hpp"
#include "drivers/common/domain_manager.hpp"

using namespace corral;
using namespace corral::drivers;
using objects::DomainState;

namespace {

/// A guest whose whole state is a counter; saving writes it, restoring reads it back.
class CountingBackend final : public GuestBackend {
public:
    std::map<std::string, int> running;  // name -> counter
    bool failSave = false;

    Result<void> checkDefinition(const conf::DomainDef&) override { return {}; }
    Result<void> start(objects::DomainObj& dom, conf::DomainDef&, bool) override {
        running[dom.name()] = 0;
        return {};
    }
    Result<void> destroy(objects::DomainObj& dom, bool) override {
        running.erase(dom.name());
        return {};
    }
    Result<bool> shutdown(objects::DomainObj& dom, unsigned) override {
        running.erase(dom.name());
        return true;
    }
    Result<void> reboot(objects::DomainObj&, unsigned) override { return {}; }
    Result<void> suspend(objects::DomainObj&) override { return {}; }
    Result<void> resume(objects::DomainObj&) override { return {}; }
    Result<void> saveState(objects::DomainObj& dom, int fd) override {
        if (failSave) {
            return fail(ErrorCode::OperationFailed, "No space left on device");
        }
        std::string state = "counter=" + std::to_string(running.at(dom.name())) + "\n";
        if (::write(fd, state.data(), state.size()) != static_cast<ssize_t>(state.size())) {
            return fail(ErrorCode::OperationFailed, "short write");
        }
        return {};
    }
    Result<void> startFromState(objects::DomainObj& dom, conf::DomainDef&, int fd) override {
        char buf[64] = {};
        ssize_t n = ::read(fd, buf, sizeof buf - 1);
        int counter = -1;
        if (n <= 0 || std::sscanf(buf, "counter=%d", &counter) != 1) {
            return fail(ErrorCode::OperationFailed, "load of migration failed");
        }
        running[dom.name()] = counter;
        return {};
    }
    Result<bool> reconnect(objects::DomainObj&, conf::DomainDef&) override { return false; }
    std::uint64_t cpuTimeNs(const objects::DomainObj&) override { return 0; }
    std::string osType(const conf::DomainDef&) override { return "hvm"; }
};

std::string xml(const std::string& name, const std::string& uuid = "6c1e4cbb-9a4e-4f6e-8f0e-2f1c0d5a7b11",
                unsigned memoryKiB = 1024) {
    return "<domain type='qemu'><name>" + name + "</name><uuid>" + uuid + "</uuid><memory>" +
           std::to_string(memoryKiB) + "</memory><os><type>hvm</type></os></domain>";
}

struct SaveRestore : ::testing::Test {
    void SetUp() override {
        char tmpl[] = "/tmp/corral-save-XXXXXX";
        dir = mkdtemp(tmpl);
        auto owned = std::make_unique<CountingBackend>();
        backend = owned.get();
        DomainManagerOptions options{"qemu", nullptr, nullptr, dir + "/save"};
        manager = std::make_unique<DomainManager>(std::move(options), std::move(owned));
        manager->events().subscribe([this](const DomainEvent& e) {
            if (e.eventId == event_id::kLifecycle) {
                events.emplace_back(static_cast<int>(e.event), e.detail);
            } else if (e.eventId == event_id::kJobCompleted) {
                ++jobsCompleted;
            }
        });
    }
    void TearDown() override { std::filesystem::remove_all(dir); }
    objects::StateAndReason state(const DomainRef& d) { return *manager->getState(d); }

    std::string dir;
    int jobsCompleted = 0;
    CountingBackend* backend = nullptr;
    std::unique_ptr<DomainManager> manager;
    std::vector<std::pair<int, int>> events;
};

constexpr int kStarted = 2, kSuspended = 3, kStopped = 5;
constexpr int kStartedRestored = 2, kSuspendedRestored = 4, kStoppedSaved = 4;

}  // namespace

TEST_F(SaveRestore, SaveStopsTheGuestAndRestoreContinuesIt) {
    auto dom = *manager->defineXml(xml("g"), 0);
    ASSERT_TRUE(manager->create(dom, 0));
    backend->running["g"] = 41;
    const std::string image = dir + "/g.save";
    ASSERT_TRUE(manager->save(dom, image, {}, 0));
    EXPECT_EQ(state(dom).state, DomainState::Shutoff);
    EXPECT_EQ(state(dom).reason, static_cast<int>(objects::ShutoffReason::Saved));
    EXPECT_EQ(backend->running.count("g"), 0u);
    EXPECT_EQ(events.back(), std::make_pair(kStopped, kStoppedSaved));
    EXPECT_EQ(jobsCompleted, 1);  // the job-completed event of the save

    std::ifstream in(image, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.substr(0, 15), "CorralSaveImage");
    EXPECT_NE(bytes.find("<name>g</name>"), std::string::npos);
    EXPECT_TRUE(bytes.ends_with("counter=41\n"));

    ASSERT_TRUE(manager->restore(image, {}, 0));
    EXPECT_EQ(backend->running.at("g"), 41);
    EXPECT_EQ(state(dom).state, DomainState::Running);
    EXPECT_EQ(state(dom).reason, static_cast<int>(objects::RunningReason::Restored));
    EXPECT_EQ(events.back(), std::make_pair(kStarted, kStartedRestored));
}

TEST_F(SaveRestore, PausedFlagLeavesTheRestoredGuestPaused) {
    auto dom = *manager->defineXml(xml("p"), 0);
    ASSERT_TRUE(manager->create(dom, 0));
    ASSERT_TRUE(manager->save(dom, dir + "/p.save", {}, save_flags::kPaused));
    ASSERT_TRUE(manager->restore(dir + "/p.save", {}, 0));
    EXPECT_EQ(state(dom).state, DomainState::Paused);
    EXPECT_EQ(state(dom).reason, static_cast<int>(objects::PausedReason::Migration));
    EXPECT_EQ(events.back(), std::make_pair(kSuspended, kSuspendedRestored));
    EXPECT_FALSE(manager->save(dom, dir + "/x.save", {}, save_flags::kPaused | save_flags::kRunning));
}

TEST_F(SaveRestore, FailedSaveKeepsTheGuestAndLeavesNoImage) {
    auto dom = *manager->defineXml(xml("f"), 0);
    ASSERT_TRUE(manager->create(dom, 0));
    backend->failSave = true;
    auto saved = manager->save(dom, dir + "/f.save", {}, 0);
    ASSERT_FALSE(saved);
    EXPECT_NE(saved.error().wireMessage().find("No space left on device"), std::string::npos);
    EXPECT_EQ(state(dom).state, DomainState::Running);
    EXPECT_FALSE(std::filesystem::exists(dir + "/f.save"));
    EXPECT_FALSE(manager->save(dom, "relative.save", {}, 0)) << "a relative path is refused";
}

TEST_F(SaveRestore, RestoreRefusesAnotherGuestOrAnotherMachine) {
    auto dom = *manager->defineXml(xml("r"), 0);
    ASSERT_TRUE(manager->create(dom, 0));
    ASSERT_TRUE(manager->save(dom, dir + "/r.save", {}, 0));
    // A replacement definition may not change the machine.
    auto bigger = manager->restore(dir + "/r.save", xml("r", "6c1e4cbb-9a4e-4f6e-8f0e-2f1c0d5a7b11", 2048), 0);
    ASSERT_FALSE(bigger);
    EXPECT_NE(bigger.error().wireMessage().find("<memory>"), std::string::npos);
    // Another domain of the same name is not this guest.
    ASSERT_TRUE(manager->undefine(dom, 0));
    auto other = *manager->defineXml(xml("r", "0f0e0d0c-0b0a-0908-0706-050403020100"), 0);
    ASSERT_FALSE(manager->restore(dir + "/r.save", {}, 0));
    EXPECT_EQ(state(other).state, DomainState::Shutoff);
    EXPECT_EQ(backend->running.count("r"), 0u);
}

TEST_F(SaveRestore, ManagedSaveResumesAtStartAndGuardsUndefine) {
    auto dom = *manager->defineXml(xml("m"), 0);
    ASSERT_TRUE(manager->create(dom, 0));
    backend->running["m"] = 7;
    ASSERT_TRUE(manager->managedSave(dom, 0));
    EXPECT_TRUE(*manager->hasManagedSaveImage(dom));
    auto refused = manager->undefine(dom, 0);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().wireMessage().find("managed save image exists"), std::string::npos);

    ASSERT_TRUE(manager->create(dom, 0));
    EXPECT_EQ(backend->running.at("m"), 7);
    EXPECT_EQ(state(dom).reason, static_cast<int>(objects::RunningReason::Restored));
    EXPECT_FALSE(*manager->hasManagedSaveImage(dom));
    EXPECT_FALSE(std::filesystem::exists(dir + "/save/m.save"));

    ASSERT_TRUE(manager->managedSave(dom, 0));
    ASSERT_TRUE(manager->create(dom, create_flags::kForceBoot));
    EXPECT_EQ(backend->running.at("m"), 0) << "--force-boot boots afresh";
    EXPECT_FALSE(*manager->hasManagedSaveImage(dom));
    ASSERT_TRUE(manager->destroy(dom, 0));
    EXPECT_FALSE(manager->managedSave(dom, 0)) << "a shut-off guest has no state to save";
}

TEST_F(SaveRestore, ManagedSaveOfATransientGuestIsRefused) {
    auto dom = *manager->createXml(xml("t"), 0);
    auto r = manager->managedSave(dom, 0);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().wireMessage().find("transient"), std::string::npos);
}
