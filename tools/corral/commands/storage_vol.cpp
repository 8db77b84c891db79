// SPDX-License-Identifier: LGPL-2.1-or-later
// Storage volumes: vol-list, vol-info, vol-create(-as), vol-create-from, vol-clone, vol-delete,
// vol-wipe, vol-resize, vol-dumpxml, vol-path, vol-key, vol-pool, as virsh prints them (--json on
// the queries).
#include <cstdio>

#include "../cli.hpp"
#include "conf/xml_node.hpp"
#include "storage_common.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

const char* const kVolTypes[] = {"file", "block", "dir", "network", "netdir", "ploop"};

std::string volTypeText(int type) {
    return type >= 0 && static_cast<std::size_t>(type) < std::size(kVolTypes) ? kVolTypes[type] : "unknown";
}

struct VolTarget {
    client::Connection* conn;
    proto::remote_nonnull_storage_vol vol;
};

std::optional<VolTarget> openVol(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return std::nullopt;
    }
    auto vol = lookupVol(*conn, *ctx.args.get("vol"), ctx.args.get("pool"));
    if (!vol) {
        return std::nullopt;
    }
    return VolTarget{conn, *vol};
}

Result<proto::remote_storage_vol_get_info_ret> volInfoOf(client::Connection& conn,
                                                          const proto::remote_nonnull_storage_vol& vol) {
    proto::remote_storage_vol_get_info_args a{vol};
    return conn.call<proto::REMOTE_PROC_STORAGE_VOL_GET_INFO>(a);
}

Result<std::string> volPathOf(client::Connection& conn, const proto::remote_nonnull_storage_vol& vol) {
    proto::remote_storage_vol_get_path_args a{vol};
    auto r = conn.call<proto::REMOTE_PROC_STORAGE_VOL_GET_PATH>(a);
    if (!r) {
        return unexpected(r.error());
    }
    return r->name;
}

int volList(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    auto pool = lookupPool(*conn, *ctx.args.get("pool"));
    if (!pool) {
        return 1;
    }
    proto::remote_storage_pool_list_all_volumes_args a;
    a.pool = *pool;
    a.need_results = 1;
    a.flags = 0;
    auto r = conn->call<proto::REMOTE_PROC_STORAGE_POOL_LIST_ALL_VOLUMES>(a);
    if (!r) {
        printError("Failed to list storage volumes", r.error());
        return 1;
    }
    auto vols = r->vols;
    std::sort(vols.begin(), vols.end(), [](const auto& x, const auto& y) { return x.name < y.name; });
    JsonWriter w;
    w.beginArray();
    std::vector<std::vector<std::string>> table;
    for (const auto& v : vols) {
        auto path = volPathOf(*conn, v);
        auto info = volInfoOf(*conn, v);
        if (!path || !info) {
            continue;  // deleted while listing
        }
        if (ctx.json) {
            w.beginObject();
            w.key("name").value(v.name);
            w.key("path").value(*path);
            w.key("type").value(volTypeText(info->type));
            w.key("capacity").value(info->capacity);
            w.key("allocation").value(info->allocation);
            w.endObject();
        } else if (ctx.args.flag("details")) {
            table.push_back({v.name, *path, volTypeText(info->type), prettyCapacity(info->capacity),
                             prettyCapacity(info->allocation)});
        } else {
            table.push_back({v.name, *path});
        }
    }
    w.endArray();
    if (ctx.json) {
        printJson(ctx, w);
    } else if (ctx.args.flag("details")) {
        printTable({"Name", "Path", "Type", "Capacity", "Allocation"}, table);
    } else {
        printTable({"Name", "Path"}, table);
    }
    return 0;
}

int volInfo(Context& ctx) {
    auto t = openVol(ctx);
    if (!t) {
        return 1;
    }
    auto info = volInfoOf(*t->conn, t->vol);
    if (!info) {
        printError("", info.error());
        return 1;
    }
    if (ctx.json) {
        JsonWriter w;
        w.beginObject();
        w.key("name").value(t->vol.name);
        w.key("type").value(volTypeText(info->type));
        w.key("capacity").value(info->capacity);
        w.key("allocation").value(info->allocation);
        w.endObject();
        printJson(ctx, w);
        return 0;
    }
    std::printf("%-15s %s\n", "Name:", t->vol.name.c_str());
    std::printf("%-15s %s\n", "Type:", volTypeText(info->type).c_str());
    std::printf("%-15s %s\n", "Capacity:", prettyCapacity(info->capacity).c_str());
    std::printf("%-15s %s\n", "Allocation:", prettyCapacity(info->allocation).c_str());
    return 0;
}

