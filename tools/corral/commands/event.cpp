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
        {"Shutdown", {"Finished", "Finished after guest request", "Finished after host request"}},
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

/// `names[index]`, or "unknown" as virsh prints an out-of-range value.
template <std::size_t N>
const char* nameOf(const char* const (&names)[N], int index) {
    return index >= 0 && static_cast<std::size_t>(index) < N ? names[index] : "unknown";
}

const char* const kWatchdogActions[] = {"none", "pause", "reset", "poweroff", "shutdown", "debug", "inject-nmi"};
const char* const kIoErrorActions[] = {"none", "pause", "report"};
const char* const kGraphicsPhases[] = {"connect", "initialize", "disconnect"};
const char* const kAddressFamilies[] = {"IPv4", "IPv6", "unix"};
const char* const kMetadataTypes[] = {"description", "title", "element"};

template <class Msg>
std::optional<Msg> decoded(const rpc::Packet& p) {
    Msg m{};
    if (!proto::decodeFromBytes(p.payload, m)) {
        return std::nullopt;
    }
    return m;
}

std::string quoted(const char* what, const std::string& domain) {
    return std::string("event '") + what + "' for domain '" + domain + "'";
}

/// A typed parameter as virsh's event printer shows it (libvirt's virTypedParameterToString:
/// booleans as 1/0 and doubles with %g, unlike the "yes"/"no" of domstats).
std::string eventParamText(const proto::remote_typed_param_value& v) {
    if (static_cast<std::uint32_t>(v.type) == proto::VIR_TYPED_PARAM_BOOLEAN) {
        return v.b != 0 ? "1" : "0";
    }
    if (static_cast<std::uint32_t>(v.type) == proto::VIR_TYPED_PARAM_DOUBLE) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%g", v.d);
        return buf;
    }
    return typedValueText(v);
}

template <class Msg>
std::string withParams(const char* what, const Msg& m) {
    std::string out = quoted(what, m.dom.name) + ":\n";
    for (const auto& param : m.params) {
        out += "\t" + param.field + ": " + eventParamText(param.value) + "\n";
    }
    return out;
}

/// The line(s) virsh's `event` prints for one event packet; nothing for other messages.
std::optional<std::string> eventText(const rpc::Packet& p) {
    char buf[512];
    switch (p.header.proc) {
        case proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE:
            if (auto m = decoded<proto::remote_domain_event_callback_lifecycle_msg>(p)) {
                return quoted("lifecycle", m->msg.dom.name) + ": " + lifecycleText(m->msg.event, m->msg.detail) + "\n";
            }
            break;
        case proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_REBOOT:
            if (auto m = decoded<proto::remote_domain_event_callback_reboot_msg>(p)) {
                return quoted("reboot", m->msg.dom.name) + "\n";
            }
            break;
        case proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_RTC_CHANGE:
            if (auto m = decoded<proto::remote_domain_event_callback_rtc_change_msg>(p)) {
                return quoted("rtc-change", m->msg.dom.name) + ": " + std::to_string(m->msg.offset) + "\n";
            }
            break;
        case proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_WATCHDOG:
            if (auto m = decoded<proto::remote_domain_event_callback_watchdog_msg>(p)) {
                return quoted("watchdog", m->msg.dom.name) + ": " + nameOf(kWatchdogActions, m->msg.action) + "\n";
            }
            break;
        case proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_IO_ERROR:
            if (auto m = decoded<proto::remote_domain_event_callback_io_error_msg>(p)) {
                return quoted("io-error", m->msg.dom.name) + ": " + m->msg.srcPath + " (" + m->msg.devAlias + ") " +
                       nameOf(kIoErrorActions, m->msg.action) + "\n";
            }
            break;
        case proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON:
            if (auto m = decoded<proto::remote_domain_event_callback_io_error_reason_msg>(p)) {
                return quoted("io-error-reason", m->msg.dom.name) + ": " + m->msg.srcPath + " (" + m->msg.devAlias +
                       ") " + nameOf(kIoErrorActions, m->msg.action) + " due to " + m->msg.reason + "\n";
            }
            break;
        case proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_GRAPHICS:
            if (auto m = decoded<proto::remote_domain_event_callback_graphics_msg>(p)) {
                const auto& g = m->msg;
                std::snprintf(buf, sizeof buf, ": %s local[%s %s %s] remote[%s %s %s] %s\n",
                              nameOf(kGraphicsPhases, g.phase), nameOf(kAddressFamilies, g.local.family),
                              g.local.node.c_str(), g.local.service.c_str(), nameOf(kAddressFamilies, g.remote.family),
                              g.remote.node.c_str(), g.remote.service.c_str(), g.authScheme.c_str());
                std::string out = quoted("graphics", g.dom.name) + buf;
                for (const auto& id : g.subject) {
                    out += "\t" + id.type + "=" + id.name + "\n";
                }
                return out;
            }
            break;
        case proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_CONTROL_ERROR:
            if (auto m = decoded<proto::remote_domain_event_callback_control_error_msg>(p)) {
                return quoted("control-error", m->msg.dom.name) + "\n";
            }
            break;
        case proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE:
            if (auto m = decoded<proto::remote_domain_event_callback_balloon_change_msg>(p)) {
                return quoted("balloon-change", m->msg.dom.name) + ": " + std::to_string(m->msg.actual) + "KiB\n";
            }
            break;
        case proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_PMWAKEUP:
        case proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_PMSUSPEND:
            if (auto m = decoded<proto::remote_domain_event_callback_pmwakeup_msg>(p)) {
                const bool wakeup = p.header.proc == proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_PMWAKEUP;
                return quoted(wakeup ? "pm-wakeup" : "pm-suspend", m->msg.dom.name) + "\n";
            }
            break;
        case proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED:
            if (auto m = decoded<proto::remote_domain_event_callback_device_removed_msg>(p)) {
                return quoted("device-removed", m->msg.dom.name) + ": " + m->msg.devAlias + "\n";
            }
            break;
        case proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_DEVICE_ADDED:
            if (auto m = decoded<proto::remote_domain_event_callback_device_added_msg>(p)) {
                return quoted("device-added", m->dom.name) + ": " + m->devAlias + "\n";
            }
            break;
        case proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_TUNABLE:
            if (auto m = decoded<proto::remote_domain_event_callback_tunable_msg>(p)) {
                return withParams("tunable", *m);
            }
            break;
        case proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_JOB_COMPLETED:
            if (auto m = decoded<proto::remote_domain_event_callback_job_completed_msg>(p)) {
                return withParams("job-completed", *m);
            }
            break;
        case proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_METADATA_CHANGE:
            if (auto m = decoded<proto::remote_domain_event_callback_metadata_change_msg>(p)) {
                return quoted("metadata-change", m->dom.name) + ": type " + nameOf(kMetadataTypes, m->type) +
                       ", uri " + m->nsuri.value_or("<null>") + "\n";
            }
            break;
        default:
            break;
    }
    return std::nullopt;
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
        if (auto text = eventText(p)) {
            std::printf("%s%s", timestampPrefix(stamps).c_str(), text->c_str());
            std::fflush(stdout);
            ++received;
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
    if (gInterrupted != 0) {
        std::printf("event loop interrupted\n");
    } else if (std::chrono::steady_clock::now() >= deadline) {
        std::printf("event loop timed out\n");
    }
    for (int cb : callbacks) {
        proto::remote_connect_domain_event_callback_deregister_any_args a{};
        a.callbackID = cb;
        (void)conn->call<proto::REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY>(a);
    }
    std::printf("events received: %d\n", received);
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
