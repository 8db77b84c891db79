// SPDX-License-Identifier: LGPL-2.1-or-later
// Cgroup layout detection from mountinfo text, and the v2 file mapping checked on a directory
// tree shaped like a cgroup2 mount (the CI machine's controllers are all on v1).
#include "host/cgroup.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "util/files.hpp"

namespace corral::host {
namespace {

// This project's CI machine: every controller on v1, an empty cgroup2 beside them.
constexpr const char* kHybrid =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

constexpr const char* kPureV2 =
    "25 23 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";

TEST(CgroupLayout, HybridHostUsesTheV1Controllers) {
    auto layout = parseCgroupLayout(kHybrid, "");
    ASSERT_TRUE(layout);
    EXPECT_FALSE(layout->v2);
    EXPECT_TRUE(layout->has(CgroupController::Cpu));
    EXPECT_TRUE(layout->has(CgroupController::Memory));
    EXPECT_FALSE(layout->has(CgroupController::Pids));
    EXPECT_EQ(layout->mountOf(CgroupController::Blkio), "/sys/fs/cgroup/blkio");
}

TEST(CgroupLayout, AChildJoinsThroughTasksOnV1AndCgroupProcsOnV2) {
    // v1's tasks file moves only the writing thread, which spares the kernel's global
    // threadgroup lock (and its RCU grace period) on every start.
    auto hybrid = parseCgroupLayout(kHybrid, "");
    ASSERT_TRUE(hybrid);
    Cgroup v1(*hybrid, "corral/lxc/web");
    EXPECT_EQ(v1.selfJoinFiles(),
              (std::vector<std::string>{"/sys/fs/cgroup/cpu/corral/lxc/web/tasks", "/sys/fs/cgroup/cpuacct/corral/lxc/web/tasks",
                                        "/sys/fs/cgroup/memory/corral/lxc/web/tasks", "/sys/fs/cgroup/blkio/corral/lxc/web/tasks"}));
    EXPECT_EQ(v1.procsFiles().front(), "/sys/fs/cgroup/cpu/corral/lxc/web/cgroup.procs");
    auto pure = parseCgroupLayout(kPureV2, "cpu memory\n");
    ASSERT_TRUE(pure);
    EXPECT_EQ(Cgroup(*pure, "corral/lxc/web").selfJoinFiles(),
              std::vector<std::string>{"/sys/fs/cgroup/corral/lxc/web/cgroup.procs"});
}

TEST(CgroupLayout, PureV2HostUsesTheUnifiedMountAndItsControllers) {
    auto layout = parseCgroupLayout(kPureV2, "cpuset cpu io memory pids\n");
    ASSERT_TRUE(layout);
    EXPECT_TRUE(layout->v2);
    EXPECT_EQ(layout->mountOf(CgroupController::Memory), "/sys/fs/cgroup");
    EXPECT_TRUE(layout->has(CgroupController::Blkio));    // "io"
    EXPECT_TRUE(layout->has(CgroupController::Cpuacct));  // cpu.stat
    EXPECT_TRUE(layout->has(CgroupController::Freezer));  // cgroup.freeze
    EXPECT_FALSE(layout->has(CgroupController::Devices));
}

TEST(CgroupLayout, NoCgroupMountIsAnError) {
    auto layout = parseCgroupLayout("22 1 0:5 / /proc rw - proc proc rw\n", "");
    ASSERT_FALSE(layout);
    EXPECT_NE(layout.error().message.find("no cgroup file system"), std::string::npos);
}

class FakeV2Tree : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/corral-cgv2-XXXXXX";
        root_ = mkdtemp(tmpl);
        layout_.v2 = true;
        layout_.unifiedMount = root_;
        layout_.v2Controllers = {CgroupController::Cpu, CgroupController::Memory, CgroupController::Blkio,
                                 CgroupController::Pids, CgroupController::Cpuset};
    }
    void TearDown() override { std::filesystem::remove_all(root_); }
    /// The kernel creates a group's files; here the test does, empty.
    void files(const Cgroup& g, std::initializer_list<const char*> names) {
        for (const char* n : names) {
            std::ofstream(g.directory(CgroupController::Cpu) + "/" + n);
        }
    }
    /// What the last write left (the kernel replaces a knob's value; a plain file would keep
    /// the longer old text, so reading empties it for the next write).
    std::string content(const Cgroup& g, const char* name) {
        std::string path = g.directory(CgroupController::Cpu) + "/" + name;
        std::string text = readTextFile(path).value();
        std::ofstream(path, std::ios::trunc);
        return text;
    }
    std::string root_;
    CgroupLayout layout_;
};

