// SPDX-License-Identifier: LGPL-2.1-or-later
// A guest's size and name: setmem, setmaxmem, setvcpus, vcpucount, domrename, with virsh's
// options, calls and output.
#include <cstdio>

#include "../cli.hpp"
#include "util/strings.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

constexpr unsigned kLive = 1, kConfig = 2, kMaximum = 4, kGuest = 8;

/// The size argument in KiB, or nullopt after virsh's message.
std::optional<std::uint64_t> sizeArgument(const Context& ctx) {
    const std::string text = ctx.args.get("size").value_or("");
    auto kib = parseScaledKiB(text);
    if (!kib || *kib == 0) {
        printError("Scaled numeric value '" + text + "' for <size> option is malformed or out of range");
        return std::nullopt;
    }
    return kib;
}

int setMemoryCommand(Context& ctx, bool maximum) {
    auto flags = impactFlags(ctx);
    auto kib = flags ? sizeArgument(ctx) : std::nullopt;
    auto target = kib ? openTarget(ctx) : std::nullopt;
    if (!target) {
        return 1;
    }
    Result<proto::xdr_void> done = proto::xdr_void{};
    // As virsh: no impact option calls the old API (live for setmem, current for setmaxmem).
    const bool noImpact = *flags == 0 && !ctx.args.flag("current");
    if (noImpact && !maximum) {
        proto::remote_domain_set_memory_args a{target->dom, *kib};
        done = target->conn->call<proto::REMOTE_PROC_DOMAIN_SET_MEMORY>(a);
    } else if (noImpact) {
        proto::remote_domain_set_max_memory_args a{target->dom, *kib};
        done = target->conn->call<proto::REMOTE_PROC_DOMAIN_SET_MAX_MEMORY>(a);
    } else {
        proto::remote_domain_set_memory_flags_args a{target->dom, *kib, *flags | (maximum ? kMaximum : 0u)};
        done = target->conn->call<proto::REMOTE_PROC_DOMAIN_SET_MEMORY_FLAGS>(a);
    }
    if (!done) {
        printError(maximum ? "Unable to change MaxMemorySize" : "", done.error());
        return 1;
    }
    return 0;
}

int setmem(Context& ctx) { return setMemoryCommand(ctx, false); }
int setmaxmem(Context& ctx) { return setMemoryCommand(ctx, true); }

int setvcpus(Context& ctx) {
    auto flags = impactFlags(ctx);
    if (!flags) {
        return 1;
    }
    auto count = parseUnsigned(ctx.args.get("count").value_or(""));
    if (!count || *count == 0 || *count > UINT32_MAX) {
        printError("Invalid number of virtual CPUs");
        return 1;
    }
    if (ctx.args.flag("maximum") && ctx.args.flag("live")) {
        printError("Options --maximum and --live are mutually exclusive");
        return 1;
    }
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    unsigned all = *flags | (ctx.args.flag("maximum") ? kMaximum : 0u) | (ctx.args.flag("guest") ? kGuest : 0u);
    Result<proto::xdr_void> done = proto::xdr_void{};
    if (all == 0 && !ctx.args.flag("current")) {
        proto::remote_domain_set_vcpus_args a{target->dom, static_cast<unsigned>(*count)};
        done = target->conn->call<proto::REMOTE_PROC_DOMAIN_SET_VCPUS>(a);
    } else {
        proto::remote_domain_set_vcpus_flags_args a{target->dom, static_cast<unsigned>(*count), all};
        done = target->conn->call<proto::REMOTE_PROC_DOMAIN_SET_VCPUS_FLAGS>(a);
    }
    if (!done) {
        printError("", done.error());
        return 1;
    }
    return 0;
}

