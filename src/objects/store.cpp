// SPDX-License-Identifier: LGPL-2.1-or-later
// Store: schema, durability settings and the statements behind each method.
#include "objects/store.hpp"

#include <sqlite3.h>

#include <chrono>

namespace corral::objects {

namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
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
)sql";

void bindText(sqlite3_stmt* s, int i, std::string_view v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

std::string columnText(sqlite3_stmt* s, int i) {
    const unsigned char* t = sqlite3_column_text(s, i);
    return t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t),
                                                      static_cast<std::size_t>(sqlite3_column_bytes(s, i)));
}

/// Resets a cached statement when the scope ends, whatever path it takes.
struct StatementReset {
    sqlite3_stmt* stmt;
    ~StatementReset() {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
    }
};

}  // namespace

Store::~Store() {
    for (auto& [sql, stmt] : statements_) {
        sqlite3_finalize(stmt);
    }
    sqlite3_close(db_);
}

Unexpected Store::sqliteError(std::string_view what) const {
    int code = sqlite3_extended_errcode(db_);
    std::string msg = std::string(what) + " in store '" + path_ + "': ";
    if ((code & 0xff) == SQLITE_FULL) {
        msg += "the disk is full";
    } else {
        msg += sqlite3_errmsg(db_);
    }
    return fail(ErrorCode::OperationFailed, msg);
}

Result<void> Store::exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err != nullptr ? err : "unknown error";
        sqlite3_free(err);
        return fail(ErrorCode::OperationFailed, "cannot run '" + std::string(sql).substr(0, 40) +
                                                    "' in store '" + path_ + "': " + msg);
    }
    return {};
}

Result<sqlite3_stmt*> Store::prepare(const char* sql) {
    for (auto& [text, stmt] : statements_) {
        if (text == sql) {
            return stmt;
        }
    }
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) {
        return sqliteError("cannot prepare statement");
    }
    statements_.emplace_back(sql, stmt);
    return stmt;
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        return fail(ErrorCode::OpenFailed, "'" + path + "': " + msg);
    }
    std::unique_ptr<Store> store(new Store(db, path));
    sqlite3_busy_timeout(db, 5000);
    // WAL + FULL: a commit is on disk (WAL fsynced) before sqlite3_step returns.
    auto checked = [&](const char* sql) -> Result<void> {
        return store->exec(sql).withContext("opening the store");
    };
    CORRAL_TRY(checked("PRAGMA journal_mode=WAL"));
    CORRAL_TRY(checked("PRAGMA synchronous=FULL"));
    CORRAL_TRY(checked("PRAGMA foreign_keys=ON"));
    {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &s, nullptr) != SQLITE_OK) {
            return store->sqliteError("cannot check the integrity");
        }
        std::string verdict;
        if (sqlite3_step(s) == SQLITE_ROW) {
            verdict = columnText(s, 0);
        }
        sqlite3_finalize(s);
        if (verdict != "ok") {
            return fail(ErrorCode::OperationFailed,
                        "store '" + path + "' is damaged (" + verdict +
                            "); restore it from a backup or move it aside");
        }
    }
    CORRAL_TRY(checked(kSchema));
    {
        sqlite3_stmt* s = nullptr;
        sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &s, nullptr);
        int version = 0;
        bool have = sqlite3_step(s) == SQLITE_ROW;
        if (have) {
            version = sqlite3_column_int(s, 0);
        }
        sqlite3_finalize(s);
        if (!have) {
            CORRAL_TRY(checked("INSERT INTO schema_version (version) VALUES (1)"));
        } else if (version > kSchemaVersion) {
            return fail(ErrorCode::OperationFailed,
                        "store '" + path + "' has schema version " + std::to_string(version) +
                            ", newer than this corrald understands (" + std::to_string(kSchemaVersion) + ")");
        }
    }
    return store;
}

Result<void> Store::write(sqlite3_stmt* stmt, std::string_view what) {
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) {
        if ((rc & 0xff) == SQLITE_CONSTRAINT) {
            return fail(ErrorCode::OperationFailed, std::string(what) + ": the name is already used");
        }
        return sqliteError(what);
    }
    return {};
}

