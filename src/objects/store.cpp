// SPDX-License-Identifier: LGPL-2.1-or-later
// Store: opening (durability settings, integrity, schema migrations), errors, transactions and
// the statements behind each method.
#include "objects/store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
#include <limits>

#include "util/logging.hpp"
#include "util/unique_fd.hpp"

namespace corral::objects {

namespace {

/// One step of the schema's history. Never edit a step once released: add the next one.
struct Migration {
    int version;
    const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE IF NOT EXISTS definitions (
    driver TEXT NOT NULL,
    uuid TEXT NOT NULL,
    name TEXT NOT NULL,
    xml TEXT NOT NULL,
    autostart INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (driver, uuid),
    UNIQUE (driver, name)
);
CREATE TABLE IF NOT EXISTS statuses (
    driver TEXT NOT NULL,
    uuid TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (driver, uuid)
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time_us INTEGER NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    object TEXT NOT NULL,
    detail TEXT NOT NULL,
    success INTEGER NOT NULL
);
)sql"},
    // Original owners of files given to guests (DAC), journaled before the chown so that a
    // daemon killed mid-way can give them back; one row per (file, guest using it).
    {2, R"sql(
CREATE TABLE IF NOT EXISTS file_owners (
    path TEXT PRIMARY KEY,
    uid INTEGER NOT NULL,
    gid INTEGER NOT NULL,
    mode INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS file_holders (
    path TEXT NOT NULL REFERENCES file_owners(path) ON DELETE CASCADE,
    holder TEXT NOT NULL,
    PRIMARY KEY (path, holder)
);
)sql"},
    // The inode given (device and inode number), where it was with every link resolved, and
    // the identity it was given to, so the owner and mode go back to that inode only, never
    // through a link re-pointed meanwhile nor to a new file that reuses the inode number.
    // Rows of version 2 keep NULL here: see releaseFileOwner.
    {3, R"sql(
ALTER TABLE file_owners ADD COLUMN dev INTEGER;
ALTER TABLE file_owners ADD COLUMN ino INTEGER;
ALTER TABLE file_owners ADD COLUMN target TEXT;
ALTER TABLE file_owners ADD COLUMN given_uid INTEGER;
ALTER TABLE file_owners ADD COLUMN given_gid INTEGER;
)sql"},
};

constexpr int kSchemaVersion = kMigrations[std::size(kMigrations) - 1].version;

constexpr int kBusyTimeoutMs = 5000;

void bindText(sqlite3_stmt* s, int i, std::string_view v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

std::string columnText(sqlite3_stmt* s, int i) {
    const unsigned char* t = sqlite3_column_text(s, i);
    if (t == nullptr) {
        return {};
    }
    return std::string(reinterpret_cast<const char*>(t),
                       static_cast<std::size_t>(sqlite3_column_bytes(s, i)));
}

/// Resets a cached statement when the scope ends, whatever path it takes.
struct StatementReset {
    sqlite3_stmt* stmt;
    explicit StatementReset(sqlite3_stmt* s) : stmt(s) {}
    StatementReset(const StatementReset&) = delete;
    StatementReset& operator=(const StatementReset&) = delete;
    ~StatementReset() {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
    }
};

bool isDamaged(int code) {
    int primary = code & 0xff;
    return primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT;
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

/// Column i as a uuid; a malformed one (a store edited by hand, or damaged) is an error naming
/// the store rather than a definition silently dropped.
Result<Uuid> columnUuid(sqlite3_stmt* s, int i, const std::string& storePath) {
    std::string text = columnText(s, i);
    auto uuid = Uuid::parse(text);
    if (!uuid) {
        return fail(ErrorCode::OperationFailed,
                    "store " + quoted(storePath) + " holds a malformed uuid " + quoted(text));
    }
    return *uuid;
}

}  // namespace

Store::~Store() {
    for (auto& [sql, stmt] : statements_) {
        sqlite3_finalize(stmt);
    }
    sqlite3_close(db_);
}

Unexpected Store::sqliteError(std::string_view what) const {
    int code = sqlite3_extended_errcode(db_);
    int primary = code & 0xff;
    int sysErr = primary == SQLITE_IOERR || primary == SQLITE_FULL ? sqlite3_system_errno(db_) : 0;
    std::string msg = std::string(what) + " in store " + quoted(path_) + ": ";
    if (primary == SQLITE_FULL || sysErr == ENOSPC || sysErr == EDQUOT) {
        msg += "the disk is full";
    } else if (sysErr == EFBIG) {
        msg += "the file size limit is reached";
    } else if (isDamaged(code)) {
        msg += std::string(sqlite3_errmsg(db_)) + "; restore it from a backup or move it aside";
    } else {
        msg += sqlite3_errmsg(db_);
        if (sysErr != 0) {
            msg += std::string(" (") + std::strerror(sysErr) + ")";
        }
    }
    return fail(ErrorCode::OperationFailed, msg);
}

Result<void> Store::exec(const char* sql, std::string_view what) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
        return sqliteError(what);
    }
    return {};
}

Result<sqlite3_stmt*> Store::prepare(const char* sql) {
    for (auto& [text, stmt] : statements_) {
        if (text == sql || std::strcmp(text, sql) == 0) {
            return stmt;
        }
    }
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) {
        return sqliteError("cannot prepare a statement");
    }
    statements_.emplace_back(sql, stmt);
    return stmt;
}

