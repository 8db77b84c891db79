// SPDX-License-Identifier: LGPL-2.1-or-later
// Virtual networks: net-list, net-define, net-create, net-start, net-destroy, net-undefine,
// net-dumpxml, net-info, net-autostart, as virsh prints them.
#include <cstdio>

#include "../cli.hpp"
#include "util/uuid.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

/// virsh's network lookup: by UUID when 36 characters, then by name.
std::optional<proto::remote_nonnull_network> lookupNetwork(client::Connection& conn, const std::string& text) {
    if (text.size() == 36) {
        if (auto uuid = corral::Uuid::parse(text)) {
            proto::remote_network_lookup_by_uuid_args a;
            a.uuid = uuid->bytes;
            if (auto r = conn.call<proto::REMOTE_PROC_NETWORK_LOOKUP_BY_UUID>(a)) {
                return r->net;
            }
        }
    }
    proto::remote_network_lookup_by_name_args a;
    a.name = text;
    auto r = conn.call<proto::REMOTE_PROC_NETWORK_LOOKUP_BY_NAME>(a);
    if (!r) {
        printError("failed to get network '" + text + "'", r.error());
        return std::nullopt;
    }
    return r->net;
}

struct NetTarget {
    client::Connection* conn;
    proto::remote_nonnull_network net;
};

std::optional<NetTarget> openNetwork(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return std::nullopt;
    }
    auto net = lookupNetwork(*conn, *ctx.args.get("network"));
    if (!net) {
        return std::nullopt;
    }
    return NetTarget{conn, *net};
}

template <std::int32_t P, class Args>
Result<bool> flagOf(client::Connection& conn, const proto::remote_nonnull_network& net) {
    Args a;
    a.net = net;
    auto r = conn.call<P>(a);
    if (!r) {
        return unexpected(r.error());
    }
    if constexpr (requires { r->active; }) {
        return r->active != 0;
    } else if constexpr (requires { r->persistent; }) {
        return r->persistent != 0;
    } else {
        return r->autostart != 0;
    }
}

Result<bool> isActive(client::Connection& c, const proto::remote_nonnull_network& n) {
    return flagOf<proto::REMOTE_PROC_NETWORK_IS_ACTIVE, proto::remote_network_is_active_args>(c, n);
}
Result<bool> isPersistent(client::Connection& c, const proto::remote_nonnull_network& n) {
    return flagOf<proto::REMOTE_PROC_NETWORK_IS_PERSISTENT, proto::remote_network_is_persistent_args>(c, n);
}
Result<bool> autostart(client::Connection& c, const proto::remote_nonnull_network& n) {
    return flagOf<proto::REMOTE_PROC_NETWORK_GET_AUTOSTART, proto::remote_network_get_autostart_args>(c, n);
}

int netList(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    proto::remote_connect_list_all_networks_args a;
    a.need_results = 1;
    // virConnectListAllNetworksFlags: INACTIVE 1, ACTIVE 2.
    a.flags = ctx.args.flag("all") ? 3u : ctx.args.flag("inactive") ? 1u : 2u;
    auto r = conn->call<proto::REMOTE_PROC_CONNECT_LIST_ALL_NETWORKS>(a);
    if (!r) {
        printError("Failed to list networks", r.error());
        return 1;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& n : r->nets) {
        auto active = isActive(*conn, n);
        auto on = autostart(*conn, n);
        auto persistent = isPersistent(*conn, n);
        if (!active || !on || !persistent) {
            continue;  // undefined while listing
        }
        if (ctx.args.flag("name")) {
            std::printf("%s\n", n.name.c_str());
            continue;
        }
        rows.push_back({n.name, *active ? "active" : "inactive", *on ? "yes" : "no", *persistent ? "yes" : "no"});
    }
    if (!ctx.args.flag("name")) {
        printTable({"Name", "State", "Autostart", "Persistent"}, rows);
    }
    return 0;
}

int netDefineOrCreate(Context& ctx, bool create) {
    std::string file = *ctx.args.get("file");
    auto xml = readFile(file);
    if (!xml) {
        return 1;
    }
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    Result<proto::remote_nonnull_network> net = fail(ErrorCode::InternalError, "");
    if (create) {
        proto::remote_network_create_xml_args a;
        a.xml = *xml;
        auto r = conn->call<proto::REMOTE_PROC_NETWORK_CREATE_XML>(a);
        net = r ? Result<proto::remote_nonnull_network>(r->net) : unexpected(r.error());
    } else {
        proto::remote_network_define_xml_args a;
        a.xml = *xml;
        auto r = conn->call<proto::REMOTE_PROC_NETWORK_DEFINE_XML>(a);
        net = r ? Result<proto::remote_nonnull_network>(r->net) : unexpected(r.error());
    }
    if (!net) {
        printError(std::string("Failed to ") + (create ? "create" : "define") + " network from " + file, net.error());
        return 1;
    }
    printExtra("Network %s %s from %s\n", net->name.c_str(), create ? "created" : "defined", file.c_str());
    return 0;
}

