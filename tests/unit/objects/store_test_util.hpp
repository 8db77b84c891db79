// SPDX-License-Identifier: LGPL-2.1-or-later
// Helpers shared by the store tests: a temporary directory, predictable UUIDs, raw SQLite checks.
#pragma once

#include <sqlite3.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "util/uuid.hpp"

namespace corral::objects::testing {

struct TempDir {
    TempDir() {
        char tmpl[] = "/tmp/corral-store-XXXXXX";
        const char* made = mkdtemp(tmpl);
        path = made != nullptr ? made : "";
    }
    ~TempDir() {
        if (!path.empty()) {
            std::filesystem::remove_all(path);
        }
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string path;
};

inline Uuid uuidFor(int i) {
    Uuid u;
    u.bytes[0] = 0x42;
    u.bytes[6] = 0x40;  // version 4
    u.bytes[8] = 0x80;  // variant
    u.bytes[13] = static_cast<std::uint8_t>((i >> 16) & 0xff);
    u.bytes[14] = static_cast<std::uint8_t>((i >> 8) & 0xff);
    u.bytes[15] = static_cast<std::uint8_t>(i & 0xff);
    return u;
}

/// Runs `sql` on the file directly (not through Store) and returns the first column of the
/// first row, or "error: <message>".
inline std::string rawQuery(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        std::string msg = std::string("error: ") + sqlite3_errmsg(db);
        sqlite3_close(db);
        return msg;
    }
    sqlite3_stmt* s = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
        out = std::string("error: ") + sqlite3_errmsg(db);
    } else {
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            const unsigned char* t = sqlite3_column_text(s, 0);
            out = t != nullptr ? reinterpret_cast<const char*>(t) : "";
        } else if (rc != SQLITE_DONE) {
            out = std::string("error: ") + sqlite3_errmsg(db);
        }
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
}

}  // namespace corral::objects::testing
