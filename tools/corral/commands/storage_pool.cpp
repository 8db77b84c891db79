// SPDX-License-Identifier: LGPL-2.1-or-later
// Storage pools: pool-list, pool-info, pool-define(-as), pool-create(-as), pool-build,
// pool-start, pool-destroy, pool-delete, pool-undefine, pool-refresh, pool-autostart,
// pool-dumpxml, pool-capabilities, as virsh prints them (--json on the queries).
#include <cstdio>

#include "../cli.hpp"
#include "conf/xml_node.hpp"
#include "storage_common.hpp"
#include "util/strings.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

const char* const kStates[] = {"inactive", "building", "running", "degraded", "inaccessible"};

struct PoolRow {
    proto::remote_nonnull_storage_pool pool;
    proto::remote_storage_pool_get_info_ret info{};
    bool autostart = false;
    bool persistent = false;
};

std::optional<PoolRow> poolRow(client::Connection& conn, const proto::remote_nonnull_storage_pool& pool) {
    PoolRow row;
    row.pool = pool;
    proto::remote_storage_pool_get_info_args i{pool};
    auto info = conn.call<proto::REMOTE_PROC_STORAGE_POOL_GET_INFO>(i);
    proto::remote_storage_pool_get_autostart_args a{pool};
    auto on = conn.call<proto::REMOTE_PROC_STORAGE_POOL_GET_AUTOSTART>(a);
    proto::remote_storage_pool_is_persistent_args p{pool};
    auto persistent = conn.call<proto::REMOTE_PROC_STORAGE_POOL_IS_PERSISTENT>(p);
    if (!info || !on || !persistent) {
        return std::nullopt;  // undefined while listing
    }
    row.info = *info;
    row.autostart = on->autostart != 0;
    row.persistent = persistent->persistent != 0;
    return row;
}

std::string stateText(unsigned state) { return state < std::size(kStates) ? kStates[state] : "unknown"; }

/// pool-list's --type words as virConnectListAllStoragePools' type bits.
std::optional<unsigned> typeFlags(const std::string& list) {
    static const char* const order[] = {"dir",  "fs",  "netfs",    "logical", "disk", "iscsi",    "scsi",
                                        "mpath", "rbd", "sheepdog", "gluster", "zfs",  "vstorage", "iscsi-direct"};
    unsigned flags = 0;
    for (const auto& word : splitString(list, ',')) {
        bool found = false;
        for (unsigned i = 0; i < std::size(order); ++i) {
            if (word == order[i]) {
                flags |= 1u << (6 + i);
                found = true;
            }
        }
        if (!found) {
            printError("Invalid pool type '" + word + "'");
            return std::nullopt;
        }
    }
    return flags;
}

int poolList(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    proto::remote_connect_list_all_storage_pools_args a;
    a.need_results = 1;
    a.flags = 0;
    const auto& args = ctx.args;
    if (!args.flag("all")) {
        a.flags |= args.flag("inactive") ? 1u : 2u;
    }
    a.flags |= (args.flag("persistent") ? 4u : 0u) | (args.flag("transient") ? 8u : 0u) |
               (args.flag("autostart") ? 16u : 0u) | (args.flag("no-autostart") ? 32u : 0u);
    if (auto types = args.get("type")) {
        auto bits = typeFlags(*types);
        if (!bits) {
            return 1;
        }
        a.flags |= *bits;
    }
    auto r = conn->call<proto::REMOTE_PROC_CONNECT_LIST_ALL_STORAGE_POOLS>(a);
    if (!r) {
        printError("Failed to list pools", r.error());
        return 1;
    }
    std::vector<PoolRow> rows;
    for (const auto& p : r->pools) {
        if (auto row = poolRow(*conn, p)) {
            rows.push_back(*row);
        }
    }
    std::sort(rows.begin(), rows.end(), [](const PoolRow& x, const PoolRow& y) { return x.pool.name < y.pool.name; });
    if (ctx.json) {
        JsonWriter w;
        w.beginArray();
        for (const auto& row : rows) {
            w.beginObject();
            w.key("name").value(row.pool.name);
            w.key("uuid").value(uuidText(row.pool.uuid));
            w.key("state").value(stateText(row.info.state));
            w.key("autostart").value(row.autostart);
            w.key("persistent").value(row.persistent);
            w.key("capacity").value(row.info.capacity);
            w.key("allocation").value(row.info.allocation);
            w.key("available").value(row.info.available);
            w.endObject();
        }
        w.endArray();
        printJson(ctx, w);
        return 0;
    }
    if (args.flag("name") || args.flag("uuid")) {
        for (const auto& row : rows) {
            std::string line = args.flag("uuid") ? uuidText(row.pool.uuid) : std::string();
            if (args.flag("name")) {
                line += (line.empty() ? "" : " ") + row.pool.name;
            }
            std::printf("%s\n", line.c_str());
        }
        return 0;
    }
    std::vector<std::vector<std::string>> table;
    for (const auto& row : rows) {
        const bool active = row.info.state != 0;
        if (args.flag("details")) {
            table.push_back({row.pool.name, stateText(row.info.state), row.autostart ? "yes" : "no",
                             row.persistent ? "yes" : "no", active ? prettyCapacity(row.info.capacity) : "-",
                             active ? prettyCapacity(row.info.allocation) : "-",
                             active ? prettyCapacity(row.info.available) : "-"});
        } else {
            table.push_back({row.pool.name, active ? "active" : "inactive", row.autostart ? "yes" : "no"});
        }
    }
    if (args.flag("details")) {
        printTable({"Name", "State", "Autostart", "Persistent", "Capacity", "Allocation", "Available"}, table);
    } else {
        printTable({"Name", "State", "Autostart"}, table);
    }
    return 0;
}

