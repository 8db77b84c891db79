// SPDX-License-Identifier: LGPL-2.1-or-later
// Host devices and host interfaces: nodedev-list, nodedev-dumpxml, nodedev-detach/-reattach/
// -reset/-create/-destroy (refused by corrald), iface-list, iface-dumpxml, iface-mac,
// iface-name, iface-define/-start/-destroy/-undefine and the change transaction (refused), as
// virsh prints them.
#include <algorithm>
#include <cstdio>
#include <map>

#include "../cli.hpp"
#include "util/strings.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

// virConnectListAllNodeDevices' capability bits, in virsh's --cap spelling.
constexpr const char* kCapNames[] = {"system", "pci", "usb_device", "usb", "net", "scsi_host", "scsi_target",
                                     "scsi", "storage", "fc_host", "vports", "scsi_generic", "drm", "mdev_types",
                                     "mdev", "ccw", "css", "vdpa", "ap_card", "ap_queue", "ap_matrix", "vpd"};
constexpr unsigned kListInactive = 1u << 30;
constexpr unsigned kListActive = 1u << 31;

/// The name of `device` after checking it exists, as virsh looks devices up first.
std::optional<std::string> lookupDevice(client::Connection& conn, const std::string& device) {
    proto::remote_node_device_lookup_by_name_args a;
    a.name = device;
    auto r = conn.call<proto::REMOTE_PROC_NODE_DEVICE_LOOKUP_BY_NAME>(a);
    if (!r) {
        printError("Could not find matching device '" + device + "'", r.error());
        return std::nullopt;
    }
    return r->dev.name;
}

/// virsh's vshTreePrint: each device under its parent, drawn with "+-" and "|".
void printTree(const std::vector<std::string>& names, const std::map<std::string, std::string>& parents,
               std::size_t dev, std::optional<std::size_t> lastSibling, bool root, std::string& indent) {
    std::printf("%s%s%s\n", indent.c_str(), root ? "" : "+- ", names[dev].c_str());
    if (!root) {
        indent += (lastSibling == dev) ? "  " : "| ";
    }
    std::vector<std::size_t> children;
    for (std::size_t i = 0; i < names.size(); ++i) {
        auto p = parents.find(names[i]);
        if (p != parents.end() && p->second == names[dev]) {
            children.push_back(i);
        }
    }
    if (!children.empty()) {
        std::printf("%s  |\n", indent.c_str());
    }
    indent += "  ";
    for (std::size_t c : children) {
        printTree(names, parents, c, children.back(), false, indent);
    }
    indent.resize(indent.size() - 2);
    if (children.empty() && lastSibling == dev) {
        std::printf("%s\n", indent.c_str());
    }
    if (!root) {
        indent.resize(indent.size() - 2);
    }
}

int nodedevList(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    proto::remote_connect_list_all_node_devices_args a;
    a.need_results = 1;
    a.flags = ctx.args.flag("all") ? 0u : ctx.args.flag("inactive") ? kListInactive : kListActive;
    if (auto caps = ctx.args.get("cap")) {
        for (const auto& cap : splitString(*caps, ',')) {
            auto it = std::find(std::begin(kCapNames), std::end(kCapNames), cap);
            if (it == std::end(kCapNames)) {
                printError("Invalid capability type '" + cap + "'");
                return 1;
            }
            a.flags |= 1u << (it - std::begin(kCapNames));
        }
    }
    if (ctx.args.flag("tree") && ctx.args.get("cap")) {
        printError("Options --tree and --cap are incompatible");
        return 1;
    }
    auto r = conn->call<proto::REMOTE_PROC_CONNECT_LIST_ALL_NODE_DEVICES>(a);
    if (!r) {
        printError("Failed to list node devices", r.error());
        return 1;
    }
    std::vector<std::string> names;
    for (const auto& d : r->devices) {
        names.push_back(d.name);
    }
    std::sort(names.begin(), names.end());
    if (ctx.json) {
        JsonWriter w;
        w.beginArray();
        for (const auto& n : names) {
            w.value(n);
        }
        w.endArray();
        printJson(ctx, w);
        return 0;
    }
    if (!ctx.args.flag("tree")) {
        for (const auto& n : names) {
            std::printf("%s\n", n.c_str());
        }
        return 0;
    }
    std::map<std::string, std::string> parents;
    for (const auto& n : names) {
        proto::remote_node_device_get_parent_args p;
        p.name = n;
        if (auto parent = conn->call<proto::REMOTE_PROC_NODE_DEVICE_GET_PARENT>(p); parent && parent->parentName) {
            parents[n] = *parent->parentName;
        }
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (parents.count(names[i]) == 0) {
            std::string indent;
            printTree(names, parents, i, std::nullopt, true, indent);
        }
    }
    return 0;
}