Result<std::unique_ptr<Store>> Store::openFile(const std::string& path, bool create) {
    sqlite3* db = nullptr;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        return fail(ErrorCode::OperationFailed, "cannot open store " + quoted(path) + ": " + msg);
    }
    std::unique_ptr<Store> store(new Store(db, path));
    CORRAL_TRY(store->setUp(!create));
    return store;
}

// A store is born whole: built under a temporary name and renamed into place once its schema is
// committed. So an empty file at the store's path never comes from corrald; it is a store whose
// content was lost (a truncating editor or copy, a file system repaired after a crash), and
// taking it for a new install would silently forget every definition and every file owner.
Result<void> Store::createFile(const std::string& path) {
    const std::string building = path + ".new";
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        ::unlink((building + suffix).c_str());  // left by a daemon killed while creating it
    }
    {
        auto fresh = openFile(building, true);
        if (!fresh) {
            return unexpected(std::move(fresh).withContext("cannot create store " + quoted(path)).error());
        }
        // Closing it checkpoints the WAL into the file and deletes it: the file alone is complete.
    }
    if (::rename(building.c_str(), path.c_str()) != 0) {
        return failErrno(errno, "cannot create store " + quoted(path));
    }
    std::string dir = path.substr(0, path.find_last_of('/') + 1);
    UniqueFd dirFd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dirFd || ::fsync(dirFd.get()) != 0) {
        return failErrno(errno, "cannot create store " + quoted(path) + ": syncing its directory");
    }
    return {};
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno != ENOENT) {
            return failErrno(errno, "cannot open store " + quoted(path));
        }
        CORRAL_TRY(createFile(path));  // a new install
    } else if (S_ISREG(st.st_mode) && st.st_size == 0) {
        return fail(ErrorCode::OperationFailed,
                    "store " + quoted(path) +
                        " is empty (0 bytes): it is not a new install (that has no file), its content is lost; "
                        "restore it from a backup, or remove it to start with no definitions");
    }
    return openFile(path, false);
}