int poolInfo(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    auto pool = lookupPool(*conn, *ctx.args.get("pool"));
    if (!pool) {
        return 1;
    }
    auto row = poolRow(*conn, *pool);
    if (!row) {
        printError("failed to get pool '" + pool->name + "' information");
        return 1;
    }
    const bool active = row->info.state != 0;
    if (ctx.json) {
        JsonWriter w;
        w.beginObject();
        w.key("name").value(pool->name);
        w.key("uuid").value(uuidText(pool->uuid));
        w.key("state").value(stateText(row->info.state));
        w.key("persistent").value(row->persistent);
        w.key("autostart").value(row->autostart);
        w.key("capacity").value(row->info.capacity);
        w.key("allocation").value(row->info.allocation);
        w.key("available").value(row->info.available);
        w.endObject();
        printJson(ctx, w);
        return 0;
    }
    std::printf("%-15s %s\n", "Name:", pool->name.c_str());
    std::printf("%-15s %s\n", "UUID:", uuidText(pool->uuid).c_str());
    std::printf("%-15s %s\n", "State:", stateText(row->info.state).c_str());
    std::printf("%-15s %s\n", "Persistent:", row->persistent ? "yes" : "no");
    std::printf("%-15s %s\n", "Autostart:", row->autostart ? "yes" : "no");
    if (active) {
        std::printf("%-15s %s\n", "Capacity:", prettyCapacity(row->info.capacity).c_str());
        std::printf("%-15s %s\n", "Allocation:", prettyCapacity(row->info.allocation).c_str());
        std::printf("%-15s %s\n", "Available:", prettyCapacity(row->info.available).c_str());
    }
    return 0;
}

/// The XML pool-define-as and pool-create-as build from their options.
std::string poolXmlFromOptions(const Args& args) {
    std::string xml = "<pool type='" + conf::xmlEscape(*args.get("type")) + "'>\n  <name>" +
                      conf::xmlEscape(*args.get("name")) + "</name>\n";
    if (args.get("source-dev") || args.get("source-format")) {
        xml += "  <source>\n";
        if (auto dev = args.get("source-dev")) {
            xml += "    <device path='" + conf::xmlEscape(*dev) + "'/>\n";
        }
        if (auto fmt = args.get("source-format")) {
            xml += "    <format type='" + conf::xmlEscape(*fmt) + "'/>\n";
        }
        xml += "  </source>\n";
    }
    if (auto target = args.get("target")) {
        xml += "  <target>\n    <path>" + conf::xmlEscape(*target) + "</path>\n  </target>\n";
    }
    return xml + "</pool>\n";
}

