// SPDX-License-Identifier: LGPL-2.1-or-later
// Store durability: acknowledged writes survive SIGKILL at random points; a full disk is an
// error, not a crash, and leaves the committed data intact.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "objects/store.hpp"
#include "store_test_util.hpp"

using namespace corral;
using namespace corral::objects;
using namespace corral::objects::testing;

namespace {

/// Units the writer commits: most are one definition, every fourth is a transaction of three.
constexpr int kBatch = 3;
bool isBatch(int unit) { return unit % 4 == 3; }
Uuid unitUuid(int unit, int part) { return uuidFor(unit * 4 + part); }
std::string unitName(int unit, int part) {
    return "u" + std::to_string(unit) + "-" + std::to_string(part);
}

/// The child's body: writes units from `first` on forever, sending each unit's number on `fd`
/// after the call that stored it returned. Never returns.
[[noreturn]] void writeForever(const std::string& path, int first, int fd) {
    auto store = Store::open(path);
    if (!store) {
        _exit(2);
    }
    for (int unit = first;; ++unit) {
        Result<void> r;
        if (isBatch(unit)) {
            r = (*store)->transaction([&]() -> Result<void> {
                for (int part = 0; part < kBatch; ++part) {
                    CORRAL_TRY((*store)->putDefinition("qemu", unitUuid(unit, part),
                                                       unitName(unit, part),
                                                       std::string(300, 'b')));
                }
                return {};
            });
        } else {
            r = (*store)->putDefinition("qemu", unitUuid(unit, 0), unitName(unit, 0),
                                        std::string(300, 'x'));
        }
        if (!r) {
            _exit(3);
        }
        if (write(fd, &unit, sizeof unit) != sizeof unit) {
            _exit(4);
        }
    }
}

}  // namespace

TEST(StoreDurability, AcknowledgedWritesSurviveSigkill) {
    TempDir dir;
    std::string path = dir.path + "/s.db";
    std::random_device device;
    unsigned seed = device();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    std::set<int> acknowledged;
    int next = 0;
    for (int round = 0; round < 10; ++round) {
        int fds[2];
        ASSERT_EQ(pipe(fds), 0);
        pid_t child = fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            close(fds[0]);
            writeForever(path, next, fds[1]);
        }
        close(fds[1]);
        // The kill point: after a random number of acknowledgements, while the child is
        // somewhere inside its next write.
        int waitFor = 1 + static_cast<int>(rng() % 40);
        int unit = 0;
        int seen = 0;
        while (seen < waitFor && read(fds[0], &unit, sizeof unit) == sizeof unit) {
            acknowledged.insert(unit);
            ++seen;
        }
        kill(child, SIGKILL);
        while (read(fds[0], &unit, sizeof unit) == sizeof unit) {
            acknowledged.insert(unit);
        }
        close(fds[0]);
        int status = 0;
        waitpid(child, &status, 0);
        ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped on its own, exit status "
                                         << WEXITSTATUS(status);
        ASSERT_EQ(rawQuery(path, "PRAGMA integrity_check"), "ok") << "after round " << round;
        if (!acknowledged.empty()) {
            next = *acknowledged.rbegin() + 1;
        }
    }
    ASSERT_FALSE(acknowledged.empty());

    auto store = Store::open(path);
    ASSERT_TRUE(store) << store.error().wireMessage();
    auto defs = (*store)->loadDefinitions("qemu");
    ASSERT_TRUE(defs);
    std::set<std::string> names;
    std::map<int, int> batchParts;  // batch unit -> parts present
    for (const auto& d : *defs) {
        names.insert(d.name);
        int unit = std::stoi(d.name.substr(1, d.name.find('-') - 1));
        if (isBatch(unit)) {
            batchParts[unit]++;
        }
    }
    for (int unit : acknowledged) {
        int parts = isBatch(unit) ? kBatch : 1;
        for (int part = 0; part < parts; ++part) {
            EXPECT_TRUE(names.count(unitName(unit, part)))
                << "acknowledged definition " << unitName(unit, part) << " lost";
        }
    }
    for (auto [unit, parts] : batchParts) {
        EXPECT_EQ(parts, kBatch) << "transaction of unit " << unit << " half committed";
    }
    EXPECT_EQ(rawQuery(path, "PRAGMA integrity_check"), "ok");
}

