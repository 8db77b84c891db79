// SPDX-License-Identifier: LGPL-2.1-or-later
// Persistent configuration: define, undefine, edit, autostart.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "../cli.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

int define(Context& ctx) {
    std::string file = *ctx.args.get("file");
    auto xml = readFile(file);
    if (!xml) {
        return 1;
    }
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    Result<proto::remote_nonnull_domain> dom = fail(ErrorCode::InternalError, "");
    if (ctx.args.flag("validate")) {
        proto::remote_domain_define_xml_flags_args a;
        a.xml = *xml;
        a.flags = 1;  // VIR_DOMAIN_DEFINE_VALIDATE
        auto r = conn->call<proto::REMOTE_PROC_DOMAIN_DEFINE_XML_FLAGS>(a);
        dom = r ? Result<proto::remote_nonnull_domain>(r->dom) : unexpected(r.error());
    } else {
        proto::remote_domain_define_xml_args a;
        a.xml = *xml;
        auto r = conn->call<proto::REMOTE_PROC_DOMAIN_DEFINE_XML>(a);
        dom = r ? Result<proto::remote_nonnull_domain>(r->dom) : unexpected(r.error());
    }
    if (!dom) {
        printError("Failed to define domain from " + file, dom.error());
        return 1;
    }
    printExtra("Domain '%s' defined from %s\n", dom->name.c_str(), file.c_str());
    return 0;
}

int undefine(Context& ctx) {
    std::string name = *ctx.args.get("domain");
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    client::Connection* conn = target->conn;
    const auto* dom = &target->dom;
    // virDomainUndefineFlagsValues
    unsigned flags = (ctx.args.flag("managed-save") ? 1u : 0u) | (ctx.args.flag("snapshots-metadata") ? 2u : 0u) |
                     (ctx.args.flag("nvram") ? 4u : 0u) | (ctx.args.flag("keep-nvram") ? 8u : 0u) |
                     (ctx.args.flag("checkpoints-metadata") ? 16u : 0u) | (ctx.args.flag("tpm") ? 32u : 0u) |
                     (ctx.args.flag("keep-tpm") ? 64u : 0u);
    proto::remote_domain_undefine_flags_args a{};
    a.dom = *dom;
    a.flags = flags;
    auto r = conn->call<proto::REMOTE_PROC_DOMAIN_UNDEFINE_FLAGS>(a);
    if (!r && (r.error().code == ErrorCode::NoSupport || r.error().code == ErrorCode::InvalidArg) &&
        !ctx.args.flag("nvram")) {
        proto::remote_domain_undefine_args old{};
        old.dom = *dom;
        auto r2 = conn->call<proto::REMOTE_PROC_DOMAIN_UNDEFINE>(old);
        r = r2 ? Result<proto::xdr_void>(proto::xdr_void{}) : unexpected(r2.error());
    }
    if (!r) {
        printError("Failed to undefine domain '" + name + "'", r.error());
        return 1;
    }
    printExtra("Domain '%s' has been undefined\n", name.c_str());
    return 0;
}

int autostart(Context& ctx) {
    std::string name = *ctx.args.get("domain");
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    client::Connection* conn = target->conn;
    const auto* dom = &target->dom;
    bool disable = ctx.args.flag("disable");
    proto::remote_domain_set_autostart_args a{};
    a.dom = *dom;
    a.autostart = disable ? 0 : 1;
    auto r = conn->call<proto::REMOTE_PROC_DOMAIN_SET_AUTOSTART>(a);
    if (!r) {
        printError(std::string(disable ? "Failed to unmark" : "Failed to mark") + " domain '" + name +
                       "' as autostarted",
                   r.error());
        return 1;
    }
    printExtra("Domain '%s' %s as autostarted\n", name.c_str(), disable ? "unmarked" : "marked");
    return 0;
}

/// Runs $VISUAL, $EDITOR or vi on `path`, as virsh does. False if the editor failed.
bool runEditor(const std::string& path) {
    const char* editor = std::getenv("VISUAL");
    if (editor == nullptr || *editor == '\0') {
        editor = std::getenv("EDITOR");
    }
    if (editor == nullptr || *editor == '\0') {
        editor = "vi";
    }
    // Through the shell, like virsh, so EDITOR may carry arguments ("emacs -nw").
    std::string command = std::string(editor) + " '" + path + "'";
    int status = std::system(command.c_str());
    if (status != 0) {
        printError("command '" + command + "' failed (exit status " + std::to_string(WEXITSTATUS(status)) + ")");
        return false;
    }
    return true;
}

