// SPDX-License-Identifier: LGPL-2.1-or-later
// Store: CRUD, transactions, corruption refused, durability under SIGKILL, full disk.
#include "objects/store.hpp"

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

using namespace corral;
using namespace corral::objects;

namespace {

struct TempDir {
    TempDir() {
        char tmpl[] = "/tmp/corral-store-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string path;
};

Uuid uuidFor(int i) {
    Uuid u;
    u.bytes[15] = static_cast<std::uint8_t>(i & 0xff);
    u.bytes[14] = static_cast<std::uint8_t>((i >> 8) & 0xff);
    u.bytes[0] = 0x42;
    return u;
}

}  // namespace

TEST(Store, DefinitionsRoundTripAndKeepAutostart) {
    TempDir dir;
    auto store = Store::open(dir.path + "/s.db");
    ASSERT_TRUE(store) << store.error().wireMessage();
    ASSERT_TRUE((*store)->putDefinition("qemu", uuidFor(1), "a", "<domain/>"));
    ASSERT_TRUE((*store)->setAutostart("qemu", uuidFor(1), true));
    ASSERT_TRUE((*store)->putDefinition("qemu", uuidFor(1), "a", "<domain type='qemu'/>"));
    ASSERT_TRUE((*store)->putDefinition("lxc", uuidFor(2), "a", "<domain/>"));  // names per driver
    auto defs = (*store)->loadDefinitions("qemu");
    ASSERT_TRUE(defs);
    ASSERT_EQ(defs->size(), 1u);
    EXPECT_EQ((*defs)[0].xml, "<domain type='qemu'/>");
    EXPECT_TRUE((*defs)[0].autostart);
    ASSERT_TRUE((*store)->removeDefinition("qemu", uuidFor(1)));
    EXPECT_TRUE((*store)->loadDefinitions("qemu")->empty());
    auto missing = (*store)->setAutostart("qemu", uuidFor(1), true);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::NoDomain);
}

TEST(Store, NameClashIsRefused) {
    TempDir dir;
    auto store = Store::open(dir.path + "/s.db");
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->putDefinition("qemu", uuidFor(1), "a", "x"));
    auto clash = (*store)->putDefinition("qemu", uuidFor(2), "a", "y");
    ASSERT_FALSE(clash);
    EXPECT_NE(clash.error().message.find("'a'"), std::string::npos);
}

TEST(Store, TransactionRollsBackOnFailure) {
    TempDir dir;
    auto store = Store::open(dir.path + "/s.db");
    ASSERT_TRUE(store);
    auto r = (*store)->transaction([&]() -> Result<void> {
        CORRAL_TRY((*store)->putDefinition("qemu", uuidFor(1), "a", "x"));
        return fail(ErrorCode::InternalError, "boom");
    });
    ASSERT_FALSE(r);
    EXPECT_TRUE((*store)->loadDefinitions("qemu")->empty());
    ASSERT_TRUE((*store)->transaction([&]() -> Result<void> {
        for (int i = 0; i < 100; ++i) {
            CORRAL_TRY((*store)->putDefinition("qemu", uuidFor(i), "d" + std::to_string(i), "x"));
        }
        return {};
    }));
    EXPECT_EQ((*store)->loadDefinitions("qemu")->size(), 100u);
}

TEST(Store, StatusesAndAudit) {
    TempDir dir;
    auto store = Store::open(dir.path + "/s.db");
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->putStatus("qemu", uuidFor(1), "a", "<live/>"));
    EXPECT_EQ((*store)->loadStatuses("qemu")->at(0).status, "<live/>");
    ASSERT_TRUE((*store)->removeStatus("qemu", uuidFor(1)));
    EXPECT_TRUE((*store)->loadStatuses("qemu")->empty());
    AuditRecord rec;
    rec.kind = "auth";
    rec.subject = "uid=0";
    rec.object = "unix";
    rec.detail = "ok";
    ASSERT_TRUE((*store)->appendAudit(rec));
    auto audit = (*store)->loadAudit(10);
    ASSERT_TRUE(audit);
    ASSERT_EQ(audit->size(), 1u);
    EXPECT_EQ((*audit)[0].subject, "uid=0");
    EXPECT_GT((*audit)[0].timeUs, 0);
}

