// SPDX-License-Identifier: LGPL-2.1-or-later
// Store: the daemon's persistent state in SQLite (WAL, synchronous=FULL): domain definitions,
// autostart flags, runtime status for reconnecting, and audit records. Every method commits
// before it returns, so an acknowledged change survives kill -9 and power loss.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"
#include "util/uuid.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace corral::objects {

struct DefinitionRecord {
    std::string driver;
    Uuid uuid;
    std::string name;
    std::string xml;
    bool autostart = false;
};

struct StatusRecord {
    std::string driver;
    Uuid uuid;
    std::string name;
    std::string status;  ///< opaque to the store: the driver's live XML and runtime facts
};

struct AuditRecord {
    std::int64_t timeUs = 0;  ///< 0 when appending: the store stamps the current time
    std::string kind;
    std::string subject;
    std::string object;
    std::string detail;
    bool success = true;
};

/// The owner a file had before it was given to a guest, and which inode was given.
struct FileOwner {
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::uint32_t mode = 0;
    std::uint64_t dev = 0;  ///< st_dev of the inode given
    std::uint64_t ino = 0;  ///< st_ino of the inode given
    /// Where that inode was, every symbolic link resolved; "" for an entry journaled by a
    /// corrald older than schema version 3, which knew no inode (dev, ino and the given
    /// identity are then 0).
    std::string target;
    std::uint32_t givenUid = 0;  ///< the guest identity the file was given to
    std::uint32_t givenGid = 0;
};

/// Thread-safe: one internal mutex serializes every call. Errors are OperationFailed with the
/// SQLite message and the store's path ("the disk is full" when the disk is full), except
/// where a method says otherwise.
class Store {
public:
    /// Opens or creates the database at `path` (its directory must exist): WAL,
    /// synchronous=FULL, foreign keys, busy timeout, schema migrations, quick_check. A file that
    /// is not a database or fails the check is an error naming the path: never recreated. A new
    /// store is built as PATH.new and renamed into place, so an empty file at `path` is a lost
    /// store, refused as such, never a new install.
    static Result<std::unique_ptr<Store>> open(const std::string& path);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    /// Inserts or replaces the definition of (driver, uuid); its autostart flag is kept.
    /// A name already used by another UUID of the same driver is an OperationFailed error
    /// naming the name.
    Result<void> putDefinition(std::string_view driver, const Uuid& uuid, std::string_view name,
                               std::string_view xml);
    /// Removes a definition with its autostart flag; an absent one is not an error.
    Result<void> removeDefinition(std::string_view driver, const Uuid& uuid);
    /// NoDomain error when (driver, uuid) has no definition.
    Result<void> setAutostart(std::string_view driver, const Uuid& uuid, bool on);
    /// Every definition of `driver`, ordered by name.
    Result<std::vector<DefinitionRecord>> loadDefinitions(std::string_view driver);

    /// Inserts or replaces the runtime status of (driver, uuid).
    Result<void> putStatus(std::string_view driver, const Uuid& uuid, std::string_view name,
                           std::string_view status);
    /// Removes a runtime status; an absent one is not an error.
    Result<void> removeStatus(std::string_view driver, const Uuid& uuid);
    /// Every runtime status of `driver`, ordered by name.
    Result<std::vector<StatusRecord>> loadStatuses(std::string_view driver);

    Result<void> appendAudit(const AuditRecord& rec);
    /// The newest `limit` records, oldest first.
    Result<std::vector<AuditRecord>> loadAudit(std::size_t limit);

    /// The file-owner journal (DAC): records `holder` as a user of `path`, and the file's
    /// original owner when it is the first.
    Result<void> rememberFileOwner(std::string_view path, std::string_view holder, const FileOwner& original);
    /// Drops `holder`; the original owner when no holder remains (the record goes with it).
    Result<std::optional<FileOwner>> releaseFileOwner(std::string_view path, std::string_view holder);
    /// The paths `holder` holds, or with "" every holder that holds something.
    Result<std::vector<std::string>> fileOwnerHolders(std::string_view holder);

    /// Runs `fn` in one transaction (BEGIN IMMEDIATE ... COMMIT): all its writes commit together,
    /// or none when fn fails (ROLLBACK). The put/remove methods and transaction() called inside
    /// fn join it. Other threads' calls wait until it ends.
    Result<void> transaction(const std::function<Result<void>()>& fn);

private:
    Store(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
    /// Opens `path` (creating it with `create`) and sets it up.
    static Result<std::unique_ptr<Store>> openFile(const std::string& path, bool create);
    /// Builds a new store at PATH.new and renames it to `path`.
    static Result<void> createFile(const std::string& path);
    /// `growWal`: false for a store that is about to be closed (see growWalToWorkingSize).
    Result<void> setUp(bool growWal);
    Result<int> schemaVersion();
    Result<void> migrate();
    /// Brings the WAL file to its working size with zeros, so commits do not grow it; logs and
    /// carries on when it cannot.
    void growWalToWorkingSize();
    /// The first column of the first row `sql` gives, as an integer.
    Result<std::int64_t> queryInt(const char* sql, std::string_view what);
    Unexpected sqliteError(std::string_view what) const;
    Result<void> exec(const char* sql, std::string_view what);
    Result<sqlite3_stmt*> prepare(const char* sql);
    /// Runs a prepared write statement inside the current transaction or its own.
    Result<void> write(sqlite3_stmt* stmt, std::string_view what);

    sqlite3* db_;
    std::string path_;
    std::recursive_mutex mutex_;
    int transactionDepth_ = 0;
    std::vector<std::pair<const char*, sqlite3_stmt*>> statements_;
};

}  // namespace corral::objects