/// virsh vcpucount: maximum and current, from the persistent and the live definition.
int vcpucount(Context& ctx) {
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    proto::remote_domain_is_active_args activeArgs{target->dom};
    auto active = target->conn->call<proto::REMOTE_PROC_DOMAIN_IS_ACTIVE>(activeArgs);
    if (!active) {
        printError("", active.error());
        return 1;
    }
    const bool onlyMaximum = ctx.args.flag("maximum");
    const bool onlyCurrent = ctx.args.flag("active");
    const bool onlyLive = ctx.args.flag("live");
    const bool onlyConfig = ctx.args.flag("config");
    struct Row {
        const char* which;
        const char* scope;
        int count;
    };
    std::vector<Row> rows;
    for (bool maximum : {true, false}) {
        if ((onlyMaximum && !maximum) || (onlyCurrent && maximum)) {
            continue;
        }
        for (bool live : {false, true}) {
            if ((onlyLive && !live) || (onlyConfig && live) || (live && active->active == 0)) {
                continue;
            }
            proto::remote_domain_get_vcpus_flags_args a{target->dom, (live ? kLive : kConfig) | (maximum ? kMaximum : 0u)};
            auto r = target->conn->call<proto::REMOTE_PROC_DOMAIN_GET_VCPUS_FLAGS>(a);
            if (!r) {
                printError("", r.error());
                return 1;
            }
            rows.push_back({maximum ? "maximum" : "current", live ? "live" : "config", r->num});
        }
    }
    if (ctx.json) {
        JsonWriter w;
        w.beginObject();
        for (const char* which : {"maximum", "current"}) {
            bool any = false;
            for (const auto& row : rows) {
                if (std::string(row.which) == which) {
                    if (!any) {
                        w.key(which).beginObject();
                        any = true;
                    }
                    w.key(row.scope).value(row.count);
                }
            }
            if (any) {
                w.endObject();
            }
        }
        w.endObject();
        printJson(ctx, w);
        return 0;
    }
    for (const auto& row : rows) {
        std::printf("%-12s %-12s %3d\n", row.which, row.scope, row.count);
    }
    return 0;
}

int domrename(Context& ctx) {
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    proto::remote_domain_rename_args a;
    a.dom = target->dom;
    a.new_name = ctx.args.get("new-name").value_or("");
    a.flags = 0;
    auto r = target->conn->call<proto::REMOTE_PROC_DOMAIN_RENAME>(a);
    if (!r) {
        printError("", r.error());
        return 1;
    }
    printExtra("Domain successfully renamed\n");
    return 0;
}

}  // namespace

void registerDomainResizeCommands() {
    OptSpec domain{"domain", OptKind::String, true, true, "domain name, id or uuid"};
    const auto with = withDomainAndImpact;
    registerCommand({"setmem", "change memory allocation",
                     with({{"size", OptKind::String, true, true, "new memory size, as scaled integer (default KiB)"}}),
                     setmem});
    registerCommand({"setmaxmem", "change maximum memory limit",
                     with({{"size", OptKind::String, true, true, "new maximum memory size, as scaled integer (default KiB)"}}),
                     setmaxmem});
    registerCommand({"setvcpus", "change number of virtual CPUs",
                     with({{"count", OptKind::String, true, true, "number of virtual CPUs"},
                           {"maximum", OptKind::Bool, false, false, "set maximum limit on next boot"},
                           {"guest", OptKind::Bool, false, false, "modify cpu state in the guest"}}),
                     setvcpus});
    registerCommand({"vcpucount", "domain vcpu counts",
                     {domain,
                      {"maximum", OptKind::Bool, false, false, "get maximum count of vcpus"},
                      {"active", OptKind::Bool, false, false, "get number of currently active vcpus"},
                      {"live", OptKind::Bool, false, false, "get value from running domain"},
                      {"config", OptKind::Bool, false, false, "get value to be used on next boot"},
                      {"current", OptKind::Bool, false, false, "get value according to current domain state"}},
                     vcpucount});
    registerCommand({"domrename", "rename a domain",
                     {domain, {"new-name", OptKind::String, true, true, "new domain name"}}, domrename});
}

}  // namespace corral::cli