/// pool-define, pool-create (from a file) and their -as forms (from options).
int poolDefineOrCreate(Context& ctx, bool create, bool fromOptions) {
    std::string xml;
    std::string from;
    if (fromOptions) {
        xml = poolXmlFromOptions(ctx.args);
    } else {
        from = *ctx.args.get("file");
        auto text = readFile(from);
        if (!text) {
            return 1;
        }
        xml = *text;
    }
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    Result<proto::remote_nonnull_storage_pool> pool = fail(ErrorCode::InternalError, "");
    if (create) {
        proto::remote_storage_pool_create_xml_args a;
        a.xml = xml;
        a.flags = (ctx.args.flag("build") ? 1u : 0u) | (ctx.args.flag("overwrite") ? 2u : 0u) |
                  (ctx.args.flag("no-overwrite") ? 4u : 0u);
        auto r = conn->call<proto::REMOTE_PROC_STORAGE_POOL_CREATE_XML>(a);
        pool = r ? Result<proto::remote_nonnull_storage_pool>(r->pool) : unexpected(r.error());
    } else {
        proto::remote_storage_pool_define_xml_args a;
        a.xml = xml;
        a.flags = 0;
        auto r = conn->call<proto::REMOTE_PROC_STORAGE_POOL_DEFINE_XML>(a);
        pool = r ? Result<proto::remote_nonnull_storage_pool>(r->pool) : unexpected(r.error());
    }
    const char* verb = create ? "create" : "define";
    if (!pool) {
        printError(fromOptions ? std::string("Failed to ") + verb + " pool " + *ctx.args.get("name")
                               : std::string("Failed to ") + verb + " pool from " + from,
                   pool.error());
        return 1;
    }
    if (fromOptions) {
        printExtra("Pool %s %s\n", pool->name.c_str(), create ? "created" : "defined");
    } else {
        printExtra("Pool %s %s from %s\n", pool->name.c_str(), create ? "created" : "defined", from.c_str());
    }
    return 0;
}

/// The commands that look a pool up, make one call with it and report.
template <std::int32_t P, class ArgsT>
int poolSimple(Context& ctx, const std::string& failVerb, const std::string& done, unsigned flags = 0) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    auto pool = lookupPool(*conn, *ctx.args.get("pool"));
    if (!pool) {
        return 1;
    }
    ArgsT a{};
    a.pool = *pool;
    if constexpr (requires { a.flags; }) {
        a.flags = flags;
    }
    auto r = conn->template call<P>(a);
    if (!r) {
        printError("Failed to " + failVerb + " pool " + pool->name, r.error());
        return 1;
    }
    printExtra("Pool %s %s\n", pool->name.c_str(), done.c_str());
    return 0;
}

int poolDumpXml(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    auto pool = lookupPool(*conn, *ctx.args.get("pool"));
    if (!pool) {
        return 1;
    }
    proto::remote_storage_pool_get_xml_desc_args a;
    a.pool = *pool;
    a.flags = ctx.args.flag("inactive") ? 1u : 0u;
    auto r = conn->call<proto::REMOTE_PROC_STORAGE_POOL_GET_XML_DESC>(a);
    if (!r) {
        printError("", r.error());
        return 1;
    }
    std::printf("%s", r->xml.c_str());
    return 0;
}

int poolAutostart(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    auto pool = lookupPool(*conn, *ctx.args.get("pool"));
    if (!pool) {
        return 1;
    }
    const bool disable = ctx.args.flag("disable");
    proto::remote_storage_pool_set_autostart_args a;
    a.pool = *pool;
    a.autostart = disable ? 0 : 1;
    auto r = conn->call<proto::REMOTE_PROC_STORAGE_POOL_SET_AUTOSTART>(a);
    if (!r) {
        printError(std::string("failed to ") + (disable ? "unmark" : "mark") + " pool " + pool->name +
                       " as autostarted",
                   r.error());
        return 1;
    }
    printExtra("Pool %s %s\n", pool->name.c_str(), disable ? "unmarked as autostarted" : "marked as autostarted");
    return 0;
}

int poolCapabilities(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    proto::remote_connect_get_storage_pool_capabilities_args a{0};
    auto r = conn->call<proto::REMOTE_PROC_CONNECT_GET_STORAGE_POOL_CAPABILITIES>(a);
    if (!r) {
        printError("", r.error());
        return 1;
    }
    std::printf("%s", r->capabilities.c_str());
    return 0;
}

}  // namespace

