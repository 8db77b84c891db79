// SPDX-License-Identifier: LGPL-2.1-or-later
// The QEMU probe's parser over a transcript recorded from Debian's QEMU 7.2 (query-machines,
// query-cpu-definitions), its refusals, and which machine types the command builder knows.
#include "drivers/qemu/qemu_probe.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "drivers/qemu/qemu_command.hpp"

namespace corral::drivers::qemu {
namespace {

std::string recorded() {
    std::ifstream in(std::string(CORRAL_SOURCE_DIR) + "/tests/unit/drivers/data/qemu-7.2-x86_64-probe.qmp");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(QemuProbe, MachinesAliasesAndCpuModelsFromTheRecording) {
    auto caps = parseQemuProbe(recorded());
    ASSERT_TRUE(caps.has_value()) << caps.error().message;
    EXPECT_EQ(caps->version, 7002022u);
    const QemuMachine* q35 = findMachine(*caps, "q35");
    ASSERT_NE(q35, nullptr);
    EXPECT_EQ(q35->name, "pc-q35-7.2");
    EXPECT_EQ(q35->alias, "q35");
    EXPECT_EQ(q35->maxCpus, 288u);
    const QemuMachine* pc = findMachine(*caps, "pc");
    ASSERT_NE(pc, nullptr);
    EXPECT_EQ(pc->name, "pc-i440fx-7.2");
    EXPECT_TRUE(pc->isDefault);
    EXPECT_EQ(findMachine(*caps, "pc-q35-5.2")->maxCpus, 288u);
    EXPECT_EQ(findMachine(*caps, "no-such-machine"), nullptr);
    bool qemu64 = false, skylake = false;
    for (const auto& m : caps->cpuModels) {
        qemu64 = qemu64 || m.name == "qemu64";
        skylake = skylake || m.name == "Skylake-Client-v1";
    }
    EXPECT_TRUE(qemu64);
    EXPECT_TRUE(skylake);
}

TEST(QemuProbe, RefusesIncompleteOrFailedTranscripts) {
    EXPECT_FALSE(parseQemuProbe("").has_value());
    EXPECT_FALSE(parseQemuProbe("qemu-system-x86_64: -sandbox on: seccomp is not supported\n").has_value());
    const std::string greeting = R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}}})";
    auto error = parseQemuProbe(greeting + "\n{\"return\": {}}\n{\"error\": {\"class\": \"CommandNotFound\", "
                                            "\"desc\": \"The command query-machines has not been found\"}}\n");
    ASSERT_FALSE(error.has_value());
    EXPECT_NE(error.error().message.find("query-machines has not been found"), std::string::npos);
    EXPECT_FALSE(parseQemuProbe(greeting + "\n{\"return\": {}}\n{\"return\": []}\n{\"return\": []}\n").has_value());
}

TEST(QemuProbe, TheBuilderKnowsThePcFamiliesAndMicrovmOnly) {
    for (const char* m : {"pc", "pc-i440fx-7.2", "q35", "pc-q35-2.11", "microvm"}) {
        EXPECT_TRUE(driverBuildsMachine(m)) << m;
    }
    for (const char* m : {"isapc", "none", "xenfv-4.2", "x-remote", "nitro-enclave"}) {
        EXPECT_FALSE(driverBuildsMachine(m)) << m;
    }
}

TEST(QemuProbe, EmulatorPathLookup) {
    EXPECT_EQ(*resolveEmulator("/opt/q/qemu"), "/opt/q/qemu");
    auto sh = resolveEmulator("sh");
    ASSERT_TRUE(sh.has_value());
    EXPECT_EQ(sh->front(), '/');
    auto missing = resolveEmulator("corral-no-such-emulator");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().message, "Cannot find 'corral-no-such-emulator' in path");
}

/// A stand-in emulator: a script that answers with the recording and counts its runs.
class FakeEmulator : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("corral-qemu-probe-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        program_ = (dir_ / "qemu-system-x86_64").string();
        std::ofstream(program_) << "#!/bin/sh\necho run >> " << (dir_ / "runs").string() << "\ncat >/dev/null\ncat "
                                << CORRAL_SOURCE_DIR << "/tests/unit/drivers/data/qemu-7.2-x86_64-probe.qmp\n";
        std::filesystem::permissions(program_, std::filesystem::perms::owner_all);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    int runs() const {
        std::ifstream in(dir_ / "runs");
        int n = 0;
        for (std::string line; std::getline(in, line);) {
            ++n;
        }
        return n;
    }
    std::filesystem::path dir_;
    std::string program_;
};

TEST_F(FakeEmulator, CachedPerBinaryUntilItsModificationTimeChanges) {
    QemuCapsCache cache;
    auto first = cache.get(program_);
    ASSERT_TRUE(first.has_value()) << first.error().message;
    EXPECT_EQ((*first)->emulator, program_);
    EXPECT_NE(findMachine(**first, "q35"), nullptr);
    auto second = cache.get(program_);
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ(first->get(), second->get());
    EXPECT_EQ(runs(), 1);
    // A new binary (an upgrade): probed again.
    std::filesystem::last_write_time(program_, std::filesystem::last_write_time(program_) + std::chrono::seconds(5));
    auto third = cache.get(program_);
    ASSERT_TRUE(third.has_value());
    EXPECT_NE(first->get(), third->get());
    EXPECT_EQ(runs(), 2);
}

TEST_F(FakeEmulator, AProgramThatIsNotQemuIsAnError) {
    std::ofstream(program_) << "#!/bin/sh\ncat >/dev/null\necho 'not qemu'\nexit 1\n";
    QemuCapsCache cache;
    auto caps = cache.get(program_);
    ASSERT_FALSE(caps.has_value());
    EXPECT_NE(caps.error().message.find("no QMP greeting"), std::string::npos) << caps.error().message;
    EXPECT_NE(caps.error().message.find("exit status 1"), std::string::npos) << caps.error().message;
}

TEST_F(FakeEmulator, ABinaryThatNeverAnswersIsKilled) {
    // exec: the shell becomes the sleep, which must die with the probe for the read to end.
    std::ofstream(program_) << "#!/bin/sh\nexec sleep 600\n";
    QemuCapsCache cache(std::chrono::seconds(1));
    auto caps = cache.get(program_);
    ASSERT_FALSE(caps.has_value());
    EXPECT_NE(caps.error().message.find("exit status 124"), std::string::npos) << caps.error().message;
}

}  // namespace
}  // namespace corral::drivers::qemu
