// SPDX-License-Identifier: LGPL-2.1-or-later
// What a domain's guest agent answers: domtime, domhostname, domifaddr (also from DHCP leases or
// the host's ARP table), domfsinfo, domfsfreeze, domfsthaw, set-user-password, guestinfo and
// qemu-agent-command, with virsh's options, calls and output (and --json).
#include <cstdio>
#include <ctime>

#include "../cli.hpp"
#include "util/strings.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

/// True, with the error printed, when `r` failed.
template <class T>
bool failed(const Result<T>& r) {
    if (!r) {
        printError("", r.error());
        return true;
    }
    return false;
}

std::optional<std::int64_t> signedOption(const Context& ctx, const char* name, bool& bad) {
    auto text = ctx.args.get(name);
    if (!text) {
        return std::nullopt;
    }
    auto v = parseSigned(*text);
    if (!v) {
        printError(std::string("Numeric value '") + *text + "' for <" + name + "> option is malformed or out of range");
        bad = true;
    }
    return v;
}

int domtime(Context& ctx) {
    const bool now = ctx.args.flag("now"), pretty = ctx.args.flag("pretty"), sync = ctx.args.flag("sync");
    bool bad = false;
    auto time = signedOption(ctx, "time", bad);
    if (bad) {
        return 1;
    }
    if (time && now) {
        printError("Options --time and --now are mutually exclusive");
        return 1;
    }
    if (time && sync) {
        printError("Options --time and --sync are mutually exclusive");
        return 1;
    }
    const bool set = time || now || sync;
    if (set && pretty) {
        printError("Options --pretty and --now, --sync, --time are mutually exclusive");
        return 1;
    }
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    if (set) {
        proto::remote_domain_set_time_args a{};
        a.dom = target->dom;
        a.seconds = now ? static_cast<std::int64_t>(std::time(nullptr)) : time.value_or(0);
        a.flags = sync ? 1u : 0u;  // VIR_DOMAIN_TIME_SYNC
        if (failed(target->conn->call<proto::REMOTE_PROC_DOMAIN_SET_TIME>(a))) {
            return 1;
        }
        return 0;
    }
    auto t = target->conn->call<proto::REMOTE_PROC_DOMAIN_GET_TIME>({target->dom, 0});
    if (failed(t)) {
        return 1;
    }
    char pretty_text[64] = "";
    if (pretty) {
        const std::time_t secs = static_cast<std::time_t>(t->seconds);
        std::tm tm{};
        gmtime_r(&secs, &tm);
        std::strftime(pretty_text, sizeof pretty_text, "%Y-%m-%d %H:%M:%S", &tm);
    }
    if (ctx.json) {
        JsonWriter w;
        w.beginObject().key("seconds").value(static_cast<std::int64_t>(t->seconds));
        w.key("nseconds").value(static_cast<unsigned>(t->nseconds)).endObject();
        printJson(ctx, w);
        return 0;
    }
    // virsh prints no newline here: its end-of-command one ends the line.
    if (pretty) {
        std::printf("Time: %s", pretty_text);
    } else {
        std::printf("Time: %lld", static_cast<long long>(t->seconds));
    }
    return 0;
}

int domhostname(Context& ctx) {
    unsigned flags = 0;
    if (auto source = ctx.args.get("source")) {
        if (*source == "lease") {
            flags = 1;  // VIR_DOMAIN_GET_HOSTNAME_LEASE
        } else if (*source == "agent") {
            flags = 2;  // VIR_DOMAIN_GET_HOSTNAME_AGENT
        } else {
            printError("Unknown data source '" + *source + "'");
            return 1;
        }
    }
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    auto name = target->conn->call<proto::REMOTE_PROC_DOMAIN_GET_HOSTNAME>({target->dom, flags});
    if (!name) {
        printError("", name.error());
        printError("failed to get hostname");
        return 1;
    }
    if (ctx.json) {
        JsonWriter w;
        w.beginObject().key("hostname").value(name->hostname).endObject();
        printJson(ctx, w);
        return 0;
    }
    std::printf("%s\n", name->hostname.c_str());
    return 0;
}

