// SPDX-License-Identifier: LGPL-2.1-or-later
// Pool and volume lookups and sizes, as virsh does them.
#include "storage_common.hpp"

#include <cctype>
#include <cstdio>

#include "util/uuid.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

std::optional<proto::remote_nonnull_storage_pool> lookupPool(client::Connection& conn, const std::string& text) {
    if (text.size() == 36) {
        if (auto uuid = corral::Uuid::parse(text)) {
            proto::remote_storage_pool_lookup_by_uuid_args a;
            a.uuid = uuid->bytes;
            if (auto r = conn.call<proto::REMOTE_PROC_STORAGE_POOL_LOOKUP_BY_UUID>(a)) {
                return r->pool;
            }
        }
    }
    proto::remote_storage_pool_lookup_by_name_args a;
    a.name = text;
    auto r = conn.call<proto::REMOTE_PROC_STORAGE_POOL_LOOKUP_BY_NAME>(a);
    if (!r) {
        printError("failed to get pool '" + text + "'", r.error());
        return std::nullopt;
    }
    return r->pool;
}

std::optional<proto::remote_nonnull_storage_vol> lookupVol(client::Connection& conn, const std::string& text,
                                                           const std::optional<std::string>& poolName) {
    if (poolName) {
        auto pool = lookupPool(conn, *poolName);
        if (!pool) {
            return std::nullopt;
        }
        proto::remote_storage_vol_lookup_by_name_args a;
        a.pool = *pool;
        a.name = text;
        auto r = conn.call<proto::REMOTE_PROC_STORAGE_VOL_LOOKUP_BY_NAME>(a);
        if (!r) {
            printError("failed to get vol '" + text + "'", r.error());
            return std::nullopt;
        }
        return r->vol;
    }
    proto::remote_storage_vol_lookup_by_key_args k;
    k.key = text;
    if (auto r = conn.call<proto::REMOTE_PROC_STORAGE_VOL_LOOKUP_BY_KEY>(k)) {
        return r->vol;
    }
    proto::remote_storage_vol_lookup_by_path_args p;
    p.path = text;
    auto r = conn.call<proto::REMOTE_PROC_STORAGE_VOL_LOOKUP_BY_PATH>(p);
    if (!r) {
        printError("failed to get vol '" + text + "', specifying --pool might help", r.error());
        return std::nullopt;
    }
    return r->vol;
}

std::string prettyCapacity(std::uint64_t bytes) {
    static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < std::size(units)) {
        value /= 1024.0;
        ++unit;
    }
    char out[48];
    std::snprintf(out, sizeof out, "%.2f %s", value, units[unit]);
    return out;
}

std::optional<std::uint64_t> parseSize(const std::string& text) {
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
        ++digits;
    }
    if (digits == 0 || digits > 19) {
        return std::nullopt;
    }
    std::uint64_t value = std::stoull(text.substr(0, digits));
    std::string unit = text.substr(digits);
    for (auto& ch : unit) {
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    std::uint64_t scale = 1;
    if (!unit.empty() && unit != "b" && unit != "bytes") {
        static const std::string prefixes = "kmgtpe";
        auto pos = prefixes.find(unit[0]);
        const std::string rest = unit.substr(1);
        if (pos == std::string::npos || (rest != "" && rest != "ib" && rest != "b")) {
            return std::nullopt;
        }
        const std::uint64_t base = rest == "b" ? 1000 : 1024;
        for (std::size_t i = 0; i <= pos; ++i) {
            scale *= base;
        }
    }
    if (value != 0 && scale > UINT64_MAX / value) {
        return std::nullopt;
    }
    return value * scale;
}

}  // namespace corral::cli
