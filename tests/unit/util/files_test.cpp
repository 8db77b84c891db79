// SPDX-License-Identifier: LGPL-2.1-or-later
// moveLegacyFile: what a daemon before name escaping left is found under the new name, without
// ever replacing a file there or touching a name that was never safe.
#include "util/files.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "util/name_escape.hpp"

using namespace corral;

namespace {

struct LegacyFiles : ::testing::Test {
    void SetUp() override {
        char tmpl[] = "/tmp/corral-legacy-XXXXXX";
        dir = mkdtemp(tmpl);
    }
    void TearDown() override { std::filesystem::remove_all(dir); }
    void write(const std::string& name, const std::string& text) { std::ofstream(dir + "/" + name) << text; }
    std::string read(const std::string& path) {
        auto text = readTextFile(path);
        return text ? *text : "<missing>";
    }
    std::string dir;
};

}  // namespace

TEST_F(LegacyFiles, ABareNamedFileMovesToTheEscapedName) {
    write("a b.pid", "4242\n");
    moveLegacyFile(dir, "a b", ".pid");
    EXPECT_EQ(read(pathForName(dir, "a b", ".pid")), "4242\n");
    EXPECT_FALSE(std::filesystem::exists(dir + "/a b.pid"));
}

TEST_F(LegacyFiles, AFileAtTheNewNameIsNeverReplaced) {
    write("a b.pid", "old\n");
    write("a\\x20b.pid", "new\n");
    moveLegacyFile(dir, "a b", ".pid");
    EXPECT_EQ(read(dir + "/a\\x20b.pid"), "new\n");
    EXPECT_EQ(read(dir + "/a b.pid"), "old\n");
}

TEST_F(LegacyFiles, NamesThatWereNeverSafeAreLeftAlone) {
    // "x\x0a" as a bare name is how "x\n" escapes: never taken for the other guest's file.
    write("x\\x0a.pid", "other guest\n");
    moveLegacyFile(dir, "x\\x0a", ".pid");
    EXPECT_EQ(read(dir + "/x\\x0a.pid"), "other guest\n");
    EXPECT_FALSE(std::filesystem::exists(pathForName(dir, "x\\x0a", ".pid")));
    moveLegacyFile(dir, "..", ".pid");  // nothing to do, nothing broken
    moveLegacyFile(dir, "web1", ".pid");
}
