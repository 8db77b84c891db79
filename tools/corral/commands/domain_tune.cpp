// SPDX-License-Identifier: LGPL-2.1-or-later
// Resource control: schedinfo, memtune, blkiotune, with virsh's options and output.
#include <cctype>
#include <cinttypes>
#include <cstdio>

#include "../cli.hpp"
#include "util/strings.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

constexpr std::uint64_t kMemoryUnlimited = 9007199254740991ULL;  // VIR_DOMAIN_MEMORY_PARAM_UNLIMITED
constexpr unsigned kStringOkay = 4;                               // VIR_TYPED_PARAM_STRING_OKAY

/// Sets `p`'s value from text, keeping the type the daemon reported.
bool setFromText(proto::remote_typed_param& p, const std::string& text) {
    auto& v = p.value;
    switch (static_cast<std::uint32_t>(v.type)) {
        case proto::VIR_TYPED_PARAM_STRING: v.s = text; return true;
        case proto::VIR_TYPED_PARAM_LLONG:
        case proto::VIR_TYPED_PARAM_INT: {
            auto n = parseSigned(text);
            if (n && v.type == proto::VIR_TYPED_PARAM_LLONG) {
                v.l = *n;
            } else if (n) {
                v.i = static_cast<int>(*n);
            }
            return n.has_value();
        }
        default: {
            auto n = parseUnsigned(text);
            if (n && v.type == proto::VIR_TYPED_PARAM_ULLONG) {
                v.ul = *n;
            } else if (n) {
                v.ui = static_cast<unsigned>(*n);
            }
            return n.has_value();
        }
    }
}

proto::remote_typed_param ullongParam(const std::string& field, std::uint64_t value) {
    proto::remote_typed_param p;
    p.field = field;
    p.value.type = proto::VIR_TYPED_PARAM_ULLONG;
    p.value.ul = value;
    return p;
}

proto::remote_typed_param stringParam(const std::string& field, const std::string& value) {
    proto::remote_typed_param p;
    p.field = field;
    p.value.type = proto::VIR_TYPED_PARAM_STRING;
    p.value.s = value;
    return p;
}

int schedinfo(Context& ctx) {
    auto flags = impactFlags(ctx);
    auto target = flags ? openTarget(ctx) : std::nullopt;
    if (!target) {
        return 1;
    }
    proto::remote_domain_get_scheduler_type_args ta;
    ta.dom = target->dom;
    auto type = target->conn->call<proto::REMOTE_PROC_DOMAIN_GET_SCHEDULER_TYPE>(ta);
    if (!type) {
        printError("", type.error());
        return 1;
    }
    std::printf("%-15s: %s\n", "Scheduler", type->type.c_str());
    auto get = [&]() -> Result<std::vector<proto::remote_typed_param>> {
        proto::remote_domain_get_scheduler_parameters_flags_args a;
        a.dom = target->dom;
        a.nparams = type->nparams;
        a.flags = *flags;
        CORRAL_ASSIGN_OR_RETURN(auto r, target->conn->call<proto::REMOTE_PROC_DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS>(a));
        return r.params;
    };
    auto params = get();
    if (!params) {
        printError("", params.error());
        return 1;
    }
    if (auto set = ctx.args.get("set")) {
        auto eq = set->find('=');
        std::string field = set->substr(0, eq);
        std::vector<proto::remote_typed_param> changed;
        for (auto p : *params) {
            if (p.field == field) {
                if (eq == std::string::npos || !setFromText(p, set->substr(eq + 1))) {
                    printError("invalid scheduler option: " + *set);
                    return 1;
                }
                changed.push_back(p);
            }
        }
        if (changed.empty()) {
            printError("invalid scheduler option: " + field);
            return 1;
        }
        proto::remote_domain_set_scheduler_parameters_flags_args a;
        a.dom = target->dom;
        a.params = changed;
        a.flags = *flags;
        auto r = target->conn->call<proto::REMOTE_PROC_DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS>(a);
        if (!r) {
            printError("", r.error());
            return 1;
        }
        params = get();
        if (!params) {
            printError("", params.error());
            return 1;
        }
    }
    for (const auto& p : *params) {
        std::printf("%-15s: %s\n", p.field.c_str(), typedValueText(p.value).c_str());
    }
    return 0;
}

/// A memtune size option: KiB by default, or with a unit suffix (as virsh's scaled integers).
std::optional<std::uint64_t> sizeOption(const Context& ctx, const std::string& name, bool& bad) {
    auto text = ctx.args.get(name);
    if (!text) {
        return std::nullopt;
    }
    if (*text == "-1") {
        return kMemoryUnlimited;  // virsh: -1 means unlimited
    }
    if (auto kib = parseScaledKiB(*text)) {
        return kib;
    }
    printError("Unable to parse integer parameter " + name);
    bad = true;
    return std::nullopt;
}