/// net-start, net-destroy, net-undefine: look up, call, report.
template <std::int32_t P, class Args>
int netSimple(Context& ctx, const char* failVerb, const char* done) {
    auto t = openNetwork(ctx);
    if (!t) {
        return 1;
    }
    Args a;
    a.net = t->net;
    auto r = t->conn->template call<P>(a);
    if (!r) {
        printError(std::string("Failed to ") + failVerb + " network " + t->net.name, r.error());
        return 1;
    }
    printExtra("Network %s %s\n", t->net.name.c_str(), done);
    return 0;
}

int netDumpXml(Context& ctx) {
    auto t = openNetwork(ctx);
    if (!t) {
        return 1;
    }
    proto::remote_network_get_xml_desc_args a;
    a.net = t->net;
    a.flags = ctx.args.flag("inactive") ? 1u : 0u;
    auto r = t->conn->call<proto::REMOTE_PROC_NETWORK_GET_XML_DESC>(a);
    if (!r) {
        printError("", r.error());
        return 1;
    }
    std::printf("%s", r->xml.c_str());
    return 0;
}

int netInfo(Context& ctx) {
    auto t = openNetwork(ctx);
    if (!t) {
        return 1;
    }
    auto active = isActive(*t->conn, t->net);
    auto persistent = isPersistent(*t->conn, t->net);
    auto on = autostart(*t->conn, t->net);
    std::printf("%-15s %s\n", "Name:", t->net.name.c_str());
    std::printf("%-15s %s\n", "UUID:", uuidText(t->net.uuid).c_str());
    if (active) {
        std::printf("%-15s %s\n", "Active:", *active ? "yes" : "no");
    }
    if (persistent) {
        std::printf("%-15s %s\n", "Persistent:", *persistent ? "yes" : "no");
    }
    std::printf("%-15s %s\n", "Autostart:", on ? (*on ? "yes" : "no") : "no autostart");
    proto::remote_network_get_bridge_name_args b;
    b.net = t->net;
    if (auto bridge = t->conn->call<proto::REMOTE_PROC_NETWORK_GET_BRIDGE_NAME>(b)) {
        std::printf("%-15s %s\n", "Bridge:", bridge->name.c_str());
    }
    return 0;
}

int netAutostart(Context& ctx) {
    auto t = openNetwork(ctx);
    if (!t) {
        return 1;
    }
    const bool disable = ctx.args.flag("disable");
    proto::remote_network_set_autostart_args a;
    a.net = t->net;
    a.autostart = disable ? 0 : 1;
    auto r = t->conn->call<proto::REMOTE_PROC_NETWORK_SET_AUTOSTART>(a);
    if (!r) {
        printError(std::string("failed to ") + (disable ? "unmark" : "mark") + " network " + t->net.name +
                       " as autostarted",
                   r.error());
        return 1;
    }
    printExtra("Network %s %s\n", t->net.name.c_str(), disable ? "unmarked as autostarted" : "marked as autostarted");
    return 0;
}

}  // namespace

void registerNetworkCommands() {
    OptSpec network{"network", OptKind::String, true, true, "network name or uuid"};
    OptSpec file{"file", OptKind::String, true, true, "file containing an XML network description"};
    registerCommand({"net-list", "list networks",
                     {{"all", OptKind::Bool, false, false, ""}, {"inactive", OptKind::Bool, false, false, ""},
                      {"name", OptKind::Bool, false, false, ""}},
                     netList});
    registerCommand({"net-define", "define an inactive persistent virtual network", {file},
                     [](Context& ctx) { return netDefineOrCreate(ctx, false); }});
    registerCommand({"net-create", "create a network from an XML file", {file},
                     [](Context& ctx) { return netDefineOrCreate(ctx, true); }});
    registerCommand({"net-start", "start a (previously defined) inactive network", {network}, [](Context& ctx) {
                         return netSimple<proto::REMOTE_PROC_NETWORK_CREATE, proto::remote_network_create_args>(
                             ctx, "start", "started");
                     }});
    registerCommand({"net-destroy", "destroy (stop) a network", {network}, [](Context& ctx) {
                         return netSimple<proto::REMOTE_PROC_NETWORK_DESTROY, proto::remote_network_destroy_args>(
                             ctx, "destroy", "destroyed");
                     }});
    registerCommand({"net-undefine", "undefine a persistent network", {network}, [](Context& ctx) {
                         return netSimple<proto::REMOTE_PROC_NETWORK_UNDEFINE, proto::remote_network_undefine_args>(
                             ctx, "undefine", "has been undefined");
                     }});
    registerCommand({"net-dumpxml", "network information in XML",
                     {network, {"inactive", OptKind::Bool, false, false, "the persistent definition"}}, netDumpXml});
    registerCommand({"net-info", "network information", {network}, netInfo});
    registerCommand({"net-autostart", "autostart a network",
                     {network, {"disable", OptKind::Bool, false, false, ""}}, netAutostart});
}

}  // namespace corral::cli