int nodedevDumpXml(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    auto name = lookupDevice(*conn, *ctx.args.get("device"));
    if (!name) {
        return 1;
    }
    proto::remote_node_device_get_xml_desc_args a;
    a.name = *name;
    a.flags = ctx.args.flag("inactive") ? 1u : 0u;
    auto r = conn->call<proto::REMOTE_PROC_NODE_DEVICE_GET_XML_DESC>(a);
    if (!r) {
        printError("", r.error());
        return 1;
    }
    std::printf("%s", r->xml.c_str());
    return 0;
}

/// nodedev-detach, -reattach, -reset, -destroy: look the device up, call, report.
template <std::int32_t P, class Args>
int nodedevAction(Context& ctx, const std::string& failText, const std::string& doneText) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    const std::string device = *ctx.args.get("device");
    auto name = lookupDevice(*conn, device);
    if (!name) {
        return 1;
    }
    Args a{};
    a.name = *name;
    auto r = conn->call<P>(a);
    if (!r) {
        printError(failText + " " + device, r.error());
        return 1;
    }
    printExtra("%s %s\n", doneText.c_str(), device.c_str());
    return 0;
}

int nodedevCreate(Context& ctx) {
    const std::string file = *ctx.args.get("file");
    auto xml = readFile(file);
    if (!xml) {
        return 1;
    }
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    proto::remote_node_device_create_xml_args a;
    a.xml_desc = *xml;
    a.flags = 0;
    auto r = conn->call<proto::REMOTE_PROC_NODE_DEVICE_CREATE_XML>(a);
    if (!r) {
        printError("Failed to create node device from " + file, r.error());
        return 1;
    }
    printExtra("Node device %s created from %s\n", r->dev.name.c_str(), file.c_str());
    return 0;
}

/// True for "aa:bb:cc:dd:ee:ff": virsh looks such an argument up as a MAC address.
bool looksLikeMac(const std::string& text) {
    auto parts = splitString(text, ':');
    if (parts.size() != 6) {
        return false;
    }
    for (const auto& p : parts) {
        if (p.empty() || p.size() > 2 || p.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
            return false;
        }
    }
    return true;
}

/// virsh's interface lookup: a MAC address by MAC, anything else by name.
std::optional<proto::remote_nonnull_interface> lookupInterface(client::Connection& conn, const std::string& text,
                                                               bool byName = true, bool byMac = true) {
    Result<proto::remote_nonnull_interface> found = fail(ErrorCode::InternalError, "");
    if (byMac && (looksLikeMac(text) || !byName)) {
        proto::remote_interface_lookup_by_mac_string_args a;
        a.mac = text;
        auto r = conn.call<proto::REMOTE_PROC_INTERFACE_LOOKUP_BY_MAC_STRING>(a);
        found = r ? Result<proto::remote_nonnull_interface>(r->iface) : unexpected(r.error());
    } else {
        proto::remote_interface_lookup_by_name_args a;
        a.name = text;
        auto r = conn.call<proto::REMOTE_PROC_INTERFACE_LOOKUP_BY_NAME>(a);
        found = r ? Result<proto::remote_nonnull_interface>(r->iface) : unexpected(r.error());
    }
    if (!found) {
        printError("failed to get interface '" + text + "'", found.error());
        return std::nullopt;
    }
    return *found;
}

int ifaceList(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    proto::remote_connect_list_all_interfaces_args a;
    a.need_results = 1;
    // virConnectListAllInterfacesFlags: INACTIVE 1, ACTIVE 2.
    a.flags = ctx.args.flag("all") ? 3u : ctx.args.flag("inactive") ? 1u : 2u;
    auto r = conn->call<proto::REMOTE_PROC_CONNECT_LIST_ALL_INTERFACES>(a);
    if (!r) {
        printError("Failed to list interfaces", r.error());
        return 1;
    }
    auto ifaces = r->ifaces;
    std::sort(ifaces.begin(), ifaces.end(), [](const auto& x, const auto& y) { return x.name < y.name; });
    std::vector<std::vector<std::string>> rows;
    JsonWriter w;
    w.beginArray();
    for (const auto& i : ifaces) {
        proto::remote_interface_is_active_args q;
        q.iface = i;
        auto active = conn->call<proto::REMOTE_PROC_INTERFACE_IS_ACTIVE>(q);
        if (!active) {
            continue;  // gone while listing
        }
        const char* state = active->active != 0 ? "active" : "inactive";
        rows.push_back({i.name, state, i.mac});
        w.beginObject().key("name").value(i.name).key("state").value(state).key("mac").value(i.mac).endObject();
    }
    w.endArray();
    if (ctx.json) {
        printJson(ctx, w);
        return 0;
    }
    printTable({"Name", "State", "MAC Address"}, rows);
    return 0;
}

