// SPDX-License-Identifier: LGPL-2.1-or-later
// A container's console log is rotated at its size: a flood keeps at most two files' worth.
#include "drivers/lxc/container_console_log.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace corral::drivers::lxc {
namespace {

class ConsoleLogTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/corral-console-log-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        ::unlink(path().c_str());
        ::unlink((path() + ".0").c_str());
        ::rmdir(dir_.c_str());
    }
    std::string path() const { return dir_ + "/ct.log"; }
    static std::string read(const std::string& p) {
        std::ifstream in(p);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    std::string dir_;
};

TEST_F(ConsoleLogTest, AFloodKeepsTwoFilesOfTheSizeWithTheNewestOutput) {
    auto log = ConsoleLog::open(path(), 1000);
    ASSERT_TRUE(log) << log.error().message;
    for (int i = 0; i < 500; ++i) {
        log->write(std::string(97, static_cast<char>('a' + i % 26)) + "\n");  // 49 KB in all
    }
    log->write("LAST");
    std::string current = read(path());
    std::string previous = read(path() + ".0");
    EXPECT_LE(current.size(), 1000u);
    EXPECT_EQ(previous.size(), 1000u);
    EXPECT_EQ(current.substr(current.size() - 4), "LAST");
    // Nothing between the two files was lost: the rotated one ends where the current begins.
    std::string joined = previous + current;
    EXPECT_EQ(joined.substr(joined.size() - 5), "\nLAST");
}

TEST_F(ConsoleLogTest, AnExistingLogCountsTowardsTheSize) {
    {
        std::ofstream out(path());
        out << std::string(900, 'x');
    }
    auto log = ConsoleLog::open(path(), 1000);
    ASSERT_TRUE(log) << log.error().message;
    log->write(std::string(200, 'y'));
    EXPECT_EQ(read(path() + ".0"), std::string(900, 'x') + std::string(100, 'y'));
    EXPECT_EQ(read(path()), std::string(100, 'y'));
}

TEST_F(ConsoleLogTest, ALinkPlantedAtThePathIsNotFollowed) {
    ASSERT_EQ(::symlink("/etc/passwd", path().c_str()), 0);
    auto log = ConsoleLog::open(path(), 1000);
    ASSERT_FALSE(log);
    EXPECT_NE(log.error().message.find("cannot open the console log '" + path() + "'"), std::string::npos)
        << log.error().message;
}

}  // namespace
}  // namespace corral::drivers::lxc