Result<void> Store::transaction(const std::function<Result<void>()>& fn) {
    std::lock_guard lock(mutex_);
    if (transactionDepth_ > 0) {
        return fn();  // nested: joins the outer transaction
    }
    CORRAL_TRY(exec("BEGIN IMMEDIATE"));
    transactionDepth_++;
    auto r = fn();
    transactionDepth_--;
    if (!r) {
        (void)exec("ROLLBACK");
        return r;
    }
    if (auto c = exec("COMMIT"); !c) {
        (void)exec("ROLLBACK");
        return c;
    }
    return {};
}

Result<void> Store::putDefinition(std::string_view driver, const Uuid& uuid, std::string_view name,
                                  std::string_view xml) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                            prepare("INSERT INTO definitions (driver, uuid, name, xml) VALUES (?1, ?2, ?3, ?4) "
                                    "ON CONFLICT (driver, uuid) DO UPDATE SET name = ?3, xml = ?4"));
    StatementReset reset{s};
    bindText(s, 1, driver);
    bindText(s, 2, uuid.toString());
    bindText(s, 3, name);
    bindText(s, 4, xml);
    auto r = write(s, "cannot store definition of domain '" + std::string(name) + "'");
    if (!r && r.error().message.find("name is already used") != std::string::npos) {
        return fail(ErrorCode::OperationFailed, "domain '" + std::string(name) +
                                                    "' is already stored with another uuid");
    }
    return r;
}

Result<void> Store::removeDefinition(std::string_view driver, const Uuid& uuid) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(sqlite3_stmt * s, prepare("DELETE FROM definitions WHERE driver = ?1 AND uuid = ?2"));
    StatementReset reset{s};
    bindText(s, 1, driver);
    bindText(s, 2, uuid.toString());
    return write(s, "cannot remove definition " + uuid.toString());
}

Result<void> Store::setAutostart(std::string_view driver, const Uuid& uuid, bool on) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                            prepare("UPDATE definitions SET autostart = ?3 WHERE driver = ?1 AND uuid = ?2"));
    StatementReset reset{s};
    bindText(s, 1, driver);
    bindText(s, 2, uuid.toString());
    sqlite3_bind_int(s, 3, on ? 1 : 0);
    CORRAL_TRY(write(s, "cannot set autostart of " + uuid.toString()));
    if (sqlite3_changes(db_) == 0) {
        return fail(ErrorCode::NoDomain, "no stored definition with uuid '" + uuid.toString() + "'",
                    ErrorDomain::Domain);
    }
    return {};
}

Result<std::vector<DefinitionRecord>> Store::loadDefinitions(std::string_view driver) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(sqlite3_stmt * s, prepare("SELECT uuid, name, xml, autostart FROM definitions "
                                                      "WHERE driver = ?1 ORDER BY name"));
    StatementReset reset{s};
    bindText(s, 1, driver);
    std::vector<DefinitionRecord> out;
    int rc = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        DefinitionRecord rec;
        rec.driver = std::string(driver);
        auto uuid = Uuid::parse(columnText(s, 0));
        if (!uuid) {
            return fail(ErrorCode::OperationFailed, "store '" + path_ + "' holds a malformed uuid '" +
                                                        columnText(s, 0) + "'");
        }
        rec.uuid = *uuid;
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
    return write(s, "cannot store runtime status of domain '" + std::string(name) + "'");
}

Result<void> Store::removeStatus(std::string_view driver, const Uuid& uuid) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(sqlite3_stmt * s, prepare("DELETE FROM statuses WHERE driver = ?1 AND uuid = ?2"));
    StatementReset reset{s};
    bindText(s, 1, driver);
    bindText(s, 2, uuid.toString());
    return write(s, "cannot remove runtime status " + uuid.toString());
}

Result<std::vector<StatusRecord>> Store::loadStatuses(std::string_view driver) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                            prepare("SELECT uuid, name, status FROM statuses WHERE driver = ?1 ORDER BY name"));
    StatementReset reset{s};
    bindText(s, 1, driver);
    std::vector<StatusRecord> out;
    int rc = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        StatusRecord rec;
        rec.driver = std::string(driver);
        rec.uuid = Uuid::parse(columnText(s, 0)).value_or(Uuid{});
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
    CORRAL_ASSIGN_OR_RETURN(sqlite3_stmt * s,
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
    return write(s, "cannot record audit event");
}

Result<std::vector<AuditRecord>> Store::loadAudit(std::size_t limit) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                            prepare("SELECT time_us, kind, subject, object, detail, success FROM "
                                    "(SELECT * FROM audit ORDER BY id DESC LIMIT ?1) ORDER BY id"));
    StatementReset reset{s};
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(limit));
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

}  // namespace corral::objects
