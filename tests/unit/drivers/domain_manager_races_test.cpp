// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainManager's job rules with a start held in flight: a backend whose start waits at a gate
// the test opens only once the second call is queued behind the start's job (or has returned
// without waiting, as undefine and define did). Whatever the second call, afterwards the guests
// the backend runs are exactly the domains the registry lists as running. Deterministic: the
// order comes from the gate and the job's waiter count, never from time.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "conf/domain_def.hpp"
#include "drivers/common/domain_manager.hpp"

using namespace corral;
using namespace corral::drivers;

namespace {

/// Guests that exist as names in a set; a start waits at the gate while `holdStarts` is set.
class GatedBackend final : public GuestBackend {
public:
    bool holdStarts = false;
    bool failStarts = false;

    Result<void> checkDefinition(const conf::DomainDef&) override { return {}; }
    Result<void> start(objects::DomainObj& dom, conf::DomainDef&, bool) override {
        gate();
        if (failStarts) {
            return fail(ErrorCode::OperationFailed, "the guest would not start");
        }
        std::lock_guard lock(mutex_);
        running_.insert(dom.name());
        return {};
    }
    Result<void> startFromState(objects::DomainObj& dom, conf::DomainDef& liveDef, int) override {
        return start(dom, liveDef, true);
    }
    Result<void> saveState(objects::DomainObj&, int fd) override {
        return ::write(fd, "state\n", 6) == 6 ? Result<void>() : fail(ErrorCode::OperationFailed, "short write");
    }
    Result<void> destroy(objects::DomainObj& dom, bool) override {
        std::lock_guard lock(mutex_);
        running_.erase(dom.name());
        return {};
    }
    Result<bool> shutdown(objects::DomainObj& dom, unsigned) override {
        std::lock_guard lock(mutex_);
        running_.erase(dom.name());
        return true;
    }
    Result<void> reboot(objects::DomainObj&, unsigned) override { return {}; }
    Result<void> suspend(objects::DomainObj&) override { return {}; }
    Result<void> resume(objects::DomainObj&) override { return {}; }
    Result<bool> reconnect(objects::DomainObj&, conf::DomainDef&) override { return false; }
    std::uint64_t cpuTimeNs(const objects::DomainObj&) override { return 0; }
    std::string osType(const conf::DomainDef&) override { return "hvm"; }

    std::set<std::string> running() {
        std::lock_guard lock(mutex_);
        return running_;
    }
    void waitUntilAStartIsHeld() {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [this] { return held_ > 0; });
    }
    void openGate() {
        std::lock_guard lock(mutex_);
        holdStarts = false;
        changed_.notify_all();
    }

private:
    void gate() {
        std::unique_lock lock(mutex_);
        ++held_;
        changed_.notify_all();
        changed_.wait(lock, [this] { return !holdStarts; });
        --held_;
    }
    std::mutex mutex_;
    std::condition_variable changed_;
    std::set<std::string> running_;
    int held_ = 0;
};

Result<void> withoutValue(Result<DomainRef> r) {
    if (!r) {
        return unexpected(std::move(r).error());
    }
    return {};
}

/// With a start of "web" held at the gate (`starter` runs it), runs `second` in a thread and
/// opens the gate once `second` waits for the domain's job, or has returned without waiting;
/// then both have ended.
void raceWithHeldStart(GatedBackend& backend, DomainManager& manager, std::thread starter,
                       const std::function<void()>& second) {
    backend.waitUntilAStartIsHeld();
    const objects::DomainObjPtr held = manager.domains().findByName("web");
    std::atomic<bool> returned{false};
    std::thread other([&] {
        second();
        returned = true;
    });
    while (!returned && (!held || held->callsWaitingForJob() == 0)) {
        std::this_thread::yield();
    }
    backend.openGate();
    starter.join();
    other.join();
}

constexpr const char* kUuid = "0b6c2f8e-35f4-4d8e-9a57-0f3c8c6e1d21";

std::string xml(const std::string& name, unsigned memoryKiB = 1024) {
    return "<domain type='qemu'><name>" + name + "</name><uuid>" + kUuid + "</uuid><memory>" +
           std::to_string(memoryKiB) + "</memory><os><type>hvm</type></os></domain>";
}

struct StartInFlight : ::testing::TestWithParam<const char*> {
    void SetUp() override {
        char tmpl[] = "/tmp/corral-races-XXXXXX";
        dir = mkdtemp(tmpl);
        auto owned = std::make_unique<GatedBackend>();
        backend = owned.get();
        manager = std::make_unique<DomainManager>(DomainManagerOptions{"qemu", nullptr, nullptr, dir + "/save"},
                                                  std::move(owned));
    }
    void TearDown() override { std::filesystem::remove_all(dir); }

    /// The second call, by name.
    Result<void> call(const std::string& what, const DomainRef& dom) {
        if (what == "undefine") {
            return manager->undefine(dom, 0);
        }
        if (what == "define") {
            return withoutValue(manager->defineXml(xml("web", 2048), 0));
        }
        if (what == "destroy") {
            return manager->destroy(dom, 0);
        }
        if (what == "shutdown") {
            return manager->shutdown(dom, 0);
        }
        if (what == "save") {
            return manager->save(dom, dir + "/second.save", {}, 0);
        }
        if (what == "start") {
            return withoutValue(manager->create(dom, 0));
        }
        if (what == "create") {
            return withoutValue(manager->createXml(xml("web"), 0));
        }
        return manager->restore(image, {}, 0);  // "restore"
    }