int volCreateAs(Context& ctx) {
    const auto& args = ctx.args;
    auto capacity = parseSize(*args.get("capacity"));
    if (!capacity) {
        printError("Malformed size " + *args.get("capacity"));
        return 1;
    }
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    auto pool = lookupPool(*conn, *args.get("pool"));
    if (!pool) {
        return 1;
    }
    std::string xml = "<volume>\n  <name>" + conf::xmlEscape(*args.get("name")) + "</name>\n  <capacity>" +
                      std::to_string(*capacity) + "</capacity>\n";
    if (auto alloc = args.get("allocation")) {
        auto bytes = parseSize(*alloc);
        if (!bytes) {
            printError("Malformed size " + *alloc);
            return 1;
        }
        xml += "  <allocation>" + std::to_string(*bytes) + "</allocation>\n";
    }
    if (auto format = args.get("format")) {
        xml += "  <target>\n    <format type='" + conf::xmlEscape(*format) + "'/>\n  </target>\n";
    }
    if (auto backing = args.get("backing-vol")) {
        // As virsh: a volume of this pool by name, else any volume by key or path.
        std::string path = *backing;
        proto::remote_storage_vol_lookup_by_name_args n;
        n.pool = *pool;
        n.name = *backing;
        if (auto byName = conn->call<proto::REMOTE_PROC_STORAGE_VOL_LOOKUP_BY_NAME>(n)) {
            if (auto p = volPathOf(*conn, byName->vol)) {
                path = *p;
            }
        }
        xml += "  <backingStore>\n    <path>" + conf::xmlEscape(path) + "</path>\n";
        if (auto fmt = args.get("backing-vol-format")) {
            xml += "    <format type='" + conf::xmlEscape(*fmt) + "'/>\n";
        }
        xml += "  </backingStore>\n";
    }
    xml += "</volume>\n";
    proto::remote_storage_vol_create_xml_args a;
    a.pool = *pool;
    a.xml = xml;
    a.flags = args.flag("prealloc-metadata") ? 1u : 0u;
    auto r = conn->call<proto::REMOTE_PROC_STORAGE_VOL_CREATE_XML>(a);
    if (!r) {
        printError("Failed to create vol " + *args.get("name"), r.error());
        return 1;
    }
    printExtra("Vol %s created\n", r->vol.name.c_str());
    return 0;
}

int volCreate(Context& ctx) {
    const std::string file = *ctx.args.get("file");
    auto xml = readFile(file);
    if (!xml) {
        return 1;
    }
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    auto pool = lookupPool(*conn, *ctx.args.get("pool"));
    if (!pool) {
        return 1;
    }
    proto::remote_storage_vol_create_xml_args a;
    a.pool = *pool;
    a.xml = *xml;
    a.flags = ctx.args.flag("prealloc-metadata") ? 1u : 0u;
    auto r = conn->call<proto::REMOTE_PROC_STORAGE_VOL_CREATE_XML>(a);
    if (!r) {
        printError("Failed to create vol from " + file, r.error());
        return 1;
    }
    printExtra("Vol %s created from %s\n", r->vol.name.c_str(), file.c_str());
    return 0;
}