int ifaceDumpXml(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    auto iface = lookupInterface(*conn, *ctx.args.get("interface"));
    if (!iface) {
        return 1;
    }
    proto::remote_interface_get_xml_desc_args a;
    a.iface = *iface;
    a.flags = ctx.args.flag("inactive") ? 1u : 0u;
    auto r = conn->call<proto::REMOTE_PROC_INTERFACE_GET_XML_DESC>(a);
    if (!r) {
        printError("", r.error());
        return 1;
    }
    std::printf("%s", r->xml.c_str());
    return 0;
}

/// iface-mac (name -> MAC) and iface-name (MAC -> name).
int ifaceTranslate(Context& ctx, bool toMac) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    auto iface = lookupInterface(*conn, *ctx.args.get("interface"), toMac, !toMac);
    if (!iface) {
        return 1;
    }
    const std::string& answer = toMac ? iface->mac : iface->name;
    if (ctx.json) {
        JsonWriter w;
        w.beginObject().key(toMac ? "mac" : "name").value(answer).endObject();
        printJson(ctx, w);
        return 0;
    }
    std::printf("%s\n", answer.c_str());
    return 0;
}

int ifaceDefine(Context& ctx) {
    const std::string file = *ctx.args.get("file");
    auto xml = readFile(file);
    if (!xml) {
        return 1;
    }
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    proto::remote_interface_define_xml_args a;
    a.xml = *xml;
    a.flags = 0;
    auto r = conn->call<proto::REMOTE_PROC_INTERFACE_DEFINE_XML>(a);
    if (!r) {
        printError("Failed to define interface from " + file, r.error());
        return 1;
    }
    printExtra("Interface %s defined from %s\n", r->iface.name.c_str(), file.c_str());
    return 0;
}

/// iface-start, iface-destroy, iface-undefine.
template <std::int32_t P, class Args>
int ifaceAction(Context& ctx, const char* failVerb, const char* done) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    auto iface = lookupInterface(*conn, *ctx.args.get("interface"));
    if (!iface) {
        return 1;
    }
    Args a{};
    a.iface = *iface;
    auto r = conn->call<P>(a);
    if (!r) {
        printError(std::string("Failed to ") + failVerb + " interface " + iface->name, r.error());
        return 1;
    }
    printExtra("Interface %s %s\n", iface->name.c_str(), done);
    return 0;
}

/// iface-begin, iface-commit, iface-rollback.
template <std::int32_t P, class Args>
int ifaceTransaction(Context& ctx, const char* verb, const char* done) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    Args a{};
    auto r = conn->call<P>(a);
    if (!r) {
        printError(std::string("Failed to ") + verb + " network config change transaction", r.error());
        return 1;
    }
    printExtra("Network config change transaction %s\n", done);
    return 0;
}

}  // namespace

