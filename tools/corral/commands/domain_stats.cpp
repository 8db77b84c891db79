// SPDX-License-Identifier: LGPL-2.1-or-later
// Statistics: domblkstat, domifstat, dommemstat, domstats, printed as virsh prints them.
#include <cinttypes>
#include <cstdio>

#include "../cli.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

int domblkstat(Context& ctx) {
    std::string name = *ctx.args.get("domain");
    std::string device = ctx.args.get("device").value_or("");
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    proto::remote_domain_block_stats_flags_args a;
    a.dom = target->dom;
    a.path = device;
    a.nparams = static_cast<int>(proto::REMOTE_DOMAIN_BLOCK_STATS_PARAMETERS_MAX);
    a.flags = 4;  // VIR_TYPED_PARAM_STRING_OKAY
    auto r = target->conn->call<proto::REMOTE_PROC_DOMAIN_BLOCK_STATS_FLAGS>(a);
    if (!r) {
        printError("Failed to get block stats " + device + " " + name, r.error());
        return 1;
    }
    // virsh prints the classic five under their short names first, then the rest.
    static const std::pair<const char*, const char*> kShort[] = {
        {"rd_operations", "rd_req"}, {"rd_bytes", "rd_bytes"}, {"wr_operations", "wr_req"},
        {"wr_bytes", "wr_bytes"}, {"errs", "errs"}};
    std::vector<bool> printed(r->params.size(), false);
    for (const auto& [field, shortName] : kShort) {
        for (std::size_t i = 0; i < r->params.size(); ++i) {
            if (r->params[i].field == field) {
                std::printf("%s %s %s\n", device.c_str(), shortName, typedValueText(r->params[i].value).c_str());
                printed[i] = true;
            }
        }
    }
    for (std::size_t i = 0; i < r->params.size(); ++i) {
        if (!printed[i]) {
            std::printf("%s %s %s\n", device.c_str(), r->params[i].field.c_str(),
                        typedValueText(r->params[i].value).c_str());
        }
    }
    return 0;
}

int domifstat(Context& ctx) {
    std::string iface = *ctx.args.get("interface");
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    proto::remote_domain_interface_stats_args a;
    a.dom = target->dom;
    a.device = iface;
    auto r = target->conn->call<proto::REMOTE_PROC_DOMAIN_INTERFACE_STATS>(a);
    if (!r) {
        printError("Failed to get interface stats " + iface + " " + *ctx.args.get("domain"), r.error());
        return 1;
    }
    const std::pair<const char*, std::int64_t> values[] = {
        {"rx_bytes", r->rx_bytes}, {"rx_packets", r->rx_packets}, {"rx_errs", r->rx_errs}, {"rx_drop", r->rx_drop},
        {"tx_bytes", r->tx_bytes}, {"tx_packets", r->tx_packets}, {"tx_errs", r->tx_errs}, {"tx_drop", r->tx_drop}};
    for (const auto& [field, v] : values) {
        if (v >= 0) {
            std::printf("%s %s %" PRId64 "\n", iface.c_str(), field, v);
        }
    }
    return 0;
}

int dommemstat(Context& ctx) {
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    proto::remote_domain_memory_stats_args a;
    a.dom = target->dom;
    a.maxStats = 13;  // VIR_DOMAIN_MEMORY_STAT_NR
    a.flags = 0;
    auto r = target->conn->call<proto::REMOTE_PROC_DOMAIN_MEMORY_STATS>(a);
    if (!r) {
        printError("Failed to get memory statistics for domain", r.error());
        return 1;
    }
    static const char* const kNames[] = {"swap_in", "swap_out", "major_fault", "minor_fault", "unused",
                                         "available", "actual", "rss", "usable", "last_update",
                                         "disk_caches", "hugetlb_pgalloc", "hugetlb_pgfail"};
    for (const auto& s : r->stats) {
        if (s.tag >= 0 && s.tag < 13) {
            std::printf("%s %" PRIu64 "\n", kNames[s.tag], s.val);
        }
    }
    return 0;
}

