// SPDX-License-Identifier: LGPL-2.1-or-later
// The cgroup v2 device program: rule parsing, the generated instructions (run through a small
// interpreter of the few opcodes the generator emits, so the allow/deny logic is checked
// without privileges), and, as root on a host with a cgroup2 mount, the real kernel refusing
// /dev/zero to a process in a group that may only use /dev/null.
#include "host/cgroup_device_program.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "host/cgroup.hpp"
#include "util/files.hpp"

namespace corral::host {
namespace {

constexpr std::uint32_t kRwm = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

TEST(DeviceRule, ParsesTheV1Syntax) {
    auto null = parseDeviceRule("c 1:3 rwm");
    ASSERT_TRUE(null) << null.error().message;
    EXPECT_EQ(*null, (DeviceRule{DeviceRule::Type::Char, 1u, 3u, kRwm}));

    auto ptys = parseDeviceRule("c 136:* rwm");
    ASSERT_TRUE(ptys);
    EXPECT_EQ(*ptys, (DeviceRule{DeviceRule::Type::Char, 136u, std::nullopt, kRwm}));

    auto disk = parseDeviceRule("b 8:0 r");
    ASSERT_TRUE(disk);
    EXPECT_EQ(*disk, (DeviceRule{DeviceRule::Type::Block, 8u, 0u, BPF_DEVCG_ACC_READ}));

    auto mknodAny = parseDeviceRule("a *:* m");
    ASSERT_TRUE(mknodAny);
    EXPECT_EQ(*mknodAny, (DeviceRule{DeviceRule::Type::Any, std::nullopt, std::nullopt, BPF_DEVCG_ACC_MKNOD}));

    auto all = parseDeviceRule("a");
    ASSERT_TRUE(all);
    EXPECT_EQ(*all, (DeviceRule{DeviceRule::Type::Any, std::nullopt, std::nullopt, kRwm}));
}

TEST(DeviceRule, RefusesMalformedRulesNamingThem) {
    struct Case {
        const char* rule;
        const char* says;
    };
    for (const Case& c : {Case{"x 1:3 rwm", "the type must be 'c', 'b' or 'a', not 'x'"},
                          Case{"c 1 rwm", "the device must be 'MAJOR:MINOR', not '1'"},
                          Case{"c 1:3", "expected 'TYPE MAJOR:MINOR ACCESS'"},
                          Case{"c 1:3 rwx", "the access must be letters among 'r', 'w' and 'm', not 'rwx'"},
                          Case{"c -1:3 r", "the major number must be '*' or a number from 0 to 4095"},
                          Case{"c 4096:3 r", "the major number must be '*' or a number from 0 to 4095"},
                          Case{"c 1:1048576 r", "the minor number must be '*' or a number from 0 to 1048575"},
                          Case{"", "expected 'TYPE MAJOR:MINOR ACCESS'"}}) {
        auto parsed = parseDeviceRule(c.rule);
        ASSERT_FALSE(parsed) << c.rule;
        EXPECT_EQ(parsed.error().code, ErrorCode::InvalidArg);
        EXPECT_NE(parsed.error().message.find("invalid device rule '" + std::string(c.rule) + "'"), std::string::npos)
            << parsed.error().message;
        EXPECT_NE(parsed.error().message.find(c.says), std::string::npos) << parsed.error().message;
    }
}

TEST(DeviceRule, AListFailsOnItsFirstBadRule) {
    auto parsed = parseDeviceRules({"c 1:3 rwm", "c 1:five rwm", "q"});
    ASSERT_FALSE(parsed);
    EXPECT_NE(parsed.error().message.find("'c 1:five rwm'"), std::string::npos) << parsed.error().message;
}

/// Runs `program` the way the kernel would for one access; only the opcodes the generator
/// emits are known (anything else fails the test). Returns r0 at exit.
std::int64_t run(const std::vector<bpf_insn>& program, std::uint32_t type, std::uint32_t access, std::uint32_t major,
                 std::uint32_t minor) {
    const bpf_cgroup_dev_ctx ctx{access << 16 | type, major, minor};
    std::uint64_t reg[11] = {};
    for (std::size_t pc = 0; pc < program.size(); ++pc) {
        const bpf_insn& i = program[pc];
        switch (i.code) {
            case BPF_LDX | BPF_MEM | BPF_W: {
                EXPECT_EQ(i.src_reg, 1) << "loads come from the context";
                std::uint32_t word = 0;
                std::memcpy(&word, reinterpret_cast<const char*>(&ctx) + i.off, sizeof word);
                reg[i.dst_reg] = word;
                break;
            }
            case BPF_ALU64 | BPF_MOV | BPF_X: reg[i.dst_reg] = reg[i.src_reg]; break;
            case BPF_ALU64 | BPF_MOV | BPF_K: reg[i.dst_reg] = static_cast<std::uint64_t>(std::int64_t{i.imm}); break;
            case BPF_ALU | BPF_AND | BPF_K:
                reg[i.dst_reg] = static_cast<std::uint32_t>(reg[i.dst_reg] & static_cast<std::uint32_t>(i.imm));
                break;
            case BPF_ALU | BPF_RSH | BPF_K:
                reg[i.dst_reg] = static_cast<std::uint32_t>(reg[i.dst_reg]) >> i.imm;
                break;
            case BPF_JMP | BPF_JNE | BPF_K:
                if (reg[i.dst_reg] != static_cast<std::uint64_t>(std::int64_t{i.imm})) {
                    pc += i.off;
                }
                break;
            case BPF_JMP | BPF_EXIT: return static_cast<std::int64_t>(reg[0]);
            default: ADD_FAILURE() << "unexpected opcode " << int(i.code) << " at " << pc; return -1;
        }
    }
    ADD_FAILURE() << "the program ran off its end";
    return -1;
}

constexpr std::uint32_t kChar = BPF_DEVCG_DEV_CHAR, kBlock = BPF_DEVCG_DEV_BLOCK;
constexpr std::uint32_t kRead = BPF_DEVCG_ACC_READ, kWrite = BPF_DEVCG_ACC_WRITE, kMknod = BPF_DEVCG_ACC_MKNOD;

std::vector<bpf_insn> programFor(const std::vector<std::string>& rules) {
    auto parsed = parseDeviceRules(rules);
    EXPECT_TRUE(parsed);
    return buildDeviceProgram(parsed ? *parsed : std::vector<DeviceRule>{});
}

TEST(DeviceProgram, EveryJumpLandsInsideAndTheProgramEndsInExit) {
    for (const auto& rules : std::vector<std::vector<std::string>>{
             {}, {"c 1:3 rwm"}, {"c 136:* rw", "b 8:0 r", "a *:5 m"}, {"c 1:3 r", "a", "b 8:0 r"}}) {
        auto program = programFor(rules);
        ASSERT_FALSE(program.empty());
        EXPECT_EQ(program.back().code, BPF_JMP | BPF_EXIT);
        for (std::size_t pc = 0; pc < program.size(); ++pc) {
            if (program[pc].code == (BPF_JMP | BPF_JNE | BPF_K)) {
                const std::size_t target = pc + 1 + static_cast<std::size_t>(program[pc].off);
                EXPECT_GT(program[pc].off, 0) << "forward only: no loops";
                EXPECT_LT(target, program.size());
            }
        }
    }
}

TEST(DeviceProgram, AnEmptyListDeniesEverything) {
    auto program = programFor({});
    EXPECT_EQ(program.size(), 8u);  // split the context (6), r0 = 0, exit
    EXPECT_EQ(run(program, kChar, kRead, 1, 3), 0);
    EXPECT_EQ(run(program, kBlock, kMknod, 0, 0), 0);
}

TEST(DeviceProgram, AllowsExactlyTheListedDevicesAndAccesses) {
    auto program = programFor({"c 1:3 rwm", "c 136:* rw", "b 8:0 r", "a 10:* m"});
    EXPECT_EQ(run(program, kChar, kRead, 1, 3), 1);
    EXPECT_EQ(run(program, kChar, kWrite | kRead, 1, 3), 1);
    EXPECT_EQ(run(program, kChar, kMknod, 1, 3), 1);
    EXPECT_EQ(run(program, kChar, kRead, 1, 5), 0) << "another minor";
    EXPECT_EQ(run(program, kBlock, kRead, 1, 3), 0) << "same numbers, other type";
    EXPECT_EQ(run(program, kChar, kWrite, 136, 0), 1);
    EXPECT_EQ(run(program, kChar, kRead, 136, 1048575), 1);
    EXPECT_EQ(run(program, kChar, kMknod, 136, 7), 0) << "mknod not granted";
    EXPECT_EQ(run(program, kChar, kRead | kMknod, 136, 7), 0) << "one missing bit denies";
    EXPECT_EQ(run(program, kBlock, kRead, 8, 0), 1);
    EXPECT_EQ(run(program, kBlock, kWrite, 8, 0), 0);
    EXPECT_EQ(run(program, kBlock, kRead, 8, 1), 0);
    EXPECT_EQ(run(program, kBlock, kMknod, 10, 4), 1) << "'a' matches block";
    EXPECT_EQ(run(program, kChar, kMknod, 10, 200), 1) << "'a' matches char";
    EXPECT_EQ(run(program, kChar, kRead, 10, 200), 0);
}

TEST(DeviceProgram, AnAllowAllRuleEndsTheProgram) {
    // Code after an unconditional allow would be unreachable, which the verifier refuses.
    auto program = programFor({"c 1:3 r", "a *:* rwm", "b 8:0 r"});
    EXPECT_EQ(program.size(), programFor({"c 1:3 r", "a"}).size());
    EXPECT_EQ(run(program, kBlock, kWrite, 200, 9), 1);
}

// --- the kernel ---

/// The host's cgroup2 mount, or "" when there is none.
std::string cgroup2Mount() {
    auto mountinfo = readTextFile("/proc/self/mountinfo");
    if (!mountinfo) {
        return {};
    }
    auto layout = parseCgroupLayout(*mountinfo, "");
    return layout ? layout->unifiedMount : std::string();
}

struct Probe {
    const char* path;
    int flags;
};

/// Forks a child that joins the group at `dir` and opens each probe. Returns a bit per probe
/// that opened, or a negative code: -1 the child could not join, -2 an open failed with
/// something other than EPERM (the device cgroup's answer), -3 the child died otherwise.
int probeFromGroup(const std::string& dir, const std::vector<Probe>& probes) {
    const std::string procs = dir + "/cgroup.procs";
    pid_t child = ::fork();
    if (child == 0) {
        char pid[32];
        int length = std::snprintf(pid, sizeof pid, "%d", static_cast<int>(::getpid()));
        int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0 || ::write(fd, pid, static_cast<std::size_t>(length)) != length) {
            ::_exit(100);
        }
        ::close(fd);
        int opened = 0;
        for (std::size_t i = 0; i < probes.size(); ++i) {
            int device = ::open(probes[i].path, probes[i].flags | O_CLOEXEC);
            if (device >= 0) {
                opened |= 1 << i;
                ::close(device);
            } else if (errno != EPERM) {
                ::_exit(101);
            }
        }
        ::_exit(opened);
    }
    if (child < 0) {
        return -3;
    }
    int status = 0;
    if (::waitpid(child, &status, 0) != child || !WIFEXITED(status)) {
        return -3;
    }
    switch (WEXITSTATUS(status)) {
        case 100: return -1;
        case 101: return -2;
        default: return WEXITSTATUS(status);
    }
}

TEST(DeviceProgramOnKernel, TheGroupOpensOnlyTheAllowedDevicesAndASecondAttachReplaces) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "loading BPF programs and creating cgroups needs root";
    }
    const std::string mount = cgroup2Mount();
    if (mount.empty()) {
        GTEST_SKIP() << "no cgroup2 file system is mounted (no fstype cgroup2 in /proc/self/mountinfo)";
    }
    // A pure-v2 layout on the real cgroup2 mount, so the Cgroup entry point is what gets tested
    // even on a host whose other controllers are on v1.
    auto layout = parseCgroupLayout("1 0 0:1 / " + mount + " rw - cgroup2 cgroup2 rw\n", "");
    ASSERT_TRUE(layout);
    ASSERT_TRUE(layout->v2);
    auto group = Cgroup::create(*layout, "corral-devtest-" + std::to_string(::getpid()));
    ASSERT_TRUE(group) << group.error().message;
    const std::string dir = group->directory(CgroupController::Devices);
    ASSERT_EQ(dir, mount + "/" + group->path());

    const std::vector<Probe> probes = {{"/dev/null", O_RDWR}, {"/dev/zero", O_RDONLY}, {"/dev/full", O_RDONLY}};
    constexpr int kNull = 1, kZero = 2, kFull = 4;

    auto onlyNull = group->allowOnlyDevices({"c 1:3 rwm"});
    ASSERT_TRUE(onlyNull) << onlyNull.error().message;
    EXPECT_EQ(probeFromGroup(dir, probes), kNull);

    // Were the programs stacked, both would have to allow and /dev/zero would stay shut.
    auto nullAndZero = group->allowOnlyDevices({"c 1:3 rwm", "c 1:5 r"});
    ASSERT_TRUE(nullAndZero) << nullAndZero.error().message;
    EXPECT_EQ(probeFromGroup(dir, probes), kNull | kZero);

    // Access letters count: read only on /dev/null refuses O_RDWR; the newest list wins again.
    auto readOnly = allowOnlyDevicesV2(dir, {"c 1:3 r", "c 1:7 rwm"});
    ASSERT_TRUE(readOnly) << readOnly.error().message;
    EXPECT_EQ(probeFromGroup(dir, probes), kFull);
    EXPECT_EQ(probeFromGroup(dir, {{"/dev/null", O_RDONLY}}), 1);

    // A bad rule changes nothing and says which rule.
    auto bad = group->allowOnlyDevices({"c 1:3 rwm", "z 1:5 r"});
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("'z 1:5 r'"), std::string::npos) << bad.error().message;
    EXPECT_EQ(probeFromGroup(dir, probes), kFull);

    auto removed = group->remove();
    EXPECT_TRUE(removed) << removed.error().message;
    EXPECT_NE(::access(dir.c_str(), F_OK), 0);
}

TEST(DeviceProgramOnKernel, AVerifierRefusalCarriesItsLog) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "loading BPF programs needs root";
    }
    // Exit with r0 never written: the verifier refuses and says which register.
    std::vector<bpf_insn> program(1);
    program[0].code = BPF_JMP | BPF_EXIT;
    auto loaded = loadDeviceProgram(program);
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message.find("cannot load the cgroup device program"), std::string::npos);
    EXPECT_NE(loaded.error().message.find("verifier log: "), std::string::npos) << loaded.error().message;
    EXPECT_NE(loaded.error().message.find("R0"), std::string::npos) << loaded.error().message;
}

}  // namespace
}  // namespace corral::host