void registerNodeDeviceCommands() {
    OptSpec device{"device", OptKind::String, true, true, "device name"};
    OptSpec iface{"interface", OptKind::String, true, true, "interface name or MAC address"};
    OptSpec file{"file", OptKind::String, true, true, "file containing an XML description"};
    registerCommand({"nodedev-list", "enumerate devices on this host",
                     {{"tree", OptKind::Bool, false, false, "list devices in a tree"},
                      {"cap", OptKind::String, false, false, "capability names, separated by comma"},
                      {"inactive", OptKind::Bool, false, false, "list inactive devices"},
                      {"all", OptKind::Bool, false, false, "list inactive & active devices"}},
                     nodedevList});
    registerCommand({"nodedev-dumpxml", "node device details in XML",
                     {device, {"inactive", OptKind::Bool, false, false, "the persistent definition"}},
                     nodedevDumpXml});
    registerCommand({"nodedev-detach", "detach node device from its device driver",
                     {device, {"driver", OptKind::String, false, false, "pci device assignment backend driver"}},
                     [](Context& ctx) {
                         return nodedevAction<proto::REMOTE_PROC_NODE_DEVICE_DETTACH,
                                              proto::remote_node_device_dettach_args>(ctx, "Failed to detach device",
                                                                                      "Device detached successfully");
                     }});
    registerCommand({"nodedev-reattach", "reattach node device to its device driver", {device}, [](Context& ctx) {
                         return nodedevAction<proto::REMOTE_PROC_NODE_DEVICE_RE_ATTACH,
                                              proto::remote_node_device_re_attach_args>(
                             ctx, "Failed to re-attach device", "Device re-attached successfully");
                     }});
    registerCommand({"nodedev-reset", "reset node device", {device}, [](Context& ctx) {
                         return nodedevAction<proto::REMOTE_PROC_NODE_DEVICE_RESET,
                                              proto::remote_node_device_reset_args>(ctx, "Failed to reset device",
                                                                                    "Device reset successfully");
                     }});
    registerCommand({"nodedev-destroy", "destroy (stop) a device on the node", {device}, [](Context& ctx) {
                         return nodedevAction<proto::REMOTE_PROC_NODE_DEVICE_DESTROY,
                                              proto::remote_node_device_destroy_args>(
                             ctx, "Failed to destroy node device", "Destroyed node device");
                     }});
    registerCommand({"nodedev-create", "create a device defined by an XML file on the node", {file}, nodedevCreate});

    registerCommand({"iface-list", "list physical host interfaces",
                     {{"inactive", OptKind::Bool, false, false, "list inactive interfaces"},
                      {"all", OptKind::Bool, false, false, "list inactive & active interfaces"}},
                     ifaceList});
    registerCommand({"iface-dumpxml", "interface information in XML",
                     {iface, {"inactive", OptKind::Bool, false, false, "the persistent definition"}}, ifaceDumpXml});
    registerCommand({"iface-mac", "convert an interface name to interface MAC address",
                     {{"interface", OptKind::String, true, true, "interface name"}},
                     [](Context& ctx) { return ifaceTranslate(ctx, true); }});
    registerCommand({"iface-name", "convert an interface MAC address to interface name",
                     {{"interface", OptKind::String, true, true, "interface mac"}},
                     [](Context& ctx) { return ifaceTranslate(ctx, false); }});
    registerCommand({"iface-define", "define an inactive persistent physical host interface", {file}, ifaceDefine});
    registerCommand({"iface-start", "start a physical host interface (enable it / \"if-up\")", {iface},
                     [](Context& ctx) {
                         return ifaceAction<proto::REMOTE_PROC_INTERFACE_CREATE, proto::remote_interface_create_args>(
                             ctx, "start", "started");
                     }});
    registerCommand({"iface-destroy", "destroy a physical host interface (disable it / \"if-down\")", {iface},
                     [](Context& ctx) {
                         return ifaceAction<proto::REMOTE_PROC_INTERFACE_DESTROY,
                                            proto::remote_interface_destroy_args>(ctx, "destroy", "destroyed");
                     }});
    registerCommand({"iface-undefine", "undefine a physical host interface (remove it from configuration)", {iface},
                     [](Context& ctx) {
                         return ifaceAction<proto::REMOTE_PROC_INTERFACE_UNDEFINE,
                                            proto::remote_interface_undefine_args>(ctx, "undefine", "undefined");
                     }});
    registerCommand({"iface-begin", "create a snapshot of current interfaces settings", {}, [](Context& ctx) {
                         return ifaceTransaction<proto::REMOTE_PROC_INTERFACE_CHANGE_BEGIN,
                                                 proto::remote_interface_change_begin_args>(ctx, "begin", "started");
                     }});
    registerCommand({"iface-commit", "commit changes made since iface-begin and free restore point", {},
                     [](Context& ctx) {
                         return ifaceTransaction<proto::REMOTE_PROC_INTERFACE_CHANGE_COMMIT,
                                                 proto::remote_interface_change_commit_args>(ctx, "commit",
                                                                                             "committed");
                     }});
    registerCommand({"iface-rollback", "rollback to previous saved configuration created via iface-begin", {},
                     [](Context& ctx) {
                         return ifaceTransaction<proto::REMOTE_PROC_INTERFACE_CHANGE_ROLLBACK,
                                                 proto::remote_interface_change_rollback_args>(ctx, "rollback",
                                                                                               "rolled back");
                     }});
}

}  // namespace corral::cli
