// SPDX-License-Identifier: LGPL-2.1-or-later
// Cgroup::setFrozen on this host's real cgroup2 mount: it returns once the kernel says every task
// has stopped (cgroup.events "frozen 1"), not when cgroup.freeze is written, and a freeze that
// cannot finish is undone and reported. A task stops for the v2 freezer only when it next runs;
// one held in the v1 freezer's refrigerator does not run, so a host that binds its controllers
// to v1 beside a cgroup2 mount (this project's CI machine) can hold a task from stopping and let
// it go when the test says. (A pure v2 host is covered end to end: test_cgroup_v2.py freezes a
// container whose tasks are throttled by their CPU quota.)
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "host/cgroup.hpp"
#include "util/files.hpp"
#include "util/strings.hpp"

namespace corral::host {
namespace {

/// Children that join every group given (writing "0" into each procs file) and then run.
std::vector<pid_t> spawnSpinners(int count, const std::vector<std::string>& procsFiles) {
    std::vector<pid_t> pids;
    for (int i = 0; i < count; ++i) {
        pid_t pid = ::fork();
        if (pid == 0) {
            for (const auto& file : procsFiles) {
                if (!writeKernelFile(file, "0")) {
                    ::_exit(1);
                }
            }
            while (true) {
                ::sched_yield();  // a system call apart, the loop only burns CPU
            }
        }
        pids.push_back(pid);
    }
    return pids;
}

void killAndReap(const std::vector<pid_t>& pids) {
    for (pid_t pid : pids) {
        ::kill(pid, SIGKILL);
    }
    for (pid_t pid : pids) {
        ::waitpid(pid, nullptr, 0);
    }
}

/// Polls `predicate` for up to `ceiling` (a ceiling for a loaded machine, not an expectation).
template <typename Predicate>
bool waitFor(Predicate predicate, std::chrono::milliseconds ceiling = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + ceiling;
    while (!predicate()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    return true;
}

class Freeze : public ::testing::Test {
protected:
    void SetUp() override {
        auto host = hostCgroupLayout();
        if (::geteuid() != 0 || !host) {
            GTEST_SKIP() << "needs root and cgroups";
        }
        if (host->v2 || !host->has(CgroupController::Freezer) || host->unifiedMount.empty()) {
            GTEST_SKIP() << "needs the v1 freezer beside a cgroup2 mount";
        }
        host_ = *host;
        v2_.v2 = true;
        v2_.unifiedMount = host->unifiedMount;
        top_ = "corral-unit-freeze-" + std::to_string(::getpid());
        auto group = Cgroup::create(v2_, top_ + "/g");
        ASSERT_TRUE(group) << group.error().message;
        group_ = *group;
        auto held = Cgroup::create(host_, top_ + "/held");
        ASSERT_TRUE(held) << held.error().message;
        held_ = *held;
        // One task in both: the v2 group under test and the v1 freezer group that holds it.
        children_ =
            spawnSpinners(1, {group_.procsFiles().front(),
                              held_.directory(CgroupController::Freezer) + "/cgroup.procs"});
        ASSERT_TRUE(waitFor([&] { return !group_.tasks().empty() && !held_.tasks().empty(); }));
        ASSERT_TRUE(held_.setFrozen(true));
    }
    void TearDown() override {
        if (top_.empty()) {
            return;
        }
        (void)held_.setFrozen(false);  // a task in the refrigerator cannot act on SIGKILL
        killAndReap(children_);
        (void)Cgroup(v2_, top_).remove();
        (void)Cgroup(host_, top_).remove();
    }
    std::string eventsOf(const Cgroup& group) {
        auto text = readTextFile(v2_.unifiedMount + "/" + group.path() + "/cgroup.events");
        return text ? *text : std::string();
    }
    bool freezeAsked() {
        auto asked = group_.frozen();
        return asked && *asked;
    }

    CgroupLayout host_, v2_;
    std::string top_;
    Cgroup group_, held_;
    std::vector<pid_t> children_;
};

TEST_F(Freeze, AV2FreezeReturnsOnlyOnceEveryTaskHasStopped) {
    Result<void> frozen;
    std::string eventsAtReturn;
    std::thread freezer([&] {
        frozen = group_.setFrozen(true);
        eventsAtReturn = eventsOf(group_);
    });
    // The freeze is asked while the task cannot stop; it is let go only then.
    EXPECT_TRUE(waitFor([&] { return freezeAsked(); }));
    ASSERT_TRUE(held_.setFrozen(false));
    freezer.join();
    ASSERT_TRUE(frozen) << frozen.error().message;
    EXPECT_NE(eventsAtReturn.find("frozen 1\n"), std::string::npos) << eventsAtReturn;

    ASSERT_TRUE(group_.setFrozen(false));
    EXPECT_NE(eventsOf(group_).find("frozen 0\n"), std::string::npos);
}

TEST_F(Freeze, AFreezeThatCannotFinishIsUndoneAndReported) {
    auto frozen = group_.setFrozen(true, std::chrono::milliseconds(300));
    ASSERT_FALSE(frozen);
    EXPECT_EQ(frozen.error().code, ErrorCode::OperationTimeout);
    EXPECT_NE(frozen.error().message.find("'" + group_.path() + "' did not all stop within 300 ms"),
              std::string::npos)
        << frozen.error().message;
    // Undone: neither asked nor half done.
    EXPECT_FALSE(freezeAsked());
    EXPECT_NE(eventsOf(group_).find("frozen 0\n"), std::string::npos);
}

}  // namespace
}  // namespace corral::host
