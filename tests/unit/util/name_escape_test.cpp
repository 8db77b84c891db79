// SPDX-License-Identifier: LGPL-2.1-or-later
// Names on the host: the escape keeps every name in its directory ("..", ".", "/", "\"), never
// gives two names one path (checked exhaustively over short names of the tricky characters), and
// leaves ordinary names as they were; the cgroup form never looks like a kernel file.
#include "util/name_escape.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

using namespace corral;

namespace {

/// Every string of up to `maxLength` characters from `alphabet`.
std::vector<std::string> allStrings(const std::string& alphabet, std::size_t maxLength) {
    std::vector<std::string> out{""};
    std::vector<std::string> level{""};
    for (std::size_t len = 1; len <= maxLength; ++len) {
        std::vector<std::string> next;
        for (const auto& prefix : level) {
            for (char c : alphabet) {
                next.push_back(prefix + c);
            }
        }
        out.insert(out.end(), next.begin(), next.end());
        level = std::move(next);
    }
    return out;
}

bool safeComponent(const std::string& c) {
    return !c.empty() && c != "." && c != ".." && c.find('/') == std::string::npos && c.front() != '.' &&
           c.find('\0') == std::string::npos;
}

}  // namespace

TEST(NameEscape, OrdinaryNamesAreUnchanged) {
    for (const char* name : {"web1", "web-1", "db_2.example", "node:3", "A-Z.0_9"}) {
        EXPECT_EQ(escapePathComponent(name), name);
    }
}

TEST(NameEscape, DotNamesStayInTheirDirectory) {
    EXPECT_EQ(escapePathComponent("."), "\\x2e");
    EXPECT_EQ(escapePathComponent(".."), "\\x2e.");
    EXPECT_EQ(escapePathComponent("..."), "\\x2e..");
    EXPECT_EQ(escapePathComponent(".hidden"), "\\x2ehidden");
    EXPECT_EQ(escapePathComponent("a.."), "a..");  // only a leading dot matters
}

TEST(NameEscape, SlashBackslashCommaNewlineAndUnicodeAreEscaped) {
    EXPECT_EQ(escapePathComponent("a/b"), "a\\x2fb");
    EXPECT_EQ(escapePathComponent("../../etc"), "\\x2e.\\x2f..\\x2fetc");
    EXPECT_EQ(escapePathComponent("a\\b"), "a\\x5cb");
    EXPECT_EQ(escapePathComponent("x,process=evil"), "x\\x2cprocess\\x3devil");
    EXPECT_EQ(escapePathComponent("a\nb"), "a\\x0ab");
    EXPECT_EQ(escapePathComponent("a b"), "a\\x20b");
    EXPECT_EQ(escapePathComponent("caf\xc3\xa9"), "caf\\xc3\\xa9");  // UTF-8 bytes one by one
    EXPECT_EQ(escapePathComponent(std::string("a\0b", 3)), "a\\x00b");
}

TEST(NameEscape, VeryLongNamesAreEscapedWhole) {
    // Not cut short: two long names that differ only at the end must not meet.
    const std::string a(300, 'a');
    EXPECT_EQ(escapePathComponent(a), a);
    EXPECT_NE(escapePathComponent(a + "x"), escapePathComponent(a + "y"));
    std::string wide;
    for (int i = 0; i < 100; ++i) {
        wide += "\xc3\xa9";
    }
    EXPECT_EQ(escapePathComponent(wide).size(), 800u);
    EXPECT_GT(escapePathComponent(wide).size(), kMaxEscapedNameLength);
}