int memtune(Context& ctx) {
    auto flags = impactFlags(ctx);
    if (!flags) {
        return 1;
    }
    std::vector<proto::remote_typed_param> changes;
    bool bad = false;
    for (const auto& [option, field] : {std::pair{"hard-limit", "hard_limit"}, {"soft-limit", "soft_limit"},
                                        {"swap-hard-limit", "swap_hard_limit"}, {"min-guarantee", "min_guarantee"}}) {
        if (auto v = sizeOption(ctx, option, bad)) {
            changes.push_back(ullongParam(field, *v));
        }
    }
    if (bad) {
        return 1;
    }
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    if (!changes.empty()) {
        proto::remote_domain_set_memory_parameters_args a;
        a.dom = target->dom;
        a.params = changes;
        a.flags = *flags;
        auto r = target->conn->call<proto::REMOTE_PROC_DOMAIN_SET_MEMORY_PARAMETERS>(a);
        if (!r) {
            printError("Unable to change memory parameters", r.error());
            return 1;
        }
        return 0;
    }
    proto::remote_domain_get_memory_parameters_args a;
    a.dom = target->dom;
    a.nparams = static_cast<int>(proto::REMOTE_DOMAIN_MEMORY_PARAMETERS_MAX);
    a.flags = *flags;
    auto r = target->conn->call<proto::REMOTE_PROC_DOMAIN_GET_MEMORY_PARAMETERS>(a);
    if (!r) {
        printError("Unable to get memory parameters", r.error());
        return 1;
    }
    for (const auto& p : r->params) {
        bool unlimited = p.value.type == proto::VIR_TYPED_PARAM_ULLONG && p.value.ul == kMemoryUnlimited;
        std::printf("%-15s: %s\n", p.field.c_str(), unlimited ? "unlimited" : typedValueText(p.value).c_str());
    }
    return 0;
}

int blkiotune(Context& ctx) {
    auto flags = impactFlags(ctx);
    if (!flags) {
        return 1;
    }
    std::vector<proto::remote_typed_param> changes;
    if (auto w = ctx.args.get("weight")) {
        auto n = parseUnsigned(*w);
        if (!n) {
            printError("Unable to parse integer parameter weight");
            return 1;
        }
        proto::remote_typed_param p;
        p.field = "weight";
        p.value.type = proto::VIR_TYPED_PARAM_UINT;
        p.value.ui = static_cast<unsigned>(*n);
        changes.push_back(p);
    }
    for (const auto& [option, field] :
         {std::pair{"device-weights", "device_weight"}, {"device-read-iops-sec", "device_read_iops_sec"},
          {"device-write-iops-sec", "device_write_iops_sec"}, {"device-read-bytes-sec", "device_read_bytes_sec"},
          {"device-write-bytes-sec", "device_write_bytes_sec"}}) {
        if (auto v = ctx.args.get(option)) {
            changes.push_back(stringParam(field, *v));
        }
    }
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    if (!changes.empty()) {
        proto::remote_domain_set_blkio_parameters_args a;
        a.dom = target->dom;
        a.params = changes;
        a.flags = *flags;
        auto r = target->conn->call<proto::REMOTE_PROC_DOMAIN_SET_BLKIO_PARAMETERS>(a);
        if (!r) {
            printError("Unable to change blkio parameters", r.error());
            return 1;
        }
        return 0;
    }
    proto::remote_domain_get_blkio_parameters_args a;
    a.dom = target->dom;
    a.nparams = static_cast<int>(proto::REMOTE_DOMAIN_BLKIO_PARAMETERS_MAX);
    a.flags = *flags | kStringOkay;
    auto r = target->conn->call<proto::REMOTE_PROC_DOMAIN_GET_BLKIO_PARAMETERS>(a);
    if (!r) {
        printError("Unable to get blkio parameters", r.error());
        return 1;
    }
    for (const auto& p : r->params) {
        std::printf("%-15s: %s\n", p.field.c_str(), typedValueText(p.value).c_str());
    }
    return 0;
}

}  // namespace

void registerDomainTuneCommands() {
    const auto with = withDomainAndImpact;
    registerCommand({"schedinfo", "show/set scheduler parameters",
                     with({{"set", OptKind::String, false, false, "parameter=value"}}), schedinfo});
    registerCommand({"memtune", "Get or set memory parameters",
                     with({{"hard-limit", OptKind::String, false, false, "max memory, as scaled integer (default KiB)"},
                           {"soft-limit", OptKind::String, false, false, "memory during contention (default KiB)"},
                           {"swap-hard-limit", OptKind::String, false, false, "max memory plus swap (default KiB)"},
                           {"min-guarantee", OptKind::String, false, false, "min guaranteed memory (default KiB)"}}),
                     memtune});
    registerCommand({"blkiotune", "Get or set blkio parameters",
                     with({{"weight", OptKind::String, false, false, "IO Weight"},
                           {"device-weights", OptKind::String, false, false, "per-device IO weights (path,weight,...)"},
                           {"device-read-iops-sec", OptKind::String, false, false, "per-device read I/O limit"},
                           {"device-write-iops-sec", OptKind::String, false, false, "per-device write I/O limit"},
                           {"device-read-bytes-sec", OptKind::String, false, false, "per-device bytes read limit"},
                           {"device-write-bytes-sec", OptKind::String, false, false, "per-device bytes write limit"}}),
                     blkiotune});
}

}  // namespace corral::cli
