// SPDX-License-Identifier: LGPL-2.1-or-later
// Cgroup::killAll on this host's real cgroups: every task of a group and of the groups below it
// dies, a task that keeps forking included, and the group can then be removed. Run once on the
// host's layout (v1 controllers here: freeze, kill, thaw) and once on its cgroup2 mount
// (cgroup.kill).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "host/cgroup.hpp"
#include "util/files.hpp"

namespace corral::host {
namespace {

/// A child that waits until killed.
pid_t spawnSleeper() {
    pid_t pid = ::fork();
    if (pid == 0) {
        ::pause();
        ::_exit(0);
    }
    return pid;
}

/// A child that joins `group` itself and only then keeps forking children that wait until
/// killed, as a guest's QEMU might while the daemon stops it. It is in the group before its
/// first fork, so the group's pids.max bounds it; only it forks.
pid_t spawnForker(const Cgroup& group) {
    const std::vector<std::string> files = group.procsFiles();
    pid_t pid = ::fork();
    if (pid == 0) {
        for (const auto& file : files) {
            if (!writeKernelFile(file, "0")) {
                ::_exit(1);
            }
        }
        while (true) {
            pid_t child = ::fork();
            if (child == 0) {
                ::pause();
                ::_exit(0);
            }
            if (child < 0) {
                ::usleep(1000);  // at the group's pids.max: try again
            }
        }
    }
    return pid;
}

bool gone(pid_t pid) {
    // Our children are reaped here; their children are the host's init's, which reaps them
    // (or leaves a zombie, which runs nothing).
    if (::waitpid(pid, nullptr, WNOHANG) == pid) {
        return true;
    }
    auto status = readTextFile("/proc/" + std::to_string(pid) + "/stat");
    return !status || status->find(") Z ") != std::string::npos;
}

class KillAll : public ::testing::TestWithParam<bool /* cgroup2 mount */> {
protected:
    void SetUp() override {
        auto host = hostCgroupLayout();
        if (::geteuid() != 0 || !host) {
            GTEST_SKIP() << "needs root and cgroups";
        }
        if (GetParam()) {
            layout_.v2 = true;
            layout_.unifiedMount = host->v2 ? host->unifiedMount : "/sys/fs/cgroup/unified";
            if (!std::filesystem::exists(layout_.unifiedMount + "/cgroup.kill") &&
                !std::filesystem::exists(layout_.unifiedMount + "/cgroup.procs")) {
                GTEST_SKIP() << "no cgroup2 mount";
            }
            if (host->v2) {
                layout_.v2Controllers = host->v2Controllers;
            }
        } else {
            if (host->v2) {
                GTEST_SKIP() << "no v1 controllers on this host (the v2 case covers it)";
            }
            layout_ = *host;
        }
        top_ = "corral-unit-kill-" + std::to_string(::getpid());
    }
    void TearDown() override {
        if (!top_.empty()) {
            (void)Cgroup(layout_, top_).killAll();
            (void)Cgroup(layout_, top_).remove();
        }
    }
    CgroupLayout layout_;
    std::string top_;
};

TEST_P(KillAll, EveryTaskOfTheGroupAndItsChildrenDiesAndTheGroupGoes) {
    auto guest = Cgroup::create(layout_, top_ + "/qemu/g");
    ASSERT_TRUE(guest) << guest.error().message;
    auto emulator = Cgroup::create(layout_, top_ + "/qemu/g/emulator");
    ASSERT_TRUE(emulator) << emulator.error().message;
    const pid_t main = spawnSleeper();
    const pid_t forked = spawnSleeper();
    ASSERT_TRUE(emulator->addProcess(main));
    ASSERT_TRUE(guest->addProcess(forked));
    EXPECT_EQ(guest->tasks().size(), 2u);
    // What only removal did before: refused while a task is left.
    EXPECT_FALSE(guest->remove());

    auto killed = guest->killAll();
    ASSERT_TRUE(killed) << killed.error().message;
    EXPECT_TRUE(guest->tasks().empty());
    EXPECT_TRUE(gone(main));
    EXPECT_TRUE(gone(forked));
    auto removed = guest->remove();
    EXPECT_TRUE(removed) << removed.error().message;
    EXPECT_FALSE(std::filesystem::exists(layout_.mountOf(CgroupController::Cpu) + "/" + top_ + "/qemu/g"));
}

TEST_P(KillAll, ATaskThatKeepsForkingDiesWithAllItsChildren) {
    auto guest = Cgroup::create(layout_, top_ + "/lxc/forky");
    ASSERT_TRUE(guest) << guest.error().message;
    if (layout_.has(CgroupController::Pids)) {
        ASSERT_TRUE(guest->setPidsMax(32));  // a bounded fork bomb on a shared machine
    } else {
        GTEST_SKIP() << "no pids controller to bound the forking";
    }
    const pid_t forker = spawnForker(*guest);
    // Its children are born in the group; wait until it has some.
    for (int i = 0; i < 5000 && guest->tasks().size() < 4; ++i) {
        ::usleep(1000);
    }
    ASSERT_GE(guest->tasks().size(), 4u);

    auto killed = guest->killAll();
    ASSERT_TRUE(killed) << killed.error().message;
    EXPECT_TRUE(guest->tasks().empty());
    EXPECT_TRUE(gone(forker));
    EXPECT_TRUE(guest->remove());
}

TEST_P(KillAll, AMissingGroupHoldsNothing) {
    Cgroup missing(layout_, top_ + "/qemu/never-made");
    EXPECT_TRUE(missing.tasks().empty());
    EXPECT_TRUE(missing.killAll());
}

INSTANTIATE_TEST_SUITE_P(Host, KillAll, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                             return p.param ? std::string("Cgroup2Mount") : std::string("HostLayout");
                         });

}  // namespace
}  // namespace corral::host