int domstats(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    // virDomainStatsTypes bits, in virsh's option names.
    static const std::pair<const char*, unsigned> kGroups[] = {
        {"state", 1}, {"cpu-total", 2}, {"balloon", 4}, {"vcpu", 8}, {"interface", 16}, {"block", 32}};
    proto::remote_connect_get_all_domain_stats_args a;
    a.stats = 0;
    for (const auto& [opt, bit] : kGroups) {
        if (ctx.args.flag(opt)) {
            a.stats |= bit;
        }
    }
    // virConnectGetAllDomainStatsFlags' list filters.
    a.flags = (ctx.args.flag("list-active") ? 1u : 0u) | (ctx.args.flag("list-inactive") ? 2u : 0u) |
              (ctx.args.flag("list-persistent") ? 4u : 0u) | (ctx.args.flag("list-transient") ? 8u : 0u) |
              (ctx.args.flag("list-running") ? 16u : 0u) | (ctx.args.flag("list-paused") ? 32u : 0u) |
              (ctx.args.flag("list-shutoff") ? 64u : 0u) | (ctx.args.flag("list-other") ? 128u : 0u) |
              (ctx.args.flag("enforce") ? (1u << 31) : 0u);
    if (auto name = ctx.args.get("domain")) {
        auto dom = lookupDomain(*conn, *name);
        if (!dom) {
            return 1;
        }
        a.doms.push_back(*dom);
    }
    auto r = conn->call<proto::REMOTE_PROC_CONNECT_GET_ALL_DOMAIN_STATS>(a);
    if (!r) {
        printError("", r.error());
        return 1;
    }
    if (ctx.json) {
        // [{"domain": NAME, "uuid": UUID, "stats": {"state.state": 1, "cpu.time": ..., ...}}, ...]
        JsonWriter w;
        w.beginArray();
        for (const auto& rec : r->retStats) {
            w.beginObject().key("domain").value(rec.dom.name).key("uuid").value(uuidText(rec.dom.uuid));
            w.key("stats").beginObject();
            for (const auto& p : rec.params) {
                writeTypedValue(w.key(p.field), p.value);
            }
            w.endObject().endObject();
        }
        w.endArray();
        printJson(ctx, w);
        return 0;
    }
    for (const auto& rec : r->retStats) {
        // An empty line between records; the one after the last is every command's.
        std::printf("%sDomain: '%s'\n", &rec == r->retStats.data() ? "" : "\n", rec.dom.name.c_str());
        for (const auto& p : rec.params) {
            std::printf("  %s=%s\n", p.field.c_str(), typedValueText(p.value).c_str());
        }
    }
    return 0;
}

}  // namespace

void registerDomainStatsCommands() {
    OptSpec domain{"domain", OptKind::String, true, true, "domain name, id or uuid"};
    registerCommand({"domblkstat", "get device block stats for a domain",
                     {domain, {"device", OptKind::String, true, false, "block device (target or source path)"},
                      {"human", OptKind::Bool, false, false, "accepted for virsh compatibility"}},
                     domblkstat});
    registerCommand({"domifstat", "get network interface stats for a domain",
                     {domain, {"interface", OptKind::String, true, true, "host device or MAC address"}}, domifstat});
    registerCommand({"dommemstat", "get memory statistics for a domain", {domain}, dommemstat});
    std::vector<OptSpec> opts{{"domain", OptKind::String, true, false, "only this domain"}};
    for (const char* group : {"state", "cpu-total", "balloon", "vcpu", "interface", "block", "list-active",
                              "list-inactive", "list-persistent", "list-transient", "list-running", "list-paused",
                              "list-shutoff", "list-other", "enforce"}) {
        opts.push_back({group, OptKind::Bool, false, false, ""});
    }
    registerCommand({"domstats", "get statistics about one or multiple domains", opts, domstats});
}

}  // namespace corral::cli