TEST(StoreDurability, FullDiskIsAnErrorAndKeepsCommittedData) {
    TempDir dir;
    std::string path = dir.path + "/s.db";
    {
        auto store = Store::open(path);
        ASSERT_TRUE(store) << store.error().wireMessage();
        ASSERT_TRUE((*store)->putDefinition("qemu", uuidFor(1), "kept", "<domain/>"));
    }
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // A file size limit makes writes fail (EFBIG, short writes) as a full disk does.
        close(fds[0]);
        signal(SIGXFSZ, SIG_IGN);
        auto report = [&](const std::string& text) {
            (void)!write(fds[1], text.data(), text.size());
        };
        auto store = Store::open(path);
        if (!store) {
            report(store.error().wireMessage());
            _exit(2);
        }
        struct rlimit old {};
        getrlimit(RLIMIT_FSIZE, &old);
        struct rlimit small = old;
        small.rlim_cur = 64 * 1024;
        if (setrlimit(RLIMIT_FSIZE, &small) != 0) {
            _exit(3);
        }
        std::string big(256 * 1024, 'y');
        auto single = (*store)->putDefinition("qemu", uuidFor(2), "big", big);
        if (single) {
            _exit(10);
        }
        report(single.error().wireMessage() + "\n");
        auto batch = (*store)->transaction([&]() -> Result<void> {
            CORRAL_TRY((*store)->putDefinition("qemu", uuidFor(3), "small", "<domain/>"));
            return (*store)->putDefinition("qemu", uuidFor(4), "big2", big);
        });
        if (batch) {
            _exit(11);
        }
        // Lift the limit: the same connection works again and sees only the committed data.
        setrlimit(RLIMIT_FSIZE, &old);
        auto defs = (*store)->loadDefinitions("qemu");
        if (!defs || defs->size() != 1 || (*defs)[0].name != "kept") {
            _exit(12);
        }
        if (!(*store)->putDefinition("qemu", uuidFor(5), "after", "<domain/>")) {
            _exit(13);
        }
        _exit(0);
    }
    close(fds[1]);
    std::string reported;
    char buf[512];
    ssize_t n = 0;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) {
        reported.append(buf, static_cast<std::size_t>(n));
    }
    close(fds[0]);
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status)) << "the writer crashed, signal " << WTERMSIG(status);
    ASSERT_EQ(WEXITSTATUS(status), 0) << reported;
    EXPECT_NE(reported.find("cannot store the definition of domain 'big' in store '" + path + "'"),
              std::string::npos)
        << reported;

    EXPECT_EQ(rawQuery(path, "PRAGMA integrity_check"), "ok");
    auto store = Store::open(path);
    ASSERT_TRUE(store) << store.error().wireMessage();
    auto defs = (*store)->loadDefinitions("qemu");
    ASSERT_TRUE(defs);
    ASSERT_EQ(defs->size(), 2u);
    EXPECT_EQ((*defs)[0].name, "after");
    EXPECT_EQ((*defs)[1].name, "kept");
}

TEST(StoreDurability, WalIsGrownAtOpenWithoutTouchingItsFrames) {
    TempDir dir;
    std::string path = dir.path + "/s.db";
    std::string wal = path + "-wal";
    {
        auto store = Store::open(path);
        ASSERT_TRUE(store) << store.error().wireMessage();
        // Grown at open to what it holds between two checkpoints (1000 pages of 4 KiB).
        EXPECT_GE(std::filesystem::file_size(wal), 1000u * 4096u);
    }
    EXPECT_FALSE(std::filesystem::exists(wal));  // checkpointed and removed at close, as SQLite does
    // A writer dies with a committed row only in a WAL shorter than the working size.
    std::string uuid = uuidFor(7).toString();
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        sqlite3* db = nullptr;
        if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
            _exit(2);
        }
        std::string sql = "PRAGMA synchronous=FULL; INSERT INTO definitions (driver, uuid, name, xml) VALUES ('qemu', '" +
                          uuid + "', 'in-wal', '<domain/>')";
        _exit(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK ? 0 : 3);
    }
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    auto shortWal = std::filesystem::file_size(wal);
    ASSERT_GT(shortWal, 0u);
    ASSERT_LT(shortWal, 1000u * 4096u);

    auto store = Store::open(path);
    ASSERT_TRUE(store) << store.error().wireMessage();
    EXPECT_GE(std::filesystem::file_size(wal), 1000u * 4096u);
    ASSERT_TRUE((*store)->putDefinition("qemu", uuidFor(8), "after", "<domain/>"));
    auto defs = (*store)->loadDefinitions("qemu");
    ASSERT_TRUE(defs);
    ASSERT_EQ(defs->size(), 2u);
    EXPECT_EQ((*defs)[0].name, "after");
    EXPECT_EQ((*defs)[1].name, "in-wal");
    store->reset();
    EXPECT_EQ(rawQuery(path, "PRAGMA integrity_check"), "ok");
    EXPECT_EQ(rawQuery(path, "SELECT count(*) FROM definitions"), "2");
}