    std::set<std::string> listedRunning() {
        std::set<std::string> names;
        auto listed = manager->listAll(list_flags::kActive);
        for (const auto& d : *listed) {
            names.insert(d.name);
        }
        return names;
    }

    std::string dir;
    std::string image;
    GatedBackend* backend = nullptr;
    std::unique_ptr<DomainManager> manager;
};

}  // namespace

TEST_P(StartInFlight, NoGuestRunsThatTheRegistryDoesNotList) {
    const std::string second = GetParam();
    auto dom = *manager->defineXml(xml("web"), 0);
    // An image of this domain for the restore to start from.
    ASSERT_TRUE(manager->create(dom, 0));
    image = dir + "/web.save";
    ASSERT_TRUE(manager->save(dom, image, {}, 0));

    backend->holdStarts = true;
    Result<DomainRef> started = fail(ErrorCode::InternalError, "not run");
    Result<void> result;
    raceWithHeldStart(*backend, *manager, std::thread([&] { started = manager->create(dom, 0); }),
                      [&] { result = call(second, dom); });

    ASSERT_TRUE(started) << started.error().message;
    EXPECT_EQ(backend->running(), listedRunning()) << "after start + " << second << ": "
                                                   << (result ? "ok" : result.error().message);
    if (second == "undefine") {
        // The guest runs on, as a transient domain that can still be destroyed.
        ASSERT_TRUE(result) << result.error().message;
        ASSERT_EQ(listedRunning(), std::set<std::string>{"web"});
        EXPECT_FALSE(*manager->isPersistent(dom));
        ASSERT_TRUE(manager->destroy(dom, 0));
        EXPECT_TRUE(backend->running().empty());
        EXPECT_FALSE(manager->lookupByName("web"));
    } else if (second == "define") {
        // The new definition waits for the next start; the running guest keeps its own.
        ASSERT_TRUE(result) << result.error().message;
        EXPECT_TRUE(*manager->isPersistent(dom));
        EXPECT_EQ(*manager->getMaxMemory(dom), 1024u);
        ASSERT_TRUE(manager->destroy(dom, 0));
        EXPECT_EQ(*manager->getMaxMemory(dom), 2048u);
    } else if (second == "destroy" || second == "save") {
        ASSERT_TRUE(result) << result.error().message;  // it waited, then stopped the started guest
        EXPECT_TRUE(backend->running().empty());
    } else if (second == "start" || second == "create" || second == "restore") {
        ASSERT_FALSE(result);
        EXPECT_NE(result.error().message.find("already"), std::string::npos) << result.error().message;
    }
}

INSTANTIATE_TEST_SUITE_P(EveryLifecycleCall, StartInFlight,
                         ::testing::Values("undefine", "define", "destroy", "shutdown", "save", "start", "create",
                                           "restore"));

/// createXml of a new domain held at the gate, a define of the same name and UUID (with more
/// memory) issued while it is: the define waits for the start's job, whatever the start's end.
struct TransientStartInFlight : ::testing::TestWithParam<bool /* the start fails */> {};

TEST_P(TransientStartInFlight, ADefineOfTheSameDomainWaitsAndItsDefinitionStays) {
    char tmpl[] = "/tmp/corral-races-XXXXXX";
    const std::string dir = mkdtemp(tmpl);
    auto owned = std::make_unique<GatedBackend>();
    GatedBackend* backend = owned.get();
    DomainManager manager(DomainManagerOptions{"qemu", nullptr, nullptr, dir + "/save"}, std::move(owned));
    backend->holdStarts = true;
    backend->failStarts = GetParam();
    Result<DomainRef> created = fail(ErrorCode::InternalError, "not run");
    Result<DomainRef> defined = fail(ErrorCode::InternalError, "not run");
    raceWithHeldStart(*backend, manager, std::thread([&] { created = manager.createXml(xml("web"), 0); }),
                      [&] { defined = manager.defineXml(xml("web", 2048), 0); });
    ASSERT_TRUE(defined) << defined.error().message;
    EXPECT_EQ(static_cast<bool>(created), !GetParam());
    EXPECT_EQ(backend->running().size(), GetParam() ? 0u : 1u);
    if (!GetParam()) {
        EXPECT_TRUE(*manager.isActive(*defined));
        ASSERT_TRUE(manager.destroy(*defined, 0));
    }
    // Defined: it stays, with the definition the define gave, not the one createXml ran.
    auto ref = manager.lookupByName("web");
    ASSERT_TRUE(ref) << "the defined domain is gone";
    EXPECT_TRUE(*manager.isPersistent(*ref));
    EXPECT_EQ(*manager.getMaxMemory(*ref), 2048u);
    std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(StartSucceedsOrFails, TransientStartInFlight, ::testing::Values(false, true));
