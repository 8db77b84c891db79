// SPDX-License-Identifier: LGPL-2.1-or-later
// `event`: waits for domain events and prints them as virsh does.
#include <csignal>
#include <cstdio>
#include <ctime>

#include "../cli.hpp"
#include "util/strings.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

// virDomainEventID names as virsh lists them; index = event ID.
const char* const kEventNames[] = {
    "lifecycle", "reboot", "rtc-change", "watchdog", "io-error", "graphics", "io-error-reason",
    "control-error", "block-job", "disk-change", "tray-change", "pm-wakeup", "pm-suspend",
    "balloon-change", "pm-suspend-disk", "device-removed", "block-job-2", "tunable",
    "agent-lifecycle", "device-added", "migration-iteration", "job-completed",
    "device-removal-failed", "metadata-change", "block-threshold", "memory-failure",
    "memory-device-size-change"};
constexpr int kEventCount = 27;

std::string lifecycleText(int event, int detail) {
    static const std::vector<std::pair<const char*, std::vector<const char*>>> kTexts = {
        {"Defined", {"Added", "Updated", "Renamed", "Snapshot"}},
        {"Undefined", {"Removed", "Renamed"}},
        {"Started", {"Booted", "Migrated", "Restored", "Snapshot", "Event wakeup"}},
        {"Suspended", {"Paused", "Migrated", "I/O Error", "Watchdog", "Restored", "Snapshot", "API error",
                       "Post-copy", "Post-copy Error"}},
        {"Resumed", {"Unpaused", "Migrated", "Snapshot", "Post-copy", "Post-copy Error"}},
        {"Stopped", {"Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed", "Snapshot"}},
        {"Shutdown", {"Finished", "On guest request", "On host request"}},
        {"PMSuspended", {"Memory", "Disk"}},
        {"Crashed", {"Panicked", "Crashloaded"}},
    };
    if (event < 0 || event >= static_cast<int>(kTexts.size())) {
        return "unknown unknown";
    }
    const auto& [name, details] = kTexts[static_cast<std::size_t>(event)];
    std::string d = detail >= 0 && detail < static_cast<int>(details.size()) ? details[static_cast<std::size_t>(detail)] : "unknown";
    return std::string(name) + " " + d;
}

volatile std::sig_atomic_t gInterrupted = 0;

std::string timestampPrefix(bool on) {
    if (!on) {
        return "";
    }
    std::timespec ts{};
    std::timespec_get(&ts, TIME_UTC);
    std::tm tm{};
    gmtime_r(&ts.tv_sec, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%03ld+0000: ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    return buf;
}

int eventCommand(Context& ctx) {
    if (ctx.args.flag("list")) {
        for (const char* n : kEventNames) {
            std::printf("%s\n", n);
        }
        return 0;
    }
    std::vector<int> ids;
    if (ctx.args.flag("all")) {
        for (int i = 0; i < kEventCount; ++i) {
            ids.push_back(i);
        }
    } else if (auto name = ctx.args.get("event")) {
        for (int i = 0; i < kEventCount; ++i) {
            if (*name == kEventNames[i]) {
                ids.push_back(i);
            }
        }
        if (ids.empty()) {
            printError("unknown event type " + *name);
            return 1;
        }
    } else {
        printError("one of --list, --all, or --event <type> is required");
        return 1;
    }
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    std::optional<proto::remote_nonnull_domain> dom;
    if (auto d = ctx.args.get("domain")) {
        dom = lookupDomain(*conn, *d);
        if (!dom) {
            return 1;
        }
    }
    bool loop = ctx.args.flag("loop");
    bool stamps = ctx.args.flag("timestamp");
    int received = 0;
    std::map<int, int> callbackToEvent;
    conn->setMessageHandler([&](const rpc::Packet& p) {
        if (p.header.proc == proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE) {
            proto::remote_domain_event_callback_lifecycle_msg m{};
            if (proto::decodeFromBytes(p.payload, m)) {
                std::printf("%sevent 'lifecycle' for domain '%s': %s\n", timestampPrefix(stamps).c_str(),
                            m.msg.dom.name.c_str(), lifecycleText(m.msg.event, m.msg.detail).c_str());
                std::fflush(stdout);
                ++received;
            }
        }
    });
    std::vector<int> callbacks;
    for (int id : ids) {
        proto::remote_connect_domain_event_callback_register_any_args a{};
        a.eventID = id;
        a.dom = dom;
        auto r = conn->call<proto::REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY>(a);
        if (!r) {
            // virsh: once one registration worked, later failures are ignored.
            if (callbacks.empty()) {
                printError("failed to register event " + std::string(kEventNames[id]), r.error());
                return 1;
            }
            continue;
        }
        callbacks.push_back(r->callbackID);
    }
    std::signal(SIGINT, [](int) { gInterrupted = 1; });
    auto timeout = ctx.args.get("timeout");
    auto deadline = std::chrono::steady_clock::time_point::max();
    if (timeout) {
        auto seconds = parseUnsigned(*timeout);
        if (!seconds || *seconds == 0) {
            printError("invalid timeout '" + *timeout + "': expecting a positive number of seconds");
            return 1;
        }
        deadline = std::chrono::steady_clock::now() + std::chrono::seconds(*seconds);
    }
    auto pumped = conn->pump(deadline, [&] { return gInterrupted != 0 || (!loop && received > 0); });
    if (!pumped) {
        printError("", pumped.error());
        return 1;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
        std::printf("event loop timed out\n");
    }
    for (int cb : callbacks) {
        proto::remote_connect_domain_event_callback_deregister_any_args a{};
        a.callbackID = cb;
        (void)conn->call<proto::REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY>(a);
    }
    std::printf("events received: %d\n\n", received);
    return received > 0 ? 0 : 1;  // virsh: success only if something arrived
}

}  // namespace

void registerEventCommands() {
    registerCommand({"event", "Domain Events",
                     {{"domain", OptKind::String, true, false, ""},
                      {"event", OptKind::String, false, false, ""},
                      {"all", OptKind::Bool, false, false, ""},
                      {"loop", OptKind::Bool, false, false, ""},
                      {"timeout", OptKind::String, false, false, ""},
                      {"list", OptKind::Bool, false, false, ""},
                      {"timestamp", OptKind::Bool, false, false, ""}},
                     eventCommand});
}

}  // namespace corral::cli
