// SPDX-License-Identifier: LGPL-2.1-or-later
// Save and restore: save, restore, managedsave, managedsave-remove, save-image-dumpxml.
#include <cstdio>

#include "../cli.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

// virDomainSaveRestoreFlags: BYPASS_CACHE 1, RUNNING 2, PAUSED 4.
unsigned saveFlags(const Args& args) {
    return (args.flag("bypass-cache") ? 1u : 0u) | (args.flag("running") ? 2u : 0u) | (args.flag("paused") ? 4u : 0u);
}

/// The --xml option's file, read; "" when not given; nullopt after printing why it failed.
std::optional<std::string> optionalXml(const Args& args) {
    auto path = args.get("xml");
    if (!path) {
        return std::string();
    }
    return readFile(*path);
}

int save(Context& ctx) {
    std::string name = *ctx.args.get("domain");
    std::string to = *ctx.args.get("file");
    auto dxml = optionalXml(ctx.args);
    if (!dxml) {
        return 1;
    }
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    proto::remote_domain_save_flags_args a;
    a.dom = target->dom;
    a.to = to;
    if (!dxml->empty()) {
        a.dxml = *dxml;
    }
    a.flags = saveFlags(ctx.args);
    auto r = target->conn->call<proto::REMOTE_PROC_DOMAIN_SAVE_FLAGS>(a);
    if (!r) {
        printError("Failed to save domain '" + name + "' to " + to, r.error());
        return 1;
    }
    printExtra("\nDomain '%s' saved to %s\n", name.c_str(), to.c_str());
    return 0;
}

int restore(Context& ctx) {
    std::string from = *ctx.args.get("file");
    auto dxml = optionalXml(ctx.args);
    if (!dxml) {
        return 1;
    }
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    proto::remote_domain_restore_flags_args a;
    a.from = from;
    if (!dxml->empty()) {
        a.dxml = *dxml;
    }
    a.flags = saveFlags(ctx.args);
    auto r = conn->call<proto::REMOTE_PROC_DOMAIN_RESTORE_FLAGS>(a);
    if (!r) {
        printError("Failed to restore domain from " + from, r.error());
        return 1;
    }
    printExtra("Domain restored from %s\n", from.c_str());
    return 0;
}

int managedSave(Context& ctx) {
    std::string name = *ctx.args.get("domain");
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    proto::remote_domain_managed_save_args a;
    a.dom = target->dom;
    a.flags = saveFlags(ctx.args);
    auto r = target->conn->call<proto::REMOTE_PROC_DOMAIN_MANAGED_SAVE>(a);
    if (!r) {
        printError("Failed to save domain '" + name + "' state", r.error());
        return 1;
    }
    printExtra("\nDomain '%s' state saved\n", name.c_str());
    return 0;
}

int managedSaveRemove(Context& ctx) {
    std::string name = *ctx.args.get("domain");
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    proto::remote_domain_has_managed_save_image_args has;
    has.dom = target->dom;
    has.flags = 0;
    auto exists = target->conn->call<proto::REMOTE_PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE>(has);
    if (!exists) {
        printError("Failed to check for domain managed save image", exists.error());
        return 1;
    }
    if (exists->result == 0) {
        printExtra("Domain '%s' has no manage save image; removal skipped\n", name.c_str());
        return 0;
    }
    proto::remote_domain_managed_save_remove_args a;
    a.dom = target->dom;
    a.flags = 0;
    auto r = target->conn->call<proto::REMOTE_PROC_DOMAIN_MANAGED_SAVE_REMOVE>(a);
    if (!r) {
        printError("Failed to remove managed save image for domain '" + name + "'", r.error());
        return 1;
    }
    printExtra("Removed managedsave image for domain '%s'\n", name.c_str());
    return 0;
}

int saveImageDumpXml(Context& ctx) {
    std::string file = *ctx.args.get("file");
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    proto::remote_domain_save_image_get_xml_desc_args a;
    a.file = file;
    a.flags = ctx.args.flag("security-info") ? 1u : 0u;
    auto r = conn->call<proto::REMOTE_PROC_DOMAIN_SAVE_IMAGE_GET_XML_DESC>(a);
    if (!r) {
        printError("", r.error());
        return 1;
    }
    std::printf("%s", r->xml.c_str());
    return 0;
}

}  // namespace

void registerDomainSaveCommands() {
    OptSpec domain{"domain", OptKind::String, true, true, "domain name, id or uuid"};
    OptSpec file{"file", OptKind::String, true, true, "the save image, a path on the host"};
    OptSpec bypass{"bypass-cache", OptKind::Bool, false, false, "avoid the file system cache"};
    OptSpec xml{"xml", OptKind::String, false, false, "a replacement definition (same guest)"};
    OptSpec running{"running", OptKind::Bool, false, false, "run the guest when restored"};
    OptSpec paused{"paused", OptKind::Bool, false, false, "leave the guest paused when restored"};
    OptSpec verbose{"verbose", OptKind::Bool, false, false, "accepted for virsh compatibility"};
    registerCommand({"save", "save a domain state to a file", {domain, file, bypass, xml, running, paused, verbose}, save});
    registerCommand({"restore", "restore a domain from a saved state in a file", {file, bypass, xml, running, paused},
                     restore});
    registerCommand({"managedsave", "managed save of a domain state", {domain, bypass, running, paused, verbose},
                     managedSave});
    registerCommand({"managedsave-remove", "Remove managed save of a domain", {domain}, managedSaveRemove});
    registerCommand({"save-image-dumpxml", "saved state domain information in XML",
                     {file, {"security-info", OptKind::Bool, false, false, "include security sensitive information"}},
                     saveImageDumpXml});
}

}  // namespace corral::cli