TEST(Store, GarbageFileIsRefusedNamingThePath) {
    TempDir dir;
    std::string path = dir.path + "/s.db";
    {
        std::ofstream f(path);
        for (int i = 0; i < 1000; ++i) {
            f << "this is not a database ";
        }
    }
    auto store = Store::open(path);
    ASSERT_FALSE(store);
    EXPECT_NE(store.error().wireMessage().find(path), std::string::npos);
    // The file was left alone: nothing is silently recreated.
    EXPECT_GT(std::filesystem::file_size(path), 1000u);
}

TEST(Store, AcknowledgedWritesSurviveSigkill) {
    TempDir dir;
    std::string path = dir.path + "/s.db";
    std::mt19937 rng(12345);
    std::set<int> acknowledged;
    int next = 0;
    for (int round = 0; round < 8; ++round) {
        int fds[2];
        ASSERT_EQ(pipe(fds), 0);
        pid_t child = fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            close(fds[0]);
            auto store = Store::open(path);
            if (!store) {
                _exit(2);
            }
            for (int i = next;; ++i) {
                if (!(*store)->putDefinition("qemu", uuidFor(i), "d" + std::to_string(i), std::string(200, 'x'))) {
                    _exit(3);
                }
                // Acknowledge only after the call returned: that is the durability promise.
                if (write(fds[1], &i, sizeof i) != sizeof i) {
                    _exit(4);
                }
            }
        }
        close(fds[1]);
        usleep(static_cast<useconds_t>(20000 + rng() % 80000));
        kill(child, SIGKILL);
        int id = 0;
        while (read(fds[0], &id, sizeof id) == sizeof id) {
            acknowledged.insert(id);
            next = std::max(next, id + 1);
        }
        close(fds[0]);
        int status = 0;
        waitpid(child, &status, 0);
        ASSERT_TRUE(WIFSIGNALED(status)) << "the writer failed on its own: " << WEXITSTATUS(status);
    }
    ASSERT_FALSE(acknowledged.empty());
    auto store = Store::open(path);
    ASSERT_TRUE(store) << store.error().wireMessage();
    auto defs = (*store)->loadDefinitions("qemu");
    ASSERT_TRUE(defs);
    std::set<std::string> names;
    for (const auto& d : *defs) {
        names.insert(d.name);
    }
    for (int id : acknowledged) {
        EXPECT_TRUE(names.count("d" + std::to_string(id))) << "acknowledged definition d" << id << " lost";
    }
}

TEST(Store, FullDiskIsAnErrorAndKeepsCommittedData) {
    TempDir dir;
    std::string path = dir.path + "/s.db";
    {
        auto store = Store::open(path);
        ASSERT_TRUE(store);
        ASSERT_TRUE((*store)->putDefinition("qemu", uuidFor(1), "kept", "x"));
    }
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // A file size limit makes writes fail with EFBIG, as a full disk makes them fail.
        signal(SIGXFSZ, SIG_IGN);
        auto store = Store::open(path);
        if (!store) {
            _exit(2);
        }
        struct rlimit lim {};
        lim.rlim_cur = lim.rlim_max = 64 * 1024;
        setrlimit(RLIMIT_FSIZE, &lim);
        std::string big(200 * 1024, 'y');
        auto r = (*store)->putDefinition("qemu", uuidFor(2), "big", big);
        _exit(r ? 10 : 0);  // 0: the failure was reported as an error, no crash
    }
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    auto store = Store::open(path);
    ASSERT_TRUE(store) << store.error().wireMessage();
    auto defs = (*store)->loadDefinitions("qemu");
    ASSERT_TRUE(defs);
    ASSERT_EQ(defs->size(), 1u);
    EXPECT_EQ((*defs)[0].name, "kept");
}
