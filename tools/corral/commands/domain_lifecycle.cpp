// SPDX-License-Identifier: LGPL-2.1-or-later
// Lifecycle: create, start, destroy, shutdown, reboot, suspend, resume, dompmwakeup.
#include <fcntl.h>

#include <cstdio>

#include "../cli.hpp"
#include "util/strings.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

/// --pass-fds N,M: descriptors of this process the guest's init gets as 3, 4, ...
std::optional<std::vector<int>> passedFds(const Context& ctx) {
    std::vector<int> fds;
    auto list = ctx.args.get("pass-fds");
    if (!list) {
        return fds;
    }
    for (const auto& item : splitString(*list, ',')) {
        auto fd = parseSigned(item);
        if (!fd || *fd < 0 || ::fcntl(static_cast<int>(*fd), F_GETFD) < 0) {
            printError("Unable to parse FD number '" + item + "'");
            return std::nullopt;
        }
        fds.push_back(static_cast<int>(*fd));
    }
    return fds;
}

/// The guest's console, right after a start or create with --console.
int attachConsole(Context& ctx, const std::string& name) {
    ctx.args.values_["domain"] = name;
    for (const auto& c : commandTable()) {
        if (c.name == "console") {
            return c.run(ctx);
        }
    }
    return 1;
}

int create(Context& ctx) {
    std::string file = *ctx.args.get("file");
    auto xml = readFile(file);
    if (!xml) {
        return 1;
    }
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    auto files = passedFds(ctx);
    if (!files) {
        return 1;
    }
    // virDomainCreateFlags: PAUSED 1, AUTODESTROY 2, VALIDATE 16.
    unsigned flags = (ctx.args.flag("paused") ? 1u : 0u) | (ctx.args.flag("autodestroy") ? 2u : 0u) |
                     (ctx.args.flag("validate") ? 16u : 0u);
    Result<proto::remote_nonnull_domain> created = fail(ErrorCode::InternalError, "not created");
    if (files->empty()) {
        proto::remote_domain_create_xml_args a;
        a.xml_desc = *xml;
        a.flags = flags;
        auto r = conn->call<proto::REMOTE_PROC_DOMAIN_CREATE_XML>(a);
        created = r ? Result<proto::remote_nonnull_domain>(r->dom) : unexpected(std::move(r).error());
    } else {
        proto::remote_domain_create_xml_with_files_args a;
        a.xml_desc = *xml;
        a.flags = flags;
        auto r = conn->callWithFiles<proto::REMOTE_PROC_DOMAIN_CREATE_XML_WITH_FILES>(a, *files);
        created = r ? Result<proto::remote_nonnull_domain>(r->dom) : unexpected(std::move(r).error());
    }
    if (!created) {
        printError("Failed to create domain from " + file, created.error());
        return 1;
    }
    printExtra("Domain '%s' created from %s\n", created->name.c_str(), file.c_str());
    return ctx.args.flag("console") ? attachConsole(ctx, created->name) : 0;
}

int start(Context& ctx) {
    std::string name = *ctx.args.get("domain");
    auto target = openTarget(ctx, /*tryId=*/false);  // virsh start: name or UUID only
    if (!target) {
        return 1;
    }
    client::Connection* conn = target->conn;
    const auto* dom = &target->dom;
    if (dom->id != -1) {
        printError("Domain is already active");
        return 1;
    }
    auto files = passedFds(ctx);
    if (!files) {
        return 1;
    }
    unsigned flags = (ctx.args.flag("paused") ? 1u : 0u) | (ctx.args.flag("autodestroy") ? 2u : 0u) |
                     (ctx.args.flag("bypass-cache") ? 4u : 0u) | (ctx.args.flag("force-boot") ? 8u : 0u) |
                     (ctx.args.flag("reset-nvram") ? 32u : 0u);
    Result<void> started;
    if (files->empty()) {
        proto::remote_domain_create_with_flags_args a{};
        a.dom = *dom;
        a.flags = flags;
        auto r = conn->call<proto::REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS>(a);
        started = r ? Result<void>() : unexpected(std::move(r).error());
    } else {
        proto::remote_domain_create_with_files_args a{};
        a.dom = *dom;
        a.flags = flags;
        auto r = conn->callWithFiles<proto::REMOTE_PROC_DOMAIN_CREATE_WITH_FILES>(a, *files);
        started = r ? Result<void>() : unexpected(std::move(r).error());
    }
    if (!started) {
        printError("Failed to start domain '" + name + "'", started.error());
        return 1;
    }
    printExtra("Domain '%s' started\n", dom->name.c_str());
    return ctx.args.flag("console") ? attachConsole(ctx, dom->name) : 0;
}