TEST_F(FakeV2Tree, SettingsGoToTheV2Files) {
    auto g = Cgroup::create(layout_, "corral/qemu/web1");
    ASSERT_TRUE(g) << g.error().message;
    EXPECT_TRUE(std::filesystem::is_directory(root_ + "/corral/qemu/web1"));
    files(*g, {"cpu.weight", "cpu.max", "memory.max", "memory.high", "memory.swap.max", "io.max", "pids.max"});
    ASSERT_TRUE(g->setCpuShares(512));
    EXPECT_EQ(content(*g, "cpu.weight"), "512");
    ASSERT_TRUE(g->setCpuBandwidth(100000, 50000));
    EXPECT_EQ(content(*g, "cpu.max"), "50000 100000");
    ASSERT_TRUE(g->setCpuBandwidth(20000, -1));
    EXPECT_EQ(content(*g, "cpu.max"), "max 20000");
    ASSERT_TRUE(g->setMemoryHardLimit(1024));
    EXPECT_EQ(content(*g, "memory.max"), "1048576");
    ASSERT_TRUE(g->setMemoryHardLimit(std::nullopt));
    EXPECT_EQ(content(*g, "memory.max"), "max");
    ASSERT_TRUE(g->setMemorySoftLimit(512));
    EXPECT_EQ(content(*g, "memory.high"), "524288");
    // libvirt's swap_hard_limit counts memory too; v2 limits swap alone.
    ASSERT_TRUE(g->setMemorySwapHardLimit(3072, 1024));
    EXPECT_EQ(content(*g, "memory.swap.max"), "2097152");
    ASSERT_TRUE(g->setBlkioThrottle({"8:0", 1000, 0, 0, 50}));
    EXPECT_EQ(content(*g, "io.max"), "8:0 rbps=1000 wbps=max riops=max wiops=50");
    ASSERT_TRUE(g->setPidsMax(64));
    EXPECT_EQ(content(*g, "pids.max"), "64");
    EXPECT_EQ(g->procsFiles(), std::vector<std::string>{root_ + "/corral/qemu/web1/cgroup.procs"});
}

TEST_F(FakeV2Tree, OutOfRangeValuesAreRefusedNamingThem) {
    auto g = Cgroup::create(layout_, "corral/qemu/web2");
    ASSERT_TRUE(g);
    auto shares = g->setCpuShares(20000);
    ASSERT_FALSE(shares);
    EXPECT_NE(shares.error().message.find("1 to 10000"), std::string::npos);
    EXPECT_FALSE(g->setCpuBandwidth(100, 5000));
    // No weight file (no BFQ): said plainly.
    auto weight = g->setBlkioWeight(500);
    ASSERT_FALSE(weight);
    EXPECT_NE(weight.error().message.find("not supported"), std::string::npos);
}

TEST_F(FakeV2Tree, CreateRemovesAnEmptyLeftoverAndRefusesABusyOne) {
    auto first = Cgroup::create(layout_, "corral/qemu/old");
    ASSERT_TRUE(first);
    std::ofstream(root_ + "/corral/qemu/old/cgroup.procs") << "";
    // A real cgroupfs removes its files with the directory; here the leftover's file goes first.
    std::filesystem::remove(root_ + "/corral/qemu/old/cgroup.procs");
    EXPECT_TRUE(Cgroup::create(layout_, "corral/qemu/old"));
    std::ofstream(root_ + "/corral/qemu/old/cgroup.procs") << "4242\n";
    auto busy = Cgroup::create(layout_, "corral/qemu/old");
    ASSERT_FALSE(busy);
    EXPECT_NE(busy.error().message.find("still holds processes (4242)"), std::string::npos);
}

TEST_F(FakeV2Tree, ADomainNamedDotDotGetsItsOwnGroupNotThePartition) {
    // Before escaping, "corral/qemu/.." was the partition: a guest's memory limit on every guest,
    // its removal taking the others' groups with it.
    auto bystander = Cgroup::create(layout_, "corral/qemu/web1");
    ASSERT_TRUE(bystander);
    for (const char* name : {"..", "."}) {
        const std::string path = guestGroupPath("corral/qemu", name);
        EXPECT_EQ(path.rfind("corral/qemu/", 0), 0u) << path;
        auto g = Cgroup::create(layout_, path);
        ASSERT_TRUE(g) << g.error().message;
        EXPECT_EQ(std::filesystem::path(g->directory(CgroupController::Memory)).parent_path(),
                  std::filesystem::path(root_ + "/corral/qemu"));
        ASSERT_TRUE(g->remove());
        EXPECT_TRUE(std::filesystem::is_directory(root_ + "/corral/qemu/web1")) << name;
    }
}

