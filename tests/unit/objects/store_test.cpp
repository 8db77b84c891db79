// SPDX-License-Identifier: LGPL-2.1-or-later
// Store: CRUD, autostart, transactions, reopening, damaged files, schema versions, threads.
#include "objects/store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "store_test_util.hpp"

using namespace corral;
using namespace corral::objects;
using namespace corral::objects::testing;

namespace {

std::unique_ptr<Store> openOrDie(const std::string& path) {
    auto store = Store::open(path);
    if (!store) {
        ADD_FAILURE() << store.error().wireMessage();
        return nullptr;
    }
    return std::move(*store);
}

}  // namespace

TEST(Store, DefinitionsRoundTripAndKeepAutostart) {
    TempDir dir;
    auto store = openOrDie(dir.path + "/s.db");
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->putDefinition("qemu", uuidFor(1), "a", "<domain/>"));
    ASSERT_TRUE(store->setAutostart("qemu", uuidFor(1), true));
    // Replacing the XML (and renaming) keeps the autostart flag.
    ASSERT_TRUE(store->putDefinition("qemu", uuidFor(1), "a2", "<domain type='qemu'/>"));
    ASSERT_TRUE(store->putDefinition("lxc", uuidFor(2), "a2", "<domain/>"));  // names per driver
    auto defs = store->loadDefinitions("qemu");
    ASSERT_TRUE(defs);
    ASSERT_EQ(defs->size(), 1u);
    EXPECT_EQ((*defs)[0].driver, "qemu");
    EXPECT_EQ((*defs)[0].uuid, uuidFor(1));
    EXPECT_EQ((*defs)[0].name, "a2");
    EXPECT_EQ((*defs)[0].xml, "<domain type='qemu'/>");
    EXPECT_TRUE((*defs)[0].autostart);
    ASSERT_TRUE(store->setAutostart("qemu", uuidFor(1), false));
    EXPECT_FALSE(store->loadDefinitions("qemu")->at(0).autostart);
    ASSERT_TRUE(store->setAutostart("qemu", uuidFor(1), true));

    ASSERT_TRUE(store->removeDefinition("qemu", uuidFor(1)));
    EXPECT_TRUE(store->loadDefinitions("qemu")->empty());
    EXPECT_EQ(store->loadDefinitions("lxc")->size(), 1u);
    ASSERT_TRUE(store->removeDefinition("qemu", uuidFor(1)));  // absent: not an error

    // Removing cleared autostart: defining again starts with it off.
    ASSERT_TRUE(store->putDefinition("qemu", uuidFor(1), "a", "<domain/>"));
    EXPECT_FALSE(store->loadDefinitions("qemu")->at(0).autostart);
}

TEST(Store, AutostartOfAMissingDefinitionIsAnError) {
    TempDir dir;
    auto store = openOrDie(dir.path + "/s.db");
    ASSERT_TRUE(store);
    auto missing = store->setAutostart("qemu", uuidFor(7), true);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::NoDomain);
    EXPECT_NE(missing.error().message.find(uuidFor(7).toString()), std::string::npos);
    // Another driver's definition with that UUID does not count.
    ASSERT_TRUE(store->putDefinition("lxc", uuidFor(7), "c", "<domain/>"));
    EXPECT_FALSE(store->setAutostart("qemu", uuidFor(7), true));
}

TEST(Store, NameClashIsRefusedNamingTheName) {
    TempDir dir;
    auto store = openOrDie(dir.path + "/s.db");
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->putDefinition("qemu", uuidFor(1), "web1", "x"));
    auto clash = store->putDefinition("qemu", uuidFor(2), "web1", "y");
    ASSERT_FALSE(clash);
    EXPECT_EQ(clash.error().code, ErrorCode::OperationFailed);
    EXPECT_NE(clash.error().message.find("'web1'"), std::string::npos) << clash.error().message;
    EXPECT_NE(clash.error().message.find("already used"), std::string::npos);
    auto defs = store->loadDefinitions("qemu");
    ASSERT_EQ(defs->size(), 1u);
    EXPECT_EQ((*defs)[0].xml, "x");
}