/// The shape shared by destroy/shutdown/reboot/suspend/resume: look up, call, report.
template <std::int32_t P, class Args>
int simple(Context& ctx, const char* failVerb, const char* doneText, unsigned flags) {
    std::string name = *ctx.args.get("domain");
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    client::Connection* conn = target->conn;
    const auto* dom = &target->dom;
    Args a{};
    a.dom = *dom;
    if constexpr (requires { a.flags; }) {
        a.flags = flags;
    }
    auto r = conn->template call<P>(a);
    if (!r) {
        printError(std::string("Failed to ") + failVerb + " domain '" + name + "'", r.error());
        return 1;
    }
    printExtra("Domain '%s' %s\n", name.c_str(), doneText);
    return 0;
}

std::vector<std::string> splitModes(const std::string& text) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : text) {
        if (c == ',') {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    out.push_back(cur);
    return out;
}

unsigned modeBits(const std::optional<std::string>& mode) {
    static const char* const kModes[] = {"acpi", "agent", "initctl", "signal", "paravirt"};
    unsigned flags = 0;
    if (!mode) {
        return 0;
    }
    for (const auto& m : splitModes(*mode)) {
        for (unsigned i = 0; i < 5; ++i) {
            if (m == kModes[i]) {
                flags |= 1u << i;
            }
        }
    }
    return flags;
}

}  // namespace

void registerDomainLifecycleCommands() {
    OptSpec domain{"domain", OptKind::String, true, true, "domain name, id or uuid"};
    OptSpec mode{"mode", OptKind::String, false, false, "acpi, agent, initctl, signal or paravirt"};
    registerCommand({"create", "create a domain from an XML file",
                     {{"file", OptKind::String, true, true, ""},
                      {"console", OptKind::Bool, false, false, ""},
                      {"paused", OptKind::Bool, false, false, ""},
                      {"autodestroy", OptKind::Bool, false, false, ""},
                      {"validate", OptKind::Bool, false, false, ""},
                      {"pass-fds", OptKind::String, false, false, "pass file descriptors N,M,... to the guest"}},
                     create});
    registerCommand({"start", "start a (previously defined) inactive domain",
                     {domain,
                      {"console", OptKind::Bool, false, false, ""},
                      {"paused", OptKind::Bool, false, false, ""},
                      {"autodestroy", OptKind::Bool, false, false, ""},
                      {"bypass-cache", OptKind::Bool, false, false, ""},
                      {"force-boot", OptKind::Bool, false, false, ""},
                      {"reset-nvram", OptKind::Bool, false, false, ""},
                      {"pass-fds", OptKind::String, false, false, "pass file descriptors N,M,... to the guest"}},
                     start});
    registerCommand({"destroy", "destroy (stop) a domain", {domain, {"graceful", OptKind::Bool, false, false, ""}},
                     [](Context& ctx) {
                         return simple<proto::REMOTE_PROC_DOMAIN_DESTROY_FLAGS, proto::remote_domain_destroy_flags_args>(
                             ctx, "destroy", "destroyed", ctx.args.flag("graceful") ? 1u : 0u);
                     }});
    registerCommand({"shutdown", "gracefully shutdown a domain", {domain, mode},
                     [](Context& ctx) {
                         return simple<proto::REMOTE_PROC_DOMAIN_SHUTDOWN_FLAGS, proto::remote_domain_shutdown_flags_args>(
                             ctx, "shutdown", "is being shutdown", modeBits(ctx.args.get("mode")));
                     }});
    registerCommand({"reboot", "reboot a domain", {domain, mode},
                     [](Context& ctx) {
                         return simple<proto::REMOTE_PROC_DOMAIN_REBOOT, proto::remote_domain_reboot_args>(
                             ctx, "reboot", "is being rebooted", modeBits(ctx.args.get("mode")));
                     }});
    registerCommand({"suspend", "suspend a domain", {domain},
                     [](Context& ctx) {
                         return simple<proto::REMOTE_PROC_DOMAIN_SUSPEND, proto::remote_domain_suspend_args>(
                             ctx, "suspend", "suspended", 0);
                     }});
    registerCommand({"resume", "resume a domain", {domain},
                     [](Context& ctx) {
                         return simple<proto::REMOTE_PROC_DOMAIN_RESUME, proto::remote_domain_resume_args>(
                             ctx, "resume", "resumed", 0);
                     }});
    registerCommand({"dompmwakeup", "wakeup a domain from pmsuspended state", {domain},
                     [](Context& ctx) {
                         return simple<proto::REMOTE_PROC_DOMAIN_PM_WAKEUP, proto::remote_domain_pm_wakeup_args>(
                             ctx, "wake up", "successfully woken up", 0);
                     }});
}

}  // namespace corral::cli
