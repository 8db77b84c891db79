// SPDX-License-Identifier: LGPL-2.1-or-later
// Host and connection queries: version, hostname, uri, nodeinfo, capabilities.
#include <cstdio>

#include "../cli.hpp"
#include "util/json.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

std::string versionText(std::uint64_t v) {
    return std::to_string(v / 1000000) + "." + std::to_string(v / 1000 % 1000) + "." + std::to_string(v % 1000);
}

int version(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    auto type = conn->call<proto::REMOTE_PROC_CONNECT_GET_TYPE>(proto::xdr_void{});
    if (!type) {
        printError("failed to get hypervisor type", type.error());
        return 1;
    }
    auto hv = conn->call<proto::REMOTE_PROC_CONNECT_GET_VERSION>(proto::xdr_void{});
    auto lib = conn->call<proto::REMOTE_PROC_CONNECT_GET_LIB_VERSION>(proto::xdr_void{});
    if (ctx.json) {
        JsonWriter w;
        w.beginObject().key("client").value("corral 0.1.0").key("hypervisor_type").value(type->type);
        w.key("hypervisor_version").value(hv && hv->hv_ver != 0 ? versionText(hv->hv_ver) : std::string());
        w.key("daemon_api_version").value(lib ? versionText(lib->lib_ver) : std::string());
        w.endObject();
        printJson(ctx, w);
        return 0;
    }
    std::printf("Compiled against library: corral 0.1.0 (libvirt API 9.0.0)\n");
    std::printf("Using library: corral 0.1.0\n");
    std::printf("Using API: %s %s\n", type->type.c_str(), lib ? versionText(lib->lib_ver).c_str() : "9.0.0");
    if (hv && hv->hv_ver != 0) {
        std::printf("Running hypervisor: %s %s\n", type->type.c_str(), versionText(hv->hv_ver).c_str());
    } else {
        std::printf("Cannot extract running %s hypervisor version\n", type->type.c_str());
    }
    if (ctx.args.flag("daemon") && lib) {
        std::printf("Running against daemon: %s\n", versionText(lib->lib_ver).c_str());
    }
    return 0;
}

int hostname(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    auto r = conn->call<proto::REMOTE_PROC_CONNECT_GET_HOSTNAME>(proto::xdr_void{});
    if (!r) {
        printError("failed to get hostname", r.error());
        return 1;
    }
    if (ctx.json) {
        JsonWriter w;
        w.beginObject().key("hostname").value(r->hostname).endObject();
        printJson(ctx, w);
        return 0;
    }
    std::printf("%s\n", r->hostname.c_str());
    return 0;
}

int uri(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    // virsh prints the client-side URI without asking the daemon.
    if (ctx.json) {
        JsonWriter w;
        w.beginObject().key("uri").value(conn->uriText()).endObject();
        printJson(ctx, w);
        return 0;
    }
    std::printf("%s\n", conn->uriText().c_str());
    return 0;
}

int nodeinfo(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    auto r = conn->call<proto::REMOTE_PROC_NODE_GET_INFO>(proto::xdr_void{});
    if (!r) {
        printError("failed to get node information", r.error());
        return 1;
    }
    std::string model(r->model.data(), strnlen(r->model.data(), r->model.size()));
    if (ctx.json) {
        JsonWriter w;
        w.beginObject().key("cpu_model").value(model).key("cpus").value(r->cpus).key("mhz").value(r->mhz);
        w.key("sockets").value(r->sockets).key("cores").value(r->cores).key("threads").value(r->threads);
        w.key("numa_cells").value(r->nodes).key("memory_kib").value(static_cast<std::uint64_t>(r->memory));
        w.endObject();
        printJson(ctx, w);
        return 0;
    }
    std::printf("%-20s %s\n", "CPU model:", model.c_str());
    std::printf("%-20s %d\n", "CPU(s):", r->cpus);
    std::printf("%-20s %d MHz\n", "CPU frequency:", r->mhz);
    std::printf("%-20s %d\n", "CPU socket(s):", r->sockets);
    std::printf("%-20s %d\n", "Core(s) per socket:", r->cores);
    std::printf("%-20s %d\n", "Thread(s) per core:", r->threads);
    std::printf("%-20s %d\n", "NUMA cell(s):", r->nodes);
    std::printf("%-20s %llu KiB\n", "Memory size:", static_cast<unsigned long long>(r->memory));
    return 0;
}

int capabilities(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    auto r = conn->call<proto::REMOTE_PROC_CONNECT_GET_CAPABILITIES>(proto::xdr_void{});
    if (!r) {
        printError("failed to get capabilities", r.error());
        return 1;
    }
    std::printf("%s", r->capabilities.c_str());
    return 0;
}

}  // namespace

void registerHostCommands() {
    registerCommand({"version", "show version", {{"daemon", OptKind::Bool, false, false, ""}}, version});
    registerCommand({"hostname", "print the hypervisor hostname", {}, hostname});
    registerCommand({"uri", "print the hypervisor canonical URI", {}, uri});
    registerCommand({"nodeinfo", "node information", {}, nodeinfo});
    registerCommand({"capabilities", "capabilities", {{"xpath", OptKind::String, false, false, ""}, {"wrap", OptKind::Bool, false, false, ""}}, capabilities});
}

}  // namespace corral::cli
