// SPDX-License-Identifier: LGPL-2.1-or-later
// Store: the daemon's persistent state in SQLite (WAL, synchronous=FULL): domain definitions,
// autostart flags, runtime status for reconnecting, and audit records. Every method commits
// before it returns, so an acknowledged change survives kill -9 and power loss.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
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
    std::int64_t timeUs = 0;
    std::string kind;
    std::string subject;
    std::string object;
    std::string detail;
    bool success = true;
};

class Store {
public:
    /// Opens or creates the database at `path` (its directory must exist). A file that is not a
    /// database, or fails the integrity check, is an error naming the path: never recreated.
    static Result<std::unique_ptr<Store>> open(const std::string& path);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    /// Inserts or replaces a definition (autostart is kept). Errors: OperationFailed when
    /// another UUID of the same driver has that name; SystemError for I/O (disk full...).
    Result<void> putDefinition(std::string_view driver, const Uuid& uuid, std::string_view name,
                               std::string_view xml);
    /// Removes a definition and its autostart flag; absent is not an error.
    Result<void> removeDefinition(std::string_view driver, const Uuid& uuid);
    /// Errors: NoDomain when there is no such definition.
    Result<void> setAutostart(std::string_view driver, const Uuid& uuid, bool on);
    Result<std::vector<DefinitionRecord>> loadDefinitions(std::string_view driver);

    Result<void> putStatus(std::string_view driver, const Uuid& uuid, std::string_view name,
                           std::string_view status);
    Result<void> removeStatus(std::string_view driver, const Uuid& uuid);
    Result<std::vector<StatusRecord>> loadStatuses(std::string_view driver);

    Result<void> appendAudit(const AuditRecord& rec);
    /// The newest `limit` records, oldest first.
    Result<std::vector<AuditRecord>> loadAudit(std::size_t limit);

    /// Runs `fn` in one transaction: all its writes commit together, or none (fn failed).
    Result<void> transaction(const std::function<Result<void>()>& fn);

private:
    Store(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
    Unexpected sqliteError(std::string_view what) const;
    Result<void> exec(const char* sql);
    Result<sqlite3_stmt*> prepare(const char* sql);
    /// Runs a prepared write statement inside the current transaction or its own.
    Result<void> write(sqlite3_stmt* stmt, std::string_view what);

    sqlite3* db_;
    std::string path_;
    std::recursive_mutex mutex_;
    int transactionDepth_ = 0;
    std::vector<std::pair<std::string, sqlite3_stmt*>> statements_;
};

}  // namespace corral::objects