TEST(Store, TransactionCommitsAllOrNothing) {
    TempDir dir;
    auto store = openOrDie(dir.path + "/s.db");
    ASSERT_TRUE(store);
    auto r = store->transaction([&]() -> Result<void> {
        CORRAL_TRY(store->putDefinition("qemu", uuidFor(1), "a", "x"));
        CORRAL_TRY(store->putStatus("qemu", uuidFor(1), "a", "running"));
        return fail(ErrorCode::InternalError, "boom");
    });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "boom");
    EXPECT_TRUE(store->loadDefinitions("qemu")->empty());
    EXPECT_TRUE(store->loadStatuses("qemu")->empty());

    // A failing statement (a name clash) inside the transaction rolls back the earlier ones.
    ASSERT_TRUE(store->putDefinition("qemu", uuidFor(5000), "taken", "x"));
    auto clash = store->transaction([&]() -> Result<void> {
        CORRAL_TRY(store->putDefinition("qemu", uuidFor(1), "a", "x"));
        CORRAL_TRY(store->putDefinition("qemu", uuidFor(2), "taken", "x"));
        return {};
    });
    ASSERT_FALSE(clash);
    EXPECT_EQ(store->loadDefinitions("qemu")->size(), 1u);

    ASSERT_TRUE(store->transaction([&]() -> Result<void> {
        for (int i = 0; i < 1000; ++i) {
            CORRAL_TRY(store->putDefinition("qemu", uuidFor(i), "d" + std::to_string(i), "x"));
        }
        return {};
    }));
    EXPECT_EQ(store->loadDefinitions("qemu")->size(), 1001u);
}

TEST(Store, NestedTransactionFailureLeavesTheOuterOne) {
    TempDir dir;
    auto store = openOrDie(dir.path + "/s.db");
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->transaction([&]() -> Result<void> {
        CORRAL_TRY(store->putDefinition("qemu", uuidFor(1), "outer", "x"));
        auto inner = store->transaction([&]() -> Result<void> {
            CORRAL_TRY(store->putDefinition("qemu", uuidFor(2), "inner", "x"));
            return fail(ErrorCode::InternalError, "inner fails");
        });
        EXPECT_FALSE(inner);
        return store->transaction(
            [&]() { return store->putDefinition("qemu", uuidFor(3), "inner2", "x"); });
    }));
    auto defs = store->loadDefinitions("qemu");
    ASSERT_EQ(defs->size(), 2u);
    EXPECT_EQ((*defs)[0].name, "inner2");
    EXPECT_EQ((*defs)[1].name, "outer");
}

TEST(Store, StatusesAndAudit) {
    TempDir dir;
    auto store = openOrDie(dir.path + "/s.db");
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->putStatus("qemu", uuidFor(1), "a", "<live/>"));
    ASSERT_TRUE(store->putStatus("qemu", uuidFor(1), "a", "<live pid='3'/>"));
    ASSERT_TRUE(store->putStatus("lxc", uuidFor(2), "b", "<other/>"));
    auto statuses = store->loadStatuses("qemu");
    ASSERT_TRUE(statuses);
    ASSERT_EQ(statuses->size(), 1u);
    EXPECT_EQ((*statuses)[0].status, "<live pid='3'/>");
    EXPECT_EQ((*statuses)[0].uuid, uuidFor(1));
    EXPECT_EQ((*statuses)[0].name, "a");
    ASSERT_TRUE(store->removeStatus("qemu", uuidFor(1)));
    EXPECT_TRUE(store->loadStatuses("qemu")->empty());
    EXPECT_EQ(store->loadStatuses("lxc")->size(), 1u);

    for (int i = 0; i < 5; ++i) {
        AuditRecord rec;
        rec.timeUs = i == 4 ? 0 : 1000 + i;
        rec.kind = "auth";
        rec.subject = "uid=" + std::to_string(i);
        rec.object = "unix";
        rec.detail = "ok";
        rec.success = i % 2 == 0;
        ASSERT_TRUE(store->appendAudit(rec));
    }
    auto audit = store->loadAudit(3);
    ASSERT_TRUE(audit);
    ASSERT_EQ(audit->size(), 3u);  // the newest three, oldest first
    EXPECT_EQ((*audit)[0].subject, "uid=2");
    EXPECT_EQ((*audit)[0].timeUs, 1002);
    EXPECT_TRUE((*audit)[0].success);
    EXPECT_FALSE((*audit)[1].success);
    EXPECT_EQ((*audit)[2].subject, "uid=4");
    EXPECT_GT((*audit)[2].timeUs, 1000000);  // stamped by the store
    EXPECT_EQ(store->loadAudit(100)->size(), 5u);
}