void registerStoragePoolCommands() {
    OptSpec pool{"pool", OptKind::String, true, true, "pool name or uuid"};
    OptSpec file{"file", OptKind::String, true, true, "file containing an XML pool description"};
    std::vector<OptSpec> asOptions = {{"name", OptKind::String, true, true, "name of the pool"},
                                      {"type", OptKind::String, true, true, "type of the pool"},
                                      {"source-dev", OptKind::String, false, false, "source device for the pool"},
                                      {"source-format", OptKind::String, false, false, "format of the source"},
                                      {"target", OptKind::String, false, false, "target for the pool"}};
    auto bool_ = [](const char* name) { return OptSpec{name, OptKind::Bool, false, false, ""}; };
    registerCommand({"pool-list", "list pools",
                     {bool_("inactive"), bool_("all"), bool_("transient"), bool_("persistent"), bool_("autostart"),
                      bool_("no-autostart"), {"type", OptKind::String, false, false, "only list pools of these types"},
                      bool_("details"), bool_("uuid"), bool_("name")},
                     poolList});
    registerCommand({"pool-info", "storage pool information", {pool}, poolInfo});
    registerCommand({"pool-define", "define an inactive persistent storage pool from an XML file", {file},
                     [](Context& ctx) { return poolDefineOrCreate(ctx, false, false); }});
    registerCommand({"pool-define-as", "define a pool from a set of args", asOptions,
                     [](Context& ctx) { return poolDefineOrCreate(ctx, false, true); }});
    registerCommand({"pool-create", "create a pool from an XML file",
                     {file, bool_("build"), bool_("overwrite"), bool_("no-overwrite")},
                     [](Context& ctx) { return poolDefineOrCreate(ctx, true, false); }});
    auto createAs = asOptions;
    createAs.insert(createAs.end(), {bool_("build"), bool_("overwrite"), bool_("no-overwrite")});
    registerCommand({"pool-create-as", "create a pool from a set of args", createAs,
                     [](Context& ctx) { return poolDefineOrCreate(ctx, true, true); }});
    registerCommand({"pool-build", "build a pool", {pool, bool_("overwrite"), bool_("no-overwrite")},
                     [](Context& ctx) {
                         const unsigned flags = (ctx.args.flag("no-overwrite") ? 4u : 0u) |
                                                (ctx.args.flag("overwrite") ? 8u : 0u);
                         return poolSimple<proto::REMOTE_PROC_STORAGE_POOL_BUILD,
                                           proto::remote_storage_pool_build_args>(ctx, "build", "built", flags);
                     }});
    registerCommand({"pool-start", "start a (previously defined) inactive pool",
                     {pool, bool_("build"), bool_("overwrite"), bool_("no-overwrite")}, [](Context& ctx) {
                         const unsigned flags = (ctx.args.flag("build") ? 1u : 0u) |
                                                (ctx.args.flag("overwrite") ? 2u : 0u) |
                                                (ctx.args.flag("no-overwrite") ? 4u : 0u);
                         return poolSimple<proto::REMOTE_PROC_STORAGE_POOL_CREATE,
                                           proto::remote_storage_pool_create_args>(ctx, "start", "started", flags);
                     }});
    registerCommand({"pool-destroy", "destroy (stop) a pool", {pool}, [](Context& ctx) {
                         return poolSimple<proto::REMOTE_PROC_STORAGE_POOL_DESTROY,
                                           proto::remote_storage_pool_destroy_args>(ctx, "destroy", "destroyed");
                     }});
    registerCommand({"pool-delete", "delete a pool", {pool}, [](Context& ctx) {
                         return poolSimple<proto::REMOTE_PROC_STORAGE_POOL_DELETE,
                                           proto::remote_storage_pool_delete_args>(ctx, "delete", "deleted");
                     }});
    registerCommand({"pool-undefine", "undefine an inactive pool", {pool}, [](Context& ctx) {
                         return poolSimple<proto::REMOTE_PROC_STORAGE_POOL_UNDEFINE,
                                           proto::remote_storage_pool_undefine_args>(ctx, "undefine",
                                                                                     "has been undefined");
                     }});
    registerCommand({"pool-refresh", "refresh a pool", {pool}, [](Context& ctx) {
                         return poolSimple<proto::REMOTE_PROC_STORAGE_POOL_REFRESH,
                                           proto::remote_storage_pool_refresh_args>(ctx, "refresh", "refreshed");
                     }});
    registerCommand({"pool-autostart", "autostart a pool", {pool, bool_("disable")}, poolAutostart});
    registerCommand({"pool-dumpxml", "pool information in XML", {pool, bool_("inactive")}, poolDumpXml});
    registerCommand({"pool-capabilities", "storage pool capabilities", {}, poolCapabilities});
}

}  // namespace corral::cli