/// vol-create-from (a definition file) and vol-clone (the source's own definition, renamed).
int volCreateFrom(Context& ctx, bool clone) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    auto source = lookupVol(*conn, *ctx.args.get("vol"), ctx.args.get(clone ? "pool" : "inputpool"));
    if (!source) {
        return 1;
    }
    std::string xml;
    proto::remote_nonnull_storage_pool pool;
    if (clone) {
        proto::remote_storage_pool_lookup_by_volume_args l{*source};
        auto p = conn->call<proto::REMOTE_PROC_STORAGE_POOL_LOOKUP_BY_VOLUME>(l);
        proto::remote_storage_vol_get_xml_desc_args x{*source, 0};
        auto desc = conn->call<proto::REMOTE_PROC_STORAGE_VOL_GET_XML_DESC>(x);
        if (!p || !desc) {
            printError("failed to get parent pool", p ? desc.error() : p.error());
            return 1;
        }
        pool = p->pool;
        auto node = conf::parseXmlDocument(desc->xml, "(volume_definition)");
        conf::XmlNode* name = node ? node->child("name") : nullptr;
        if (name == nullptr) {
            printError("Failed to allocate XML buffer");
            return 1;
        }
        name->text = *ctx.args.get("newname");
        conf::formatXmlNode(*node, 0, xml);
    } else {
        auto target = lookupPool(*conn, *ctx.args.get("pool"));
        auto text = readFile(*ctx.args.get("file"));
        if (!target || !text) {
            return 1;
        }
        pool = *target;
        xml = *text;
    }
    proto::remote_storage_vol_create_xml_from_args a;
    a.pool = pool;
    a.xml = xml;
    a.clonevol = *source;
    a.flags = ctx.args.flag("prealloc-metadata") ? 1u : 0u;
    auto r = conn->call<proto::REMOTE_PROC_STORAGE_VOL_CREATE_XML_FROM>(a);
    if (!r) {
        printError(clone ? "Failed to clone vol from " + source->name
                         : "Failed to create vol from " + *ctx.args.get("file"),
                   r.error());
        return 1;
    }
    if (clone) {
        printExtra("Vol %s cloned from %s\n", r->vol.name.c_str(), source->name.c_str());
    } else {
        printExtra("Vol %s created from input vol %s\n", r->vol.name.c_str(), source->name.c_str());
    }
    return 0;
}

int volDelete(Context& ctx) {
    auto t = openVol(ctx);
    if (!t) {
        return 1;
    }
    proto::remote_storage_vol_delete_args a{t->vol, 0};
    auto r = t->conn->call<proto::REMOTE_PROC_STORAGE_VOL_DELETE>(a);
    if (!r) {
        printError("Failed to delete vol " + t->vol.name, r.error());
        return 1;
    }
    printExtra("Vol %s deleted\n", t->vol.name.c_str());
    return 0;
}

int volWipe(Context& ctx) {
    auto t = openVol(ctx);
    if (!t) {
        return 1;
    }
    proto::remote_storage_vol_wipe_args a{t->vol, 0};
    auto r = t->conn->call<proto::REMOTE_PROC_STORAGE_VOL_WIPE>(a);
    if (!r) {
        printError("Failed to wipe vol " + t->vol.name, r.error());
        return 1;
    }
    printExtra("Vol %s wiped\n", t->vol.name.c_str());
    return 0;
}

int volResize(Context& ctx) {
    auto t = openVol(ctx);
    if (!t) {
        return 1;
    }
    std::string text = *ctx.args.get("capacity");
    bool delta = ctx.args.flag("delta");
    unsigned flags = (ctx.args.flag("allocate") ? 1u : 0u) | (ctx.args.flag("shrink") ? 4u : 0u);
    if (!text.empty() && text[0] == '-') {
        if (!ctx.args.flag("shrink")) {
            printError("negative size requires --shrink");
            return 1;
        }
        text.erase(0, 1);
        delta = true;
    }
    flags |= delta ? 2u : 0u;
    auto bytes = parseSize(text);
    if (!bytes) {
        printError("Malformed size " + text);
        return 1;
    }
    proto::remote_storage_vol_resize_args a{t->vol, *bytes, flags};
    auto r = t->conn->call<proto::REMOTE_PROC_STORAGE_VOL_RESIZE>(a);
    const char* how = delta ? "by" : "to";
    if (!r) {
        printError("Failed to change size of volume '" + t->vol.name + "' " + how + " " + text, r.error());
        return 1;
    }
    printExtra("Size of volume '%s' successfully changed %s %s\n", t->vol.name.c_str(), how, text.c_str());
    return 0;
}

int volDumpXml(Context& ctx) {
    auto t = openVol(ctx);
    if (!t) {
        return 1;
    }
    proto::remote_storage_vol_get_xml_desc_args a{t->vol, 0};
    auto r = t->conn->call<proto::REMOTE_PROC_STORAGE_VOL_GET_XML_DESC>(a);
    if (!r) {
        printError("", r.error());
        return 1;
    }
    std::printf("%s", r->xml.c_str());
    return 0;
}