Result<void> Store::setUp(bool growWal) {
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    if (sqlite3_db_readonly(db_, "main") == 1) {
        return fail(ErrorCode::OperationFailed,
                    "cannot open store " + quoted(path_) + ": the file is not writable");
    }
    // The first read of the file: a foreign or damaged file stops here, before anything is
    // written to it.
    {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v2(db_, "PRAGMA quick_check", -1, &s, nullptr) != SQLITE_OK) {
            return sqliteError("cannot check the integrity");
        }
        std::string verdict;
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            verdict = columnText(s, 0);
        }
        sqlite3_finalize(s);
        if (rc != SQLITE_ROW) {
            return sqliteError("cannot check the integrity");
        }
        if (verdict != "ok") {
            return fail(ErrorCode::OperationFailed,
                        "store " + quoted(path_) + " is damaged (" + verdict +
                            "); restore it from a backup or move it aside");
        }
    }
    // WAL with synchronous=FULL: a commit is in the fsynced log before sqlite3_step returns.
    bool walMode = false;
    {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v2(db_, "PRAGMA journal_mode=WAL", -1, &s, nullptr) != SQLITE_OK) {
            return sqliteError("cannot select the journal mode");
        }
        std::string mode;
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            mode = columnText(s, 0);
        }
        sqlite3_finalize(s);
        if (rc != SQLITE_ROW) {
            return sqliteError("cannot select the journal mode");
        }
        walMode = mode == "wal";
        if (!walMode) {
            // Still durable with synchronous=FULL, only slower: a file system without the
            // shared memory WAL needs.
            logWarning("store '" + path_ + "' uses journal mode '" + mode + "' instead of 'wal'");
        }
    }
    CORRAL_TRY(exec("PRAGMA synchronous=FULL", "cannot set synchronous=FULL"));
    CORRAL_TRY(exec("PRAGMA foreign_keys=ON", "cannot enable foreign keys"));
    CORRAL_TRY(migrate());
    if (walMode && growWal) {
        growWalToWorkingSize();
    }
    return {};
}

Result<std::int64_t> Store::queryInt(const char* sql, std::string_view what) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) {
        return sqliteError(what);
    }
    int rc = sqlite3_step(s);
    std::int64_t value = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW) {
        return sqliteError(what);
    }
    return value;
}

Result<int> Store::schemaVersion() {
    CORRAL_ASSIGN_OR_RETURN(std::int64_t version,
                            queryInt("SELECT max(version) FROM schema_version", "cannot read the schema version"));
    return static_cast<int>(version);
}

// A commit that appends past the end of the WAL file makes its fdatasync write the inode as well
// as the data; one that overwrites blocks the file already has flushes the data alone. So at open
// the WAL is grown once, with zeros, to the size it reaches between two checkpoints (3-4 ms here).
// 1000 defines on a fresh store took 0.315 s growing the WAL and 0.268 s at its working size.
// PostgreSQL zero-fills each new WAL segment for the same reason. The zeros are never read as
// frames: a frame needs the WAL header's salt and a matching checksum, so SQLite's recovery stops
// at the first zero frame, as it stops at the stale frames of an earlier pass through the WAL.
// SQLite still deletes the WAL when the store closes (after a full checkpoint): kept, its frames
// would hide damage to the database file from the integrity check at the next open.
void Store::growWalToWorkingSize() {
    // Only an optimisation: whatever fails here is logged and the store opens all the same.
    auto skipped = [&](const std::string& why) { logWarning("store '" + path_ + "': WAL not grown: " + why); };
    auto pageSize = queryInt("PRAGMA page_size", "cannot read the page size");
    auto checkpointPages = queryInt("PRAGMA wal_autocheckpoint", "cannot read the checkpoint interval");
    if (!pageSize || !checkpointPages) {
        skipped((!pageSize ? pageSize : checkpointPages).error().wireMessage());
        return;
    }
    if (*checkpointPages <= 0 || *checkpointPages > 100000) {
        return;
    }
    // 32 bytes of header, then frames of a 24-byte header and one page; the commit that crosses
    // the checkpoint threshold may add a few pages more.
    auto workingSize = static_cast<off_t>(32 + (*checkpointPages + 32) * (*pageSize + 24));
    // Only a writer appends to the WAL, and BEGIN IMMEDIATE makes this connection the only
    // writer: nothing can land past the end of the file while the zeros are written there.
    if (auto locked = exec("BEGIN IMMEDIATE", "cannot lock the WAL"); !locked) {
        skipped(locked.error().wireMessage());
        return;
    }
    // SQLite's own name for the file (it resolves a symbolic link in the store's path).
    const char* walName = sqlite3_filename_wal(sqlite3_db_filename(db_, "main"));
    std::string walPath = walName != nullptr ? walName : path_ + "-wal";
    UniqueFd fd(::open(walPath.c_str(), O_WRONLY | O_CLOEXEC));
    struct stat st {};
    std::string failure;
    if (!fd || ::fstat(fd.get(), &st) != 0) {
        failure = "cannot open '" + walPath + "': " + std::strerror(errno);
    } else if (st.st_size < workingSize) {
        static const std::array<char, 65536> kZeros{};
        for (off_t at = st.st_size; at < workingSize && failure.empty();) {
            auto n = std::min<off_t>(workingSize - at, static_cast<off_t>(kZeros.size()));
            ssize_t written = ::pwrite(fd.get(), kZeros.data(), static_cast<std::size_t>(n), at);
            if (written <= 0) {
                failure = std::strerror(written < 0 ? errno : ENOSPC);
            } else {
                at += written;
            }
        }
        if (failure.empty() && ::fdatasync(fd.get()) != 0) {
            failure = std::strerror(errno);
        }
    }
    if (auto unlocked = exec("COMMIT", "cannot unlock the WAL"); !unlocked) {
        (void)exec("ROLLBACK", "cannot unlock the WAL");
        failure += (failure.empty() ? "" : "; ") + unlocked.error().wireMessage();
    }
    if (!failure.empty()) {
        // Commits still work; they only grow the file themselves.
        skipped(failure);
    }
}