int edit(Context& ctx) {
    std::string name = *ctx.args.get("domain");
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    client::Connection* conn = target->conn;
    const auto* dom = &target->dom;
    proto::remote_domain_get_xml_desc_args get{};
    get.dom = *dom;
    get.flags = 1 | 2;  // SECURE | INACTIVE: the persistent definition, secrets included
    auto original = conn->call<proto::REMOTE_PROC_DOMAIN_GET_XML_DESC>(get);
    if (!original) {
        printError("", original.error());
        return 1;
    }
    char tmpl[] = "/tmp/corralXXXXXX.xml";
    int fd = mkstemps(tmpl, 4);
    if (fd < 0) {
        printError("cannot create a temporary file");
        return 1;
    }
    std::string path = tmpl;
    struct Cleanup {
        std::string p;
        ~Cleanup() { unlink(p.c_str()); }
    } cleanup{path};
    if (write(fd, original->xml.data(), original->xml.size()) != static_cast<ssize_t>(original->xml.size())) {
        close(fd);
        printError("cannot write '" + path + "'");
        return 1;
    }
    close(fd);
    bool validate = !ctx.args.flag("skip-validate");
    while (true) {
        if (!runEditor(path)) {
            return 1;
        }
        auto edited = readFile(path);
        if (!edited) {
            return 1;
        }
        if (*edited == original->xml) {
            printExtra("Domain '%s' XML configuration not changed.\n", name.c_str());
            return 0;
        }
        proto::remote_domain_define_xml_flags_args def;
        def.xml = *edited;
        def.flags = validate ? 1u : 0u;
        auto r = conn->call<proto::REMOTE_PROC_DOMAIN_DEFINE_XML_FLAGS>(def);
        if (r) {
            printExtra("Domain '%s' XML configuration edited.\n", r->dom.name.c_str());
            return 0;
        }
        printError("", r.error());
        // virsh's prompt: y = edit again, n = give up, i = turn validation off, f = force.
        while (true) {
            std::printf("Failed. Try again? [y,n,i,f,?]:");
            std::fflush(stdout);
            std::string answer;
            if (!std::getline(std::cin, answer)) {
                std::printf("\n");
                return 1;
            }
            if (answer == "y") {
                break;
            }
            if (answer == "n") {
                return 1;
            }
            if (answer == "i" || answer == "f") {
                validate = false;
                if (answer == "f") {
                    def.flags = 0;
                    auto forced = conn->call<proto::REMOTE_PROC_DOMAIN_DEFINE_XML_FLAGS>(def);
                    if (forced) {
                        printExtra("Domain '%s' XML configuration edited.\n", forced->dom.name.c_str());
                        return 0;
                    }
                    printError("", forced.error());
                    continue;
                }
                break;
            }
            std::printf("y - yes, start editor again\nn - no, throw away my changes\n"
                        "i - turn off validation and try to redefine again\n"
                        "f - force, try to redefine again\n? - print this help\n");
        }
    }
}

}  // namespace

void registerDomainConfigCommands() {
    OptSpec domain{"domain", OptKind::String, true, true, "domain name, id or uuid"};
    registerCommand({"define", "define (but don't start) a domain from an XML file",
                     {{"file", OptKind::String, true, true, ""}, {"validate", OptKind::Bool, false, false, ""}},
                     define});
    std::vector<OptSpec> undefineOpts = {domain};
    for (const char* f : {"managed-save", "storage", "remove-all-storage", "delete-storage", "wipe-storage",
                          "snapshots-metadata", "checkpoints-metadata", "nvram", "keep-nvram", "tpm", "keep-tpm"}) {
        undefineOpts.push_back({f, OptKind::Bool, false, false, ""});
    }
    registerCommand({"undefine", "undefine a domain", undefineOpts, undefine});
    registerCommand({"autostart", "autostart a domain", {domain, {"disable", OptKind::Bool, false, false, ""}}, autostart});
    registerCommand({"edit", "edit XML configuration for a domain", {domain, {"skip-validate", OptKind::Bool, false, false, ""}}, edit});
}

}  // namespace corral::cli