/// vol-path, vol-key, vol-pool: one line about the volume.
int volLine(Context& ctx, char which) {
    auto t = openVol(ctx);
    if (!t) {
        return 1;
    }
    if (which == 'k') {
        std::printf("%s\n", t->vol.key.c_str());
        return 0;
    }
    if (which == 'o') {
        std::printf("%s\n", ctx.args.flag("uuid") ? [&] {
            proto::remote_storage_pool_lookup_by_volume_args l{t->vol};
            auto p = t->conn->call<proto::REMOTE_PROC_STORAGE_POOL_LOOKUP_BY_VOLUME>(l);
            return p ? uuidText(p->pool.uuid) : std::string();
        }().c_str() : t->vol.pool.c_str());
        return 0;
    }
    auto path = volPathOf(*t->conn, t->vol);
    if (!path) {
        printError("", path.error());
        return 1;
    }
    std::printf("%s\n", path->c_str());
    return 0;
}

}  // namespace

void registerStorageVolCommands() {
    OptSpec vol{"vol", OptKind::String, true, true, "vol name, key or path"};
    OptSpec pool{"pool", OptKind::String, false, false, "pool name or uuid"};
    OptSpec poolRequired{"pool", OptKind::String, true, true, "pool name or uuid"};
    auto bool_ = [](const char* name) { return OptSpec{name, OptKind::Bool, false, false, ""}; };
    registerCommand({"vol-list", "list vols", {poolRequired, bool_("details")}, volList});
    registerCommand({"vol-info", "storage vol information", {vol, pool}, volInfo});
    registerCommand({"vol-create-as", "create a volume from a set of args",
                     {poolRequired,
                      {"name", OptKind::String, true, true, "name of the volume"},
                      {"capacity", OptKind::String, true, true, "size of the vol, as scaled integer"},
                      {"allocation", OptKind::String, false, false, "initial allocation size"},
                      {"format", OptKind::String, false, false, "file format type raw,qcow2"},
                      {"backing-vol", OptKind::String, false, false, "the backing volume"},
                      {"backing-vol-format", OptKind::String, false, false, "format of backing volume"},
                      bool_("prealloc-metadata")},
                     volCreateAs});
    registerCommand({"vol-create", "create a vol from an XML file",
                     {poolRequired, {"file", OptKind::String, true, true, "file containing an XML vol description"},
                      bool_("prealloc-metadata")},
                     volCreate});
    registerCommand({"vol-create-from", "create a vol, using another volume as input",
                     {poolRequired, {"file", OptKind::String, true, true, "file containing an XML vol description"},
                      vol, {"inputpool", OptKind::String, false, false, "pool name or uuid of the input volume's pool"},
                      bool_("prealloc-metadata")},
                     [](Context& ctx) { return volCreateFrom(ctx, false); }});
    registerCommand({"vol-clone", "clone a volume",
                     {vol, {"newname", OptKind::String, true, true, "clone name"}, pool, bool_("prealloc-metadata")},
                     [](Context& ctx) { return volCreateFrom(ctx, true); }});
    registerCommand({"vol-delete", "delete a vol", {vol, pool}, volDelete});
    registerCommand({"vol-wipe", "wipe a vol", {vol, pool}, volWipe});
    registerCommand({"vol-resize", "resize a vol",
                     {vol, {"capacity", OptKind::String, true, true, "new capacity for the vol"}, pool,
                      bool_("allocate"), bool_("delta"), bool_("shrink")},
                     volResize});
    registerCommand({"vol-dumpxml", "vol information in XML", {vol, pool}, volDumpXml});
    registerCommand({"vol-path", "returns the volume path for a given volume name or key", {vol, pool},
                     [](Context& ctx) { return volLine(ctx, 'p'); }});
    registerCommand({"vol-key", "returns the volume key for a given volume name or path", {vol, pool},
                     [](Context& ctx) { return volLine(ctx, 'k'); }});
    registerCommand({"vol-pool", "returns the storage pool for a given volume key or path", {vol, bool_("uuid")},
                     [](Context& ctx) { return volLine(ctx, 'o'); }});
    registerStorageVolStreamCommands();
}

}  // namespace corral::cli