TEST(NameEscape, NoTwoNamesShareAPathAndNoneLeavesTheDirectory) {
    // Exhaustive over the characters that could make two escapes meet or a path climb out:
    // escapes' own letters, the escape character, dots, slashes, '_' (the cgroup prefix).
    std::map<std::string, std::string> paths, groups;
    for (const auto& name : allStrings(std::string(".\\/x2e5_-ac\n", 12), 4)) {
        if (name.empty()) {
            continue;
        }
        const std::string path = escapePathComponent(name);
        const std::string group = escapeCgroupComponent(name);
        EXPECT_TRUE(safeComponent(path)) << name << " -> " << path;
        EXPECT_TRUE(safeComponent(group)) << name << " -> " << group;
        auto [p, newPath] = paths.emplace(path, name);
        EXPECT_TRUE(newPath) << "'" << name << "' and '" << p->second << "' both escape to '" << path << "'";
        auto [g, newGroup] = groups.emplace(group, name);
        EXPECT_TRUE(newGroup) << "'" << name << "' and '" << g->second << "' share the group '" << group << "'";
    }
    EXPECT_GT(paths.size(), 20000u);
}

TEST(NameEscape, CgroupNamesNeverLookLikeKernelFiles) {
    EXPECT_EQ(escapeCgroupComponent("web1"), "web1");
    EXPECT_EQ(escapeCgroupComponent("web-1"), "web-1");
    EXPECT_EQ(escapeCgroupComponent("cgroup.procs"), "_cgroup.procs");
    EXPECT_EQ(escapeCgroupComponent("memory.max"), "_memory.max");
    EXPECT_EQ(escapeCgroupComponent("net_cls.classid"), "_net_cls.classid");
    EXPECT_EQ(escapeCgroupComponent("tasks"), "_tasks");
    EXPECT_EQ(escapeCgroupComponent("release_agent"), "_release_agent");
    EXPECT_EQ(escapeCgroupComponent("_x"), "__x");
    EXPECT_EQ(escapeCgroupComponent(".."), "\\x2e.");
    EXPECT_EQ(escapeCgroupComponent("Web.1"), "Web.1");  // upper case: no kernel file looks so
    EXPECT_EQ(escapeCgroupComponent("web2.example"), "web2.example");
}

TEST(NameEscape, LegacyNamesOnlyWhereTheyWereSafeAndCannotBeAnotherName) {
    EXPECT_EQ(legacyPathComponent("web1"), std::nullopt);  // unchanged: nothing to look for
    EXPECT_EQ(legacyPathComponent("a b"), "a b");
    EXPECT_EQ(legacyPathComponent("caf\xc3\xa9"), "caf\xc3\xa9");
    for (const char* unsafe : {".", "..", "", "a/b"}) {
        EXPECT_EQ(legacyPathComponent(unsafe), std::nullopt) << unsafe;
    }
    // With a '\' the bare name could be someone else's escaped one ("x\x0a" is how "x\n" escapes).
    EXPECT_EQ(legacyPathComponent("x\\x0a"), std::nullopt);
    EXPECT_EQ(legacyPathComponent("my.vm"), std::nullopt);  // unchanged as a file name...
    EXPECT_EQ(legacyCgroupComponent("my.vm"), "my.vm");    // ...but not as a group ("_my.vm")
    EXPECT_EQ(legacyCgroupComponent("web1"), std::nullopt);
    EXPECT_EQ(legacyCgroupComponent("_cgroup.procs"), std::nullopt);  // the prefix of another's
    EXPECT_EQ(legacyCgroupComponent("a b"), "a b");
}

TEST(NameEscape, PathForNameAndPlainRelativePaths) {
    EXPECT_EQ(pathForName("/run/corral/qemu", "..", ".pid"), "/run/corral/qemu/\\x2e..pid");
    EXPECT_EQ(pathForName("/run/q", "web-1", ".monitor"), "/run/q/web-1.monitor");
    EXPECT_TRUE(isPlainRelativePath("corral/qemu/web1"));
    EXPECT_TRUE(isPlainRelativePath("sdb"));
    for (const char* bad : {"", "/abs", "a//b", "a/", "..", "a/../b", "./a", "a/."}) {
        EXPECT_FALSE(isPlainRelativePath(bad)) << bad;
    }
}