TEST(Store, ReopenKeepsEverything) {
    TempDir dir;
    std::string path = dir.path + "/s.db";
    {
        auto store = openOrDie(path);
        ASSERT_TRUE(store);
        ASSERT_TRUE(store->putDefinition("qemu", uuidFor(1), "a", "<domain>a</domain>"));
        ASSERT_TRUE(store->setAutostart("qemu", uuidFor(1), true));
        ASSERT_TRUE(store->putStatus("qemu", uuidFor(1), "a", "live"));
        AuditRecord rec;
        rec.kind = "start";
        ASSERT_TRUE(store->appendAudit(rec));
    }
    auto store = openOrDie(path);
    ASSERT_TRUE(store);
    auto defs = store->loadDefinitions("qemu");
    ASSERT_EQ(defs->size(), 1u);
    EXPECT_EQ((*defs)[0].xml, "<domain>a</domain>");
    EXPECT_TRUE((*defs)[0].autostart);
    EXPECT_EQ(store->loadStatuses("qemu")->size(), 1u);
    EXPECT_EQ(store->loadAudit(10)->size(), 1u);
    EXPECT_EQ(rawQuery(path, "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(rawQuery(path, "SELECT version FROM schema_version"), "3");
}

TEST(Store, FileOwnerJournalGivesBackOnlyWhenTheLastHolderLeaves) {
    TempDir dir;
    std::string path = dir.path + "/s.db";
    {
        auto store = openOrDie(path);
        ASSERT_TRUE(store);
        ASSERT_TRUE(store->rememberFileOwner("/img/shared.iso", "guest-a", {1000, 100, 0644, 0, 0, "", 0, 0}));
        // The second holder does not overwrite the original owner (the file is already given).
        ASSERT_TRUE(store->rememberFileOwner("/img/shared.iso", "guest-b", {200001, 200001, 0644, 0, 0, "", 0, 0}));
        ASSERT_TRUE(store->rememberFileOwner("/img/a.img", "guest-a", {0, 0, 0600, 0, 0, "", 0, 0}));
    }
    // Survives a restart (the daemon killed between chown and stop).
    auto store = openOrDie(path);
    ASSERT_TRUE(store);
    EXPECT_EQ(*store->fileOwnerHolders(""), (std::vector<std::string>{"guest-a", "guest-b"}));
    EXPECT_EQ(*store->fileOwnerHolders("guest-a"), (std::vector<std::string>{"/img/a.img", "/img/shared.iso"}));
    auto first = store->releaseFileOwner("/img/shared.iso", "guest-a");
    ASSERT_TRUE(first);
    EXPECT_FALSE(first->has_value());  // guest-b still uses it
    auto last = store->releaseFileOwner("/img/shared.iso", "guest-b");
    ASSERT_TRUE(last && last->has_value());
    EXPECT_EQ((*last)->uid, 1000u);
    EXPECT_EQ((*last)->gid, 100u);
    EXPECT_EQ((*last)->mode, 0644u);
    // Releasing again, or a path never given, changes nothing.
    EXPECT_FALSE(store->releaseFileOwner("/img/shared.iso", "guest-b")->has_value());
    EXPECT_FALSE(store->releaseFileOwner("/nowhere", "guest-a")->has_value());
    EXPECT_EQ(*store->fileOwnerHolders(""), (std::vector<std::string>{"guest-a"}));
}

TEST(Store, FileOwnerJournalKeepsTheInodeGiven) {
    TempDir dir;
    std::string path = dir.path + "/s.db";
    {
        auto store = openOrDie(path);
        ASSERT_TRUE(store);
        // Device numbers and inodes use all 64 bits; SQLite keeps them bit for bit.
        FileOwner owner{1000, 100, 0640, 0xfedcba9876543210ULL, 0x8000000000000001ULL, "/srv/real.img", 300001, 300002};
        ASSERT_TRUE(store->rememberFileOwner("/srv/link.img", "guest-a", owner));
    }
    auto store = openOrDie(path);
    ASSERT_TRUE(store);
    auto back = store->releaseFileOwner("/srv/link.img", "guest-a");
    ASSERT_TRUE(back && back->has_value());
    EXPECT_EQ((*back)->mode, 0640u);
    EXPECT_EQ((*back)->dev, 0xfedcba9876543210ULL);
    EXPECT_EQ((*back)->ino, 0x8000000000000001ULL);
    EXPECT_EQ((*back)->target, "/srv/real.img");
    EXPECT_EQ((*back)->givenUid, 300001u);
    EXPECT_EQ((*back)->givenGid, 300002u);
}

TEST(Store, AVersion2JournalIsMigratedAndSaysItKnowsNoInode) {
    TempDir dir;
    std::string path = dir.path + "/s.db";
    ASSERT_TRUE(openOrDie(path));
    // The file as a corrald of schema version 2 left it, with one file given away.
    EXPECT_EQ(rawQuery(path, "ALTER TABLE file_owners DROP COLUMN given_gid"), "");
    EXPECT_EQ(rawQuery(path, "ALTER TABLE file_owners DROP COLUMN given_uid"), "");
    EXPECT_EQ(rawQuery(path, "ALTER TABLE file_owners DROP COLUMN target"), "");
    EXPECT_EQ(rawQuery(path, "ALTER TABLE file_owners DROP COLUMN ino"), "");
    EXPECT_EQ(rawQuery(path, "ALTER TABLE file_owners DROP COLUMN dev"), "");
    EXPECT_EQ(rawQuery(path, "UPDATE schema_version SET version = 2"), "");
    EXPECT_EQ(rawQuery(path, "INSERT INTO file_owners (path, uid, gid, mode) VALUES ('/img/a.img', 7, 8, 420)"), "");
    EXPECT_EQ(rawQuery(path, "INSERT INTO file_holders (path, holder) VALUES ('/img/a.img', 'g')"), "");
    auto store = openOrDie(path);
    ASSERT_TRUE(store);
    EXPECT_EQ(rawQuery(path, "SELECT version FROM schema_version"), "3");
    auto back = store->releaseFileOwner("/img/a.img", "g");
    ASSERT_TRUE(back && back->has_value());
    EXPECT_EQ((*back)->uid, 7u);
    EXPECT_EQ((*back)->mode, 0644u);
    EXPECT_EQ((*back)->target, "");
    EXPECT_EQ((*back)->ino, 0u);
}

TEST(Store, AnEmptyFileIsRefusedNotTakenForANewInstall) {
    TempDir dir;
    std::string path = dir.path + "/s.db";
    std::ofstream(path).close();  // a store truncated to nothing
    auto store = Store::open(path);
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().code, ErrorCode::OperationFailed);
    std::string msg = store.error().wireMessage();
    EXPECT_NE(msg.find("store '" + path + "' is empty (0 bytes)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("restore it from a backup"), std::string::npos) << msg;
    EXPECT_EQ(std::filesystem::file_size(path), 0u);  // left as it was
    EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST(Store, ANewStoreAppearsWholeUnderItsName) {
    TempDir dir;
    std::string path = dir.path + "/s.db";
    // What a daemon killed while creating a store left behind is not in the way.
    std::ofstream(path + ".new") << "half-built";
    auto store = openOrDie(path);
    ASSERT_TRUE(store);
    EXPECT_GT(std::filesystem::file_size(path), 0u);
    EXPECT_FALSE(std::filesystem::exists(path + ".new"));
    EXPECT_EQ(rawQuery(path, "SELECT version FROM schema_version"), "3");
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
    auto size = std::filesystem::file_size(path);
    auto store = Store::open(path);
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().code, ErrorCode::OperationFailed);
    std::string msg = store.error().wireMessage();
    EXPECT_NE(msg.find("'" + path + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("restore it from a backup or move it aside"), std::string::npos) << msg;
    // The file was left alone: nothing is silently recreated.
    EXPECT_EQ(std::filesystem::file_size(path), size);
}

TEST(Store, DamagedPagesAreRefusedNamingThePath) {
    TempDir dir;
    std::string path = dir.path + "/s.db";
    {
        auto store = openOrDie(path);
        ASSERT_TRUE(store);
        ASSERT_TRUE(store->transaction([&]() -> Result<void> {
            for (int i = 0; i < 300; ++i) {
                CORRAL_TRY(store->putDefinition("qemu", uuidFor(i), "d" + std::to_string(i),
                                                std::string(300, 'x')));
            }
            return {};
        }));
    }
    auto size = std::filesystem::file_size(path);
    ASSERT_GT(size, 8192u);
    {
        // Keep the header page; scribble over everything after it.
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(4096);
        std::string junk(size - 4096, '\x5a');
        f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    }
    auto store = Store::open(path);
    ASSERT_FALSE(store);
    EXPECT_NE(store.error().message.find("'" + path + "'"), std::string::npos)
        << store.error().message;
}

TEST(Store, MissingDirectoryIsAnErrorNamingThePath) {
    auto store = Store::open("/nonexistent-corral-dir/s.db");
    ASSERT_FALSE(store);
    EXPECT_NE(store.error().message.find("'/nonexistent-corral-dir/s.db'"), std::string::npos)
        << store.error().message;
}

TEST(Store, NewerSchemaIsRefused) {
    TempDir dir;
    std::string path = dir.path + "/s.db";
    ASSERT_TRUE(openOrDie(path));
    EXPECT_EQ(rawQuery(path, "UPDATE schema_version SET version = 99"), "");
    auto store = Store::open(path);
    ASSERT_FALSE(store);
    EXPECT_NE(store.error().message.find("schema version 99, newer than this corrald understands"),
              std::string::npos)
        << store.error().message;
}

TEST(Store, ConcurrentWritersLoseNothing) {
    TempDir dir;
    auto store = openOrDie(dir.path + "/s.db");
    ASSERT_TRUE(store);
    constexpr int kThreads = 4;
    constexpr int kEach = 50;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                int n = t * kEach + i;
                bool ok = i % 10 == 0
                              ? static_cast<bool>(store->transaction([&] {
                                    return store->putDefinition("qemu", uuidFor(n),
                                                                "d" + std::to_string(n), "x");
                                }))
                              : static_cast<bool>(store->putDefinition(
                                    "qemu", uuidFor(n), "d" + std::to_string(n), "x"));
                if (!ok || !store->putStatus("qemu", uuidFor(n), "d", "s")) {
                    failures++;
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(store->loadDefinitions("qemu")->size(), static_cast<std::size_t>(kThreads * kEach));
    EXPECT_EQ(store->loadStatuses("qemu")->size(), static_cast<std::size_t>(kThreads * kEach));
}

TEST(Store, AMalformedUuidIsAnErrorNamingTheStoreNotARowDropped) {
    TempDir dir;
    std::string path = dir.path + "/s.db";
    ASSERT_TRUE(openOrDie(path));
    EXPECT_EQ(rawQuery(path, "INSERT INTO definitions (driver, uuid, name, xml, autostart) "
                             "VALUES ('qemu', 'not-a-uuid', 'g', '<domain/>', 0)"), "");
    EXPECT_EQ(rawQuery(path, "INSERT INTO statuses (driver, uuid, name, status) "
                             "VALUES ('qemu', 'also-not', 'g', '{}')"), "");
    auto store = openOrDie(path);
    ASSERT_TRUE(store);
    auto defs = store->loadDefinitions("qemu");
    ASSERT_FALSE(defs);
    EXPECT_EQ(defs.error().message, "store '" + path + "' holds a malformed uuid 'not-a-uuid'");
    auto statuses = store->loadStatuses("qemu");
    ASSERT_FALSE(statuses);
    EXPECT_EQ(statuses.error().message, "store '" + path + "' holds a malformed uuid 'also-not'");
}