TEST_F(FakeV2Tree, PathsThatNameAnotherGroupAreRefusedAndNeverRemoved) {
    ASSERT_TRUE(Cgroup::create(layout_, "corral/qemu/web1"));
    for (const char* bad : {"corral/qemu/..", "corral/qemu/.", "corral//qemu", "", "/corral/qemu"}) {
        auto created = Cgroup::create(layout_, bad);
        ASSERT_FALSE(created) << bad;
        EXPECT_NE(created.error().message.find("'.' or '..' component"), std::string::npos);
        Cgroup adopted(layout_, bad);  // what a reconnect builds from a recorded name
        EXPECT_FALSE(adopted.valid()) << bad;
        EXPECT_TRUE(adopted.remove());
    }
    EXPECT_TRUE(std::filesystem::is_directory(root_ + "/corral/qemu/web1"));
}

TEST_F(FakeV2Tree, ARunningGuestOfAnOlderDaemonKeepsItsBareNamedGroup) {
    // Started by a daemon before escaping: found where it is, not recreated elsewhere.
    ASSERT_TRUE(Cgroup::create(layout_, "corral/qemu/a b"));
    EXPECT_EQ(runningGuestGroup(layout_, "corral/qemu", "a b").path(), "corral/qemu/a b");
    // Once there is a group under the escaped name, that one is the guest's.
    ASSERT_TRUE(Cgroup::create(layout_, guestGroupPath("corral/qemu", "a b")));
    EXPECT_EQ(runningGuestGroup(layout_, "corral/qemu", "a b").path(), "corral/qemu/a\\x20b");
    // A bare name is never looked for when it could be another guest's escaped group.
    EXPECT_EQ(runningGuestGroup(layout_, "corral/qemu", "..").path(), "corral/qemu/\\x2e.");
}

// The real kernel's v2 rules for threaded subtrees (the order of cgroup.type and delegation, a
// process in the threaded domain root, a thread moved below it), on this host's cgroup2 mount
// even when its controllers are all on v1: the structure does not need controllers.
TEST(CgroupV2Kernel, ThreadedSubgroupTakesAThreadOfAProcessInItsParent) {
    auto layout = hostCgroupLayout();
    if (::geteuid() != 0 || !layout) {
        GTEST_SKIP() << "needs root and cgroups";
    }
    CgroupLayout v2;
    v2.v2 = true;
    v2.unifiedMount = layout->v2 ? layout->unifiedMount : "/sys/fs/cgroup/unified";
    if (!std::filesystem::exists(v2.unifiedMount + "/cgroup.procs")) {
        GTEST_SKIP() << "no cgroup2 mount";
    }
    if (layout->v2) {
        v2.v2Controllers = layout->v2Controllers;
    }
    std::string path = "corral-unit-" + std::to_string(::getpid()) + "/qemu/g";
    auto guest = Cgroup::create(v2, path);
    ASSERT_TRUE(guest) << guest.error().message;
    pid_t child = ::fork();
    if (child == 0) {
        ::pause();
        ::_exit(0);
    }
    ASSERT_TRUE(guest->addProcess(child));
    auto emulator = Cgroup::create(v2, path + "/emulator", true);
    ASSERT_TRUE(emulator) << emulator.error().message;
    ASSERT_TRUE(emulator->addProcess(child)) << "a process moves within its threaded domain";
    auto vcpu = Cgroup::create(v2, path + "/vcpu0", true);
    ASSERT_TRUE(vcpu) << vcpu.error().message;
    ASSERT_TRUE(vcpu->addThread(child));
    EXPECT_EQ(readTextFile(v2.unifiedMount + "/" + path + "/vcpu0/cgroup.threads").value(), std::to_string(child) + "\n");
    EXPECT_EQ(readTextFile(v2.unifiedMount + "/" + path + "/cgroup.type").value(), "domain threaded\n");
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    Cgroup top(v2, "corral-unit-" + std::to_string(::getpid()));
    EXPECT_TRUE(top.remove());
    EXPECT_FALSE(std::filesystem::exists(v2.unifiedMount + "/" + path));
}

TEST(CgroupController, V2NamesFollowTheKernel) {
    EXPECT_EQ(cgroupControllerName(CgroupController::Blkio, true), "io");
    EXPECT_EQ(cgroupControllerName(CgroupController::Blkio, false), "blkio");
    EXPECT_EQ(cgroupControllerName(CgroupController::Cpuacct, true), "cpu");
}

}  // namespace
}  // namespace corral::host