int domifaddr(Context& ctx) {
    unsigned source = 0;  // VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE
    if (auto s = ctx.args.get("source")) {
        if (*s == "lease") {
            source = 0;
        } else if (*s == "agent") {
            source = 1;
        } else if (*s == "arp") {
            source = 2;
        } else {
            printError("Unknown data source '" + *s + "'");
            return 1;
        }
    }
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    auto ifaces = target->conn->call<proto::REMOTE_PROC_DOMAIN_INTERFACE_ADDRESSES>({target->dom, source, 0});
    if (!ifaces) {
        printError("", ifaces.error());
        printError("Failed to query for interfaces addresses");
        return 1;
    }
    const auto only = ctx.args.get("interface");
    const bool full = ctx.args.flag("full");
    if (ctx.json) {
        JsonWriter w;
        w.beginArray();
        for (const auto& i : ifaces->ifaces) {
            if (only && *only != i.name) {
                continue;
            }
            w.beginObject().key("name").value(i.name);
            if (i.hwaddr) {
                w.key("hwaddr").value(*i.hwaddr);
            }
            w.key("addrs").beginArray();
            for (const auto& a : i.addrs) {
                w.beginObject().key("type").value(a.type == 0 ? "ipv4" : "ipv6").key("addr").value(a.addr);
                w.key("prefix").value(static_cast<unsigned>(a.prefix)).endObject();
            }
            w.endArray().endObject();
        }
        w.endArray();
        printJson(ctx, w);
        return 0;
    }
    printExtra(" %-10s %-20s %-8s     %s\n%s%s\n", "Name", "MAC address", "Protocol", "Address",
               "-------------------------------------------------", "------------------------------");
    for (const auto& i : ifaces->ifaces) {
        if (only && *only != i.name) {
            continue;
        }
        if (i.addrs.empty()) {
            std::printf(" %-10s %-17s    %-12s %s\n", i.name.c_str(), i.hwaddr ? i.hwaddr->c_str() : "N/A", "N/A",
                        "N/A");
            continue;
        }
        for (std::size_t j = 0; j < i.addrs.size(); ++j) {
            const auto& a = i.addrs[j];
            char addr[512];
            std::snprintf(addr, sizeof addr, "%-12s %s/%d", a.type == 0 ? "ipv4" : "ipv6", a.addr.c_str(),
                          static_cast<int>(a.prefix));
            if (full || j == 0) {
                std::printf(" %-10s %-17s    %s\n", i.name.c_str(), i.hwaddr ? i.hwaddr->c_str() : "", addr);
            } else {
                std::printf(" %-10s %-17s    %s\n", "-", "-", addr);
            }
        }
    }
    return 0;
}

int domfsinfo(Context& ctx) {
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    auto info = target->conn->call<proto::REMOTE_PROC_DOMAIN_GET_FSINFO>({target->dom, 0});
    if (!info) {
        printError("", info.error());
        printError("Unable to get filesystem information");
        return 1;
    }
    if (ctx.json) {
        JsonWriter w;
        w.beginArray();
        for (const auto& fs : info->info) {
            w.beginObject().key("mountpoint").value(fs.mountpoint).key("name").value(fs.name);
            w.key("type").value(fs.fstype).key("target").beginArray();
            for (const auto& t : fs.dev_aliases) {
                w.value(t);
            }
            w.endArray().endObject();
        }
        w.endArray();
        printJson(ctx, w);
        return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& fs : info->info) {
        std::string targets;
        for (const auto& t : fs.dev_aliases) {
            targets += (targets.empty() ? "" : ",") + t;
        }
        rows.push_back({fs.mountpoint, fs.name, fs.fstype, targets});
    }
    printTable({"Mountpoint", "Name", "Type", "Target"}, rows);
    return 0;
}