Result<void> Store::migrate() {
    CORRAL_TRY(exec("BEGIN IMMEDIATE", "cannot begin the schema update"));
    auto r = [&]() -> Result<void> {
        CORRAL_TRY(exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
                        "cannot create the schema version table"));
        CORRAL_ASSIGN_OR_RETURN(int version, schemaVersion());
        if (version > kSchemaVersion) {
            return fail(ErrorCode::OperationFailed,
                        "store " + quoted(path_) + " has schema version " +
                            std::to_string(version) + ", newer than this corrald understands (" +
                            std::to_string(kSchemaVersion) + ")");
        }
        if (version == kSchemaVersion) {
            return {};
        }
        for (const Migration& m : kMigrations) {
            if (m.version > version) {
                CORRAL_TRY(exec(m.sql, "cannot update the schema to version " +
                                           std::to_string(m.version)));
            }
        }
        CORRAL_TRY(exec("DELETE FROM schema_version", "cannot record the schema version"));
        std::string insert =
            "INSERT INTO schema_version (version) VALUES (" + std::to_string(kSchemaVersion) + ")";
        CORRAL_TRY(exec(insert.c_str(), "cannot record the schema version"));
        if (version != 0) {
            logInfo("store '" + path_ + "' updated from schema version " +
                    std::to_string(version) + " to " + std::to_string(kSchemaVersion));
        }
        return {};
    }();
    if (!r) {
        if (sqlite3_get_autocommit(db_) == 0) {
            (void)exec("ROLLBACK", "cannot roll back");
        }
        return r;
    }
    return exec("COMMIT", "cannot commit the schema update");
}

Result<void> Store::write(sqlite3_stmt* stmt, std::string_view what) {
    if (transactionDepth_ > 0 && sqlite3_get_autocommit(db_) != 0) {
        // SQLite rolled the whole transaction back on an earlier error (disk full, I/O): a
        // write now would commit on its own, outside the transaction.
        return fail(ErrorCode::OperationFailed,
                    std::string(what) + " in store " + quoted(path_) +
                        ": the transaction was rolled back by an earlier error");
    }
    if (sqlite3_step(stmt) != SQLITE_DONE) {
        return sqliteError(what);
    }
    return {};
}

Result<void> Store::transaction(const std::function<Result<void>()>& fn) {
    std::lock_guard lock(mutex_);
    struct Depth {
        int& d;
        explicit Depth(int& depth) : d(depth) { ++d; }
        Depth(const Depth&) = delete;
        Depth& operator=(const Depth&) = delete;
        ~Depth() { --d; }
    };
    if (transactionDepth_ > 0) {
        // Nested: a savepoint, so a failed inner block leaves the outer one as it was.
        CORRAL_TRY(exec("SAVEPOINT nested", "cannot begin a nested transaction"));
        Result<void> r;
        {
            Depth depth(transactionDepth_);
            r = fn();
        }
        if (sqlite3_get_autocommit(db_) != 0) {
            return r ? Result<void>(fail(ErrorCode::OperationFailed,
                                         "transaction in store " + quoted(path_) +
                                             " was rolled back by an earlier error"))
                     : r;
        }
        if (!r) {
            (void)exec("ROLLBACK TO nested", "cannot roll back a nested transaction");
        }
        CORRAL_TRY(exec("RELEASE nested", "cannot end a nested transaction"));
        return r;
    }
    CORRAL_TRY(exec("BEGIN IMMEDIATE", "cannot begin a transaction"));
    Result<void> r;
    {
        Depth depth(transactionDepth_);
        r = fn();
    }
    if (r) {
        r = exec("COMMIT", "cannot commit a transaction");
    }
    if (!r && sqlite3_get_autocommit(db_) == 0) {
        (void)exec("ROLLBACK", "cannot roll back a transaction");
    }
    return r;
}

