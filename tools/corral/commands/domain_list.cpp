// SPDX-License-Identifier: LGPL-2.1-or-later
// `list`: domains in virsh's table (or names, UUIDs, ids, JSON).
#include <algorithm>
#include <cstdio>

#include "../cli.hpp"
#include "util/json.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

// virConnectListAllDomainsFlags
constexpr unsigned kActive = 1, kInactive = 2, kPersistent = 4, kTransient = 8, kRunning = 16,
                   kPaused = 32, kShutoff = 64, kOther = 128, kManagedSave = 256, kNoManagedSave = 512,
                   kAutostart = 1024, kNoAutostart = 2048, kHasSnapshot = 4096, kNoSnapshot = 8192;

struct Row {
    proto::remote_nonnull_domain dom;
    int state = 0;
    std::string title;
};

unsigned listFlags(const Args& a) {
    unsigned flags = 0;
    bool all = a.flag("all");
    if (a.flag("inactive")) {
        flags |= kInactive;
    }
    if (all) {
        flags |= kInactive | kActive;
    }
    if (a.flag("state-running")) flags |= kRunning;
    if (a.flag("state-paused")) flags |= kPaused;
    if (a.flag("state-shutoff")) flags |= kShutoff;
    if (a.flag("state-other")) flags |= kOther;
    if (a.flag("persistent")) flags |= kPersistent;
    if (a.flag("transient")) flags |= kTransient;
    if (a.flag("with-managed-save")) flags |= kManagedSave;
    if (a.flag("without-managed-save")) flags |= kNoManagedSave;
    if (a.flag("autostart")) flags |= kAutostart;
    if (a.flag("no-autostart")) flags |= kNoAutostart;
    if (a.flag("with-snapshot")) flags |= kHasSnapshot;
    if (a.flag("without-snapshot")) flags |= kNoSnapshot;
    // virsh: with no state or activity filter, list shows running domains only.
    if ((flags & (kActive | kInactive | kRunning | kPaused | kShutoff | kOther)) == 0) {
        flags |= kActive;
    }
    return flags;
}


}  // namespace

int listCommand(Context& ctx);

int listCommand(Context& ctx) {
    auto connected = ctx.connect();
    if (!connected) {
        printError("", connected.error());
        return 1;
    }
    client::Connection& conn = **connected;
    proto::remote_connect_list_all_domains_args a{};
    a.need_results = 1;
    a.flags = listFlags(ctx.args);
    auto listed = conn.call<proto::REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS>(a);
    if (!listed) {
        printError("Failed to list domains", listed.error());
        return 1;
    }
    std::vector<Row> rows;
    for (const auto& d : listed->domains) {
        Row r;
        r.dom = d;
        proto::remote_domain_get_state_args s{};
        s.dom = d;
        auto st = conn.call<proto::REMOTE_PROC_DOMAIN_GET_STATE>(s);
        r.state = st ? st->state : 0;
        rows.push_back(std::move(r));
    }
    // virsh sorts running domains by id first, then inactive ones by name.
    std::stable_sort(rows.begin(), rows.end(), [](const Row& x, const Row& y) {
        bool xa = x.dom.id >= 0;
        bool ya = y.dom.id >= 0;
        if (xa != ya) {
            return xa;
        }
        if (xa) {
            return x.dom.id < y.dom.id;
        }
        return x.dom.name < y.dom.name;
    });
    if (ctx.json) {
        JsonWriter w;
        w.beginArray();
        for (const auto& r : rows) {
            w.beginObject();
            w.key("id");
            if (r.dom.id >= 0) {
                w.value(r.dom.id);
            } else {
                w.null();
            }
            w.key("name").value(r.dom.name);
            w.key("uuid").value(uuidText(r.dom.uuid));
            w.key("state").value(stateName(r.state));
            w.endObject();
        }
        w.endArray();
        printJson(ctx, w);
        return 0;
    }
    if (ctx.args.flag("name") || ctx.args.flag("uuid") || ctx.args.flag("id")) {
        for (const auto& r : rows) {
            std::string out;
            if (ctx.args.flag("id")) {
                if (r.dom.id < 0) {
                    continue;
                }
                out += std::to_string(r.dom.id);
            }
            if (ctx.args.flag("uuid")) {
                out += (out.empty() ? "" : " ") + uuidText(r.dom.uuid);
            }
            if (ctx.args.flag("name")) {
                out += (out.empty() ? "" : " ") + r.dom.name;
            }
            std::printf("%s\n", out.c_str());
        }
        return 0;
    }
    std::vector<std::vector<std::string>> cells;
    for (const auto& r : rows) {
        cells.push_back({r.dom.id >= 0 ? std::to_string(r.dom.id) : "-", r.dom.name, stateName(r.state)});
    }
    printTable({"Id", "Name", "State"}, cells);
    return 0;
}

void registerDomainListCommands() {
    std::vector<OptSpec> opts;
    for (const char* f : {"inactive", "all", "transient", "persistent", "with-snapshot", "without-snapshot",
                          "state-running", "state-paused", "state-shutoff", "state-other", "autostart",
                          "no-autostart", "with-managed-save", "without-managed-save", "uuid", "name", "id",
                          "table", "managed-save", "title"}) {
        opts.push_back({f, OptKind::Bool, false, false, ""});
    }
    registerCommand({"list", "list domains", opts, listCommand});
}

}  // namespace corral::cli