int fsFreezeOrThaw(Context& ctx, bool freeze) {
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    std::vector<std::string> mountpoints = ctx.args.rest;
    int n = 0;
    if (freeze) {
        auto r = target->conn->call<proto::REMOTE_PROC_DOMAIN_FSFREEZE>({target->dom, mountpoints, 0});
        if (!r) {
            printError("", r.error());
            printError("Unable to freeze filesystems");
            return 1;
        }
        n = r->filesystems;
    } else {
        auto r = target->conn->call<proto::REMOTE_PROC_DOMAIN_FSTHAW>({target->dom, mountpoints, 0});
        if (!r) {
            printError("", r.error());
            printError("Unable to thaw filesystems");
            return 1;
        }
        n = r->filesystems;
    }
    if (ctx.json) {
        JsonWriter w;
        w.beginObject().key("filesystems").value(n).endObject();
        printJson(ctx, w);
        return 0;
    }
    printExtra(freeze ? "Froze %d filesystem(s)\n" : "Thawed %d filesystem(s)\n", n);
    return 0;
}

int setUserPassword(Context& ctx) {
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    const std::string user = ctx.args.get("user").value_or("");
    proto::remote_domain_set_user_password_args a;
    a.dom = target->dom;
    a.user = user;
    a.password = ctx.args.get("password").value_or("");
    a.flags = ctx.args.flag("encrypted") ? 1u : 0u;  // VIR_DOMAIN_PASSWORD_ENCRYPTED
    if (failed(target->conn->call<proto::REMOTE_PROC_DOMAIN_SET_USER_PASSWORD>(a))) {
        return 1;
    }
    // No newline: virsh's end-of-command one ends the line.
    printExtra("Password set successfully for %s in %s", user.c_str(), target->dom.name.c_str());
    return 0;
}

int guestinfo(Context& ctx) {
    // virDomainGuestInfoTypes, in virsh's option order.
    static const std::pair<const char*, unsigned> kTypes[] = {{"user", 1},     {"os", 2},         {"timezone", 4},
                                                              {"hostname", 8}, {"filesystem", 16}, {"disk", 32},
                                                              {"interface", 64}};
    unsigned types = 0;
    for (const auto& [name, bit] : kTypes) {
        if (ctx.args.flag(name)) {
            types |= bit;
        }
    }
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    auto info = target->conn->call<proto::REMOTE_PROC_DOMAIN_GET_GUEST_INFO>({target->dom, types, 0});
    if (failed(info)) {
        return 1;
    }
    if (ctx.json) {
        JsonWriter w;
        w.beginObject();
        for (const auto& p : info->params) {
            w.key(p.field);
            writeTypedValue(w, p.value);
        }
        w.endObject();
        printJson(ctx, w);
        return 0;
    }
    for (const auto& p : info->params) {
        std::printf("%-20s: %s\n", p.field.c_str(), typedValueText(p.value).c_str());
    }
    return 0;
}

int qemuAgentCommand(Context& ctx) {
    int timeout = -1;  // VIR_DOMAIN_QEMU_AGENT_COMMAND_DEFAULT
    int chosen = 0;
    if (auto text = ctx.args.get("timeout")) {
        auto v = parseSigned(*text);
        if (!v || *v < 1 || *v > 2147483647) {
            printError("timeout value must be positive");
            return 1;
        }
        timeout = static_cast<int>(*v);
        ++chosen;
    }
    if (ctx.args.flag("async")) {
        timeout = 0;  // VIR_DOMAIN_QEMU_AGENT_COMMAND_NOWAIT
        ++chosen;
    }
    if (ctx.args.flag("block")) {
        timeout = -2;  // VIR_DOMAIN_QEMU_AGENT_COMMAND_BLOCK
        ++chosen;
    }
    if (chosen > 1) {
        printError("timeout, async and block options are exclusive");
        return 1;
    }
    std::string cmd;
    for (const auto& word : ctx.args.rest) {
        cmd += (cmd.empty() ? "" : " ") + word;
    }
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    proto::qemu_domain_agent_command_args a;
    a.dom = target->dom;
    a.cmd = cmd;
    a.timeout = timeout;
    a.flags = 0;
    auto r = target->conn->callQemu<proto::QEMU_PROC_DOMAIN_AGENT_COMMAND>(a);
    if (failed(r)) {
        return 1;
    }
    const std::string result = r->result.value_or("");
    std::printf("%s\n", result.c_str());
    return 0;
}

}  // namespace