Result<void> Store::putDefinition(std::string_view driver, const Uuid& uuid,
                                  std::string_view name, std::string_view xml) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(
        sqlite3_stmt * s,
        prepare("INSERT INTO definitions (driver, uuid, name, xml) VALUES (?1, ?2, ?3, ?4) "
                "ON CONFLICT (driver, uuid) DO UPDATE SET name = ?3, xml = ?4"));
    StatementReset reset{s};
    bindText(s, 1, driver);
    bindText(s, 2, uuid.toString());
    bindText(s, 3, name);
    bindText(s, 4, xml);
    auto r = write(s, "cannot store the definition of domain " + quoted(name));
    if (!r && sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_UNIQUE) {
        return fail(ErrorCode::OperationFailed,
                    "cannot store the definition of domain " + quoted(name) +
                        ": the name is already used by another " + std::string(driver) +
                        " domain in store " + quoted(path_));
    }
    return r;
}

Result<void> Store::removeDefinition(std::string_view driver, const Uuid& uuid) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                            prepare("DELETE FROM definitions WHERE driver = ?1 AND uuid = ?2"));
    StatementReset reset{s};
    bindText(s, 1, driver);
    bindText(s, 2, uuid.toString());
    return write(s, "cannot remove the definition " + quoted(uuid.toString()));
}

Result<void> Store::setAutostart(std::string_view driver, const Uuid& uuid, bool on) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(
        sqlite3_stmt * s,
        prepare("UPDATE definitions SET autostart = ?3 WHERE driver = ?1 AND uuid = ?2"));
    StatementReset reset{s};
    bindText(s, 1, driver);
    bindText(s, 2, uuid.toString());
    sqlite3_bind_int(s, 3, on ? 1 : 0);
    CORRAL_TRY(write(s, "cannot set autostart of " + quoted(uuid.toString())));
    if (sqlite3_changes(db_) == 0) {
        return fail(ErrorCode::NoDomain,
                    "no stored definition with uuid " + quoted(uuid.toString()),
                    ErrorDomain::Domain);
    }
    return {};
}

Result<std::vector<DefinitionRecord>> Store::loadDefinitions(std::string_view driver) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                            prepare("SELECT uuid, name, xml, autostart FROM definitions "
                                    "WHERE driver = ?1 ORDER BY name"));
    StatementReset reset{s};
    bindText(s, 1, driver);
    std::vector<DefinitionRecord> out;
    int rc = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        DefinitionRecord rec;
        rec.driver = std::string(driver);
        CORRAL_ASSIGN_OR_RETURN(rec.uuid, columnUuid(s, 0, path_));
        rec.name = columnText(s, 1);
        rec.xml = columnText(s, 2);
        rec.autostart = sqlite3_column_int(s, 3) != 0;
        out.push_back(std::move(rec));
    }
    if (rc != SQLITE_DONE) {
        return sqliteError("cannot read definitions");
    }
    return out;
}

Result<void> Store::putStatus(std::string_view driver, const Uuid& uuid, std::string_view name,
                              std::string_view status) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                            prepare("INSERT OR REPLACE INTO statuses (driver, uuid, name, status) "
                                    "VALUES (?1, ?2, ?3, ?4)"));
    StatementReset reset{s};
    bindText(s, 1, driver);
    bindText(s, 2, uuid.toString());
    bindText(s, 3, name);
    bindText(s, 4, status);
    return write(s, "cannot store the runtime status of domain " + quoted(name));
}

Result<void> Store::removeStatus(std::string_view driver, const Uuid& uuid) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                            prepare("DELETE FROM statuses WHERE driver = ?1 AND uuid = ?2"));
    StatementReset reset{s};
    bindText(s, 1, driver);
    bindText(s, 2, uuid.toString());
    return write(s, "cannot remove the runtime status " + quoted(uuid.toString()));
}

Result<std::vector<StatusRecord>> Store::loadStatuses(std::string_view driver) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(
        sqlite3_stmt * s,
        prepare("SELECT uuid, name, status FROM statuses WHERE driver = ?1 ORDER BY name"));
    StatementReset reset{s};
    bindText(s, 1, driver);
    std::vector<StatusRecord> out;
    int rc = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        StatusRecord rec;
        rec.driver = std::string(driver);
        CORRAL_ASSIGN_OR_RETURN(rec.uuid, columnUuid(s, 0, path_));
        rec.name = columnText(s, 1);
        rec.status = columnText(s, 2);
        out.push_back(std::move(rec));
    }
    if (rc != SQLITE_DONE) {
        return sqliteError("cannot read runtime statuses");
    }
    return out;
}

Result<void> Store::appendAudit(const AuditRecord& rec) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(
        sqlite3_stmt * s,
        prepare("INSERT INTO audit (time_us, kind, subject, object, detail, success) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    StatementReset reset{s};
    std::int64_t t = rec.timeUs;
    if (t == 0) {
        t = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
    }
    sqlite3_bind_int64(s, 1, t);
    bindText(s, 2, rec.kind);
    bindText(s, 3, rec.subject);
    bindText(s, 4, rec.object);
    bindText(s, 5, rec.detail);
    sqlite3_bind_int(s, 6, rec.success ? 1 : 0);
    return write(s, "cannot record an audit event");
}

Result<std::vector<AuditRecord>> Store::loadAudit(std::size_t limit) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(
        sqlite3_stmt * s,
        prepare("SELECT time_us, kind, subject, object, detail, success FROM "
                "(SELECT * FROM audit ORDER BY id DESC LIMIT ?1) ORDER BY id"));
    StatementReset reset{s};
    constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<sqlite3_int64>::max());
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(limit > kMax ? kMax : limit));
    std::vector<AuditRecord> out;
    int rc = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        AuditRecord r;
        r.timeUs = sqlite3_column_int64(s, 0);
        r.kind = columnText(s, 1);
        r.subject = columnText(s, 2);
        r.object = columnText(s, 3);
        r.detail = columnText(s, 4);
        r.success = sqlite3_column_int(s, 5) != 0;
        out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) {
        return sqliteError("cannot read audit records");
    }
    return out;
}