void registerDomainAgentCommands() {
    OptSpec domain{"domain", OptKind::String, true, true, "domain name, id or uuid"};
    registerCommand({"domtime", "domain time",
                     {domain,
                      {"now", OptKind::Bool, false, false, "set to the time of the host running virsh"},
                      {"pretty", OptKind::Bool, false, false, "print domain's time in human readable form"},
                      {"sync", OptKind::Bool, false, false, "instead of setting given time, synchronize from domain's RTC"},
                      {"time", OptKind::String, false, false, "time to set"}},
                     domtime});
    registerCommand({"domhostname", "print the domain's hostname",
                     {domain, {"source", OptKind::String, false, false, "address source: 'lease' or 'agent'"}},
                     domhostname});
    registerCommand({"domifaddr", "Get network interfaces' addresses for a running domain",
                     {domain,
                      {"interface", OptKind::String, true, false, "network interface name"},
                      {"full", OptKind::Bool, false, false, "always display names and MACs of interfaces"},
                      {"source", OptKind::String, false, false, "address source: 'lease', 'agent', or 'arp'"}},
                     domifaddr});
    registerCommand({"domfsinfo", "Get information of domain's mounted filesystems.", {domain}, domfsinfo});
    registerCommand({"domfsfreeze", "Freeze domain's mounted filesystems.",
                     {domain, {"mountpoint", OptKind::Argv, false, false, "mountpoint path to be frozen"}},
                     [](Context& ctx) { return fsFreezeOrThaw(ctx, true); }});
    registerCommand({"domfsthaw", "Thaw domain's mounted filesystems.",
                     {domain, {"mountpoint", OptKind::Argv, false, false, "mountpoint path to be thawed"}},
                     [](Context& ctx) { return fsFreezeOrThaw(ctx, false); }});
    registerCommand({"set-user-password", "set the user password inside the domain",
                     {domain,
                      {"user", OptKind::String, true, true, "the username"},
                      {"password", OptKind::String, true, true, "the new password"},
                      {"encrypted", OptKind::Bool, false, false, "the password is already encrypted"}},
                     setUserPassword});
    registerCommand({"guestinfo", "query information about the guest (via agent)",
                     {domain,
                      {"user", OptKind::Bool, false, false, "report active users"},
                      {"os", OptKind::Bool, false, false, "report operating system information"},
                      {"timezone", OptKind::Bool, false, false, "report timezone information"},
                      {"hostname", OptKind::Bool, false, false, "report hostname"},
                      {"filesystem", OptKind::Bool, false, false, "report filesystem information"},
                      {"disk", OptKind::Bool, false, false, "report disk information"},
                      {"interface", OptKind::Bool, false, false, "report interface information"}},
                     guestinfo});
    registerCommand({"qemu-agent-command", "QEMU Guest Agent Command",
                     {domain,
                      {"timeout", OptKind::String, false, false, "timeout seconds. must be positive."},
                      {"async", OptKind::Bool, false, false, "execute command without waiting for timeout"},
                      {"block", OptKind::Bool, false, false, "execute command without timeout"},
                      {"cmd", OptKind::Argv, false, true, "command"}},
                     qemuAgentCommand});
}

}  // namespace corral::cli