Result<void> Store::rememberFileOwner(std::string_view path, std::string_view holder, const FileOwner& original) {
    std::lock_guard lock(mutex_);
    return transaction([&]() -> Result<void> {
        CORRAL_ASSIGN_OR_RETURN(sqlite3_stmt * owner,
                                prepare("INSERT OR IGNORE INTO file_owners (path, uid, gid, mode, dev, ino, target, "
                                        "given_uid, given_gid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
        {
            StatementReset reset{owner};
            bindText(owner, 1, path);
            sqlite3_bind_int64(owner, 2, original.uid);
            sqlite3_bind_int64(owner, 3, original.gid);
            sqlite3_bind_int64(owner, 4, original.mode);
            // SQLite integers are signed 64-bit: the unsigned numbers are stored bit for bit.
            sqlite3_bind_int64(owner, 5, static_cast<std::int64_t>(original.dev));
            sqlite3_bind_int64(owner, 6, static_cast<std::int64_t>(original.ino));
            if (original.target.empty()) {
                sqlite3_bind_null(owner, 7);
            } else {
                bindText(owner, 7, original.target);
            }
            sqlite3_bind_int64(owner, 8, original.givenUid);
            sqlite3_bind_int64(owner, 9, original.givenGid);
            CORRAL_TRY(write(owner, "cannot remember the owner of " + quoted(std::string(path))));
        }
        CORRAL_ASSIGN_OR_RETURN(sqlite3_stmt * held,
                                prepare("INSERT OR IGNORE INTO file_holders (path, holder) VALUES (?1, ?2)"));
        StatementReset reset{held};
        bindText(held, 1, path);
        bindText(held, 2, holder);
        return write(held, "cannot remember the owner of " + quoted(std::string(path)));
    });
}

Result<std::optional<FileOwner>> Store::releaseFileOwner(std::string_view path, std::string_view holder) {
    std::lock_guard lock(mutex_);
    std::optional<FileOwner> result;
    auto done = transaction([&]() -> Result<void> {
        CORRAL_ASSIGN_OR_RETURN(sqlite3_stmt * drop, prepare("DELETE FROM file_holders WHERE path = ?1 AND holder = ?2"));
        {
            StatementReset reset{drop};
            bindText(drop, 1, path);
            bindText(drop, 2, holder);
            CORRAL_TRY(write(drop, "cannot update the owner journal of " + quoted(std::string(path))));
        }
        if (sqlite3_changes(db_) == 0) {
            return {};  // this guest never held it
        }
        CORRAL_ASSIGN_OR_RETURN(sqlite3_stmt * left, prepare("SELECT COUNT(*) FROM file_holders WHERE path = ?1"));
        std::int64_t remaining = 0;
        {
            StatementReset reset{left};
            bindText(left, 1, path);
            if (sqlite3_step(left) == SQLITE_ROW) {
                remaining = sqlite3_column_int64(left, 0);
            }
        }
        if (remaining > 0) {
            return {};
        }
        CORRAL_ASSIGN_OR_RETURN(sqlite3_stmt * get,
                                prepare("SELECT uid, gid, mode, dev, ino, target, given_uid, given_gid "
                                        "FROM file_owners WHERE path = ?1"));
        {
            StatementReset reset{get};
            bindText(get, 1, path);
            if (sqlite3_step(get) == SQLITE_ROW) {
                FileOwner owner;
                owner.uid = static_cast<std::uint32_t>(sqlite3_column_int64(get, 0));
                owner.gid = static_cast<std::uint32_t>(sqlite3_column_int64(get, 1));
                owner.mode = static_cast<std::uint32_t>(sqlite3_column_int64(get, 2));
                // A row journaled before version 3 has no inode: target stays "" to say so.
                if (sqlite3_column_type(get, 5) != SQLITE_NULL) {
                    owner.dev = static_cast<std::uint64_t>(sqlite3_column_int64(get, 3));
                    owner.ino = static_cast<std::uint64_t>(sqlite3_column_int64(get, 4));
                    owner.target = columnText(get, 5);
                    owner.givenUid = static_cast<std::uint32_t>(sqlite3_column_int64(get, 6));
                    owner.givenGid = static_cast<std::uint32_t>(sqlite3_column_int64(get, 7));
                }
                result = std::move(owner);
            }
        }
        CORRAL_ASSIGN_OR_RETURN(sqlite3_stmt * forget, prepare("DELETE FROM file_owners WHERE path = ?1"));
        StatementReset reset{forget};
        bindText(forget, 1, path);
        return write(forget, "cannot update the owner journal of " + quoted(std::string(path)));
    });
    if (!done) {
        return unexpected(std::move(done).error());
    }
    return result;
}

Result<std::vector<std::string>> Store::fileOwnerHolders(std::string_view holder) {
    std::lock_guard lock(mutex_);
    // With a holder: the paths it holds; without: every distinct holder.
    CORRAL_ASSIGN_OR_RETURN(sqlite3_stmt * s, prepare(holder.empty()
                                                          ? "SELECT DISTINCT holder FROM file_holders ORDER BY 1"
                                                          : "SELECT path FROM file_holders WHERE holder = ?1 ORDER BY 1"));
    StatementReset reset{s};
    if (!holder.empty()) {
        bindText(s, 1, holder);
    }
    std::vector<std::string> out;
    int rc = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        out.push_back(columnText(s, 0));
    }
    if (rc != SQLITE_DONE) {
        return sqliteError("cannot read the owner journal");
    }
    return out;
}

}  // namespace corral::objects
