// SPDX-License-Identifier: LGPL-2.1-or-later
// Secrets: secret-define, secret-undefine, secret-dumpxml, secret-list, secret-set-value,
// secret-get-value, as virsh prints them (values in base64 unless --plain).
#include <cstdio>

#include "../cli.hpp"
#include "util/base64.hpp"
#include "util/uuid.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

constexpr const char* kUsageNames[] = {"none", "volume", "ceph", "iscsi", "tls", "vtpm"};

std::string usageName(int type) {
    return type >= 0 && type < 6 ? kUsageNames[type] : "unknown";
}

struct SecretTarget {
    client::Connection* conn;
    proto::remote_nonnull_secret secret;
};

/// virsh looks secrets up by UUID only.
std::optional<SecretTarget> openSecret(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return std::nullopt;
    }
    const std::string text = *ctx.args.get("secret");
    auto uuid = corral::Uuid::parse(text);
    if (!uuid) {
        printError("failed to get secret '" + text + "'");
        return std::nullopt;
    }
    proto::remote_secret_lookup_by_uuid_args a;
    a.uuid = uuid->bytes;
    auto r = conn->call<proto::REMOTE_PROC_SECRET_LOOKUP_BY_UUID>(a);
    if (!r) {
        printError("failed to get secret '" + text + "'", r.error());
        return std::nullopt;
    }
    return SecretTarget{conn, r->secret};
}

int secretDefine(Context& ctx) {
    std::string file = *ctx.args.get("file");
    auto xml = readFile(file);
    if (!xml) {
        return 1;
    }
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    proto::remote_secret_define_xml_args a;
    a.xml = *xml;
    a.flags = 0;
    auto r = conn->call<proto::REMOTE_PROC_SECRET_DEFINE_XML>(a);
    if (!r) {
        printError("Failed to set attributes from " + file, r.error());
        return 1;
    }
    printExtra("Secret %s created\n", uuidText(r->secret.uuid).c_str());
    return 0;
}

int secretUndefine(Context& ctx) {
    auto t = openSecret(ctx);
    if (!t) {
        return 1;
    }
    proto::remote_secret_undefine_args a;
    a.secret = t->secret;
    auto r = t->conn->call<proto::REMOTE_PROC_SECRET_UNDEFINE>(a);
    if (!r) {
        printError("Failed to delete secret " + uuidText(t->secret.uuid), r.error());
        return 1;
    }
    printExtra("Secret %s deleted\n", uuidText(t->secret.uuid).c_str());
    return 0;
}

int secretDumpXml(Context& ctx) {
    auto t = openSecret(ctx);
    if (!t) {
        return 1;
    }
    proto::remote_secret_get_xml_desc_args a;
    a.secret = t->secret;
    a.flags = 0;
    auto r = t->conn->call<proto::REMOTE_PROC_SECRET_GET_XML_DESC>(a);
    if (!r) {
        printError("", r.error());
        return 1;
    }
    std::printf("%s", r->xml.c_str());
    return 0;
}

int secretList(Context& ctx) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    proto::remote_connect_list_all_secrets_args a;
    a.need_results = 1;
    // virConnectListAllSecretsFlags: EPHEMERAL 1, NO_EPHEMERAL 2, PRIVATE 4, NO_PRIVATE 8.
    a.flags = (ctx.args.flag("ephemeral") ? 1u : 0u) | (ctx.args.flag("no-ephemeral") ? 2u : 0u) |
              (ctx.args.flag("private") ? 4u : 0u) | (ctx.args.flag("no-private") ? 8u : 0u);
    auto r = conn->call<proto::REMOTE_PROC_CONNECT_LIST_ALL_SECRETS>(a);
    if (!r) {
        printError("Failed to list secrets", r.error());
        return 1;
    }
    if (ctx.json) {
        JsonWriter w;
        w.beginArray();
        for (const auto& s : r->secrets) {
            w.beginObject();
            w.key("uuid").value(uuidText(s.uuid));
            w.key("usage").value(usageName(s.usageType));
            w.key("usage_id").value(s.usageID);
            w.endObject();
        }
        w.endArray();
        printJson(ctx, w);
        return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& s : r->secrets) {
        rows.push_back({uuidText(s.uuid), s.usageType == 0 ? "Unused" : usageName(s.usageType) + " " + s.usageID});
    }
    printTable({"UUID", "Usage"}, rows);
    return 0;
}

int secretSetValue(Context& ctx) {
    auto t = openSecret(ctx);
    if (!t) {
        return 1;
    }
    auto base64 = ctx.args.get("base64");
    auto file = ctx.args.get("file");
    if (base64.has_value() == file.has_value()) {
        printError("Input secret value is missing");
        return 1;
    }
    std::string text;
    if (file) {
        auto content = readFile(*file);
        if (!content) {
            return 1;
        }
        text = std::move(*content);
    } else {
        text = *base64;
    }
    std::vector<std::uint8_t> value;
    if (ctx.args.flag("plain")) {
        value.assign(text.begin(), text.end());
    } else {
        auto decoded = base64Decode(text);
        if (!decoded) {
            printError("Invalid base64 data");
            return 1;
        }
        value = std::move(*decoded);
    }
    std::fill(text.begin(), text.end(), '\0');
    proto::remote_secret_set_value_args a;
    a.secret = t->secret;
    a.value = std::move(value);
    a.flags = 0;
    auto r = t->conn->call<proto::REMOTE_PROC_SECRET_SET_VALUE>(a);
    std::fill(a.value.begin(), a.value.end(), 0);
    if (!r) {
        printError("Failed to set secret value", r.error());
        return 1;
    }
    printExtra("Secret value set\n");
    return 0;
}

int secretGetValue(Context& ctx) {
    auto t = openSecret(ctx);
    if (!t) {
        return 1;
    }
    proto::remote_secret_get_value_args a;
    a.secret = t->secret;
    a.flags = 0;
    auto r = t->conn->call<proto::REMOTE_PROC_SECRET_GET_VALUE>(a);
    if (!r) {
        printError("", r.error());
        return 1;
    }
    if (ctx.json) {
        JsonWriter w;
        w.beginObject();
        w.key("uuid").value(uuidText(t->secret.uuid));
        w.key("value_base64").value(base64Encode(r->value));
        w.endObject();
        printJson(ctx, w);
    } else if (ctx.args.flag("plain")) {
        std::fwrite(r->value.data(), 1, r->value.size(), stdout);
    } else {
        std::printf("%s\n", base64Encode(r->value).c_str());
    }
    std::fill(r->value.begin(), r->value.end(), 0);
    return 0;
}

}  // namespace

void registerSecretCommands() {
    OptSpec secret{"secret", OptKind::String, true, true, "secret UUID"};
    registerCommand({"secret-define", "define or modify a secret from an XML file",
                     {{"file", OptKind::String, true, true, "file containing secret attributes in XML"}},
                     secretDefine});
    registerCommand({"secret-undefine", "undefine a secret", {secret}, secretUndefine});
    registerCommand({"secret-dumpxml", "secret attributes in XML", {secret}, secretDumpXml});
    registerCommand({"secret-list", "list secrets",
                     {{"ephemeral", OptKind::Bool, false, false, "list ephemeral secrets"},
                      {"no-ephemeral", OptKind::Bool, false, false, "list non-ephemeral secrets"},
                      {"private", OptKind::Bool, false, false, "list private secrets"},
                      {"no-private", OptKind::Bool, false, false, "list non-private secrets"}},
                     secretList});
    registerCommand({"secret-set-value", "set a secret value",
                     {secret,
                      {"base64", OptKind::String, true, false, "base64-encoded secret value"},
                      {"file", OptKind::String, false, false, "read the value from a file"},
                      {"plain", OptKind::Bool, false, false, "the value is not base64-encoded"}},
                     secretSetValue});
    registerCommand({"secret-get-value", "output a secret value",
                     {secret, {"plain", OptKind::Bool, false, false, "print the raw value, not base64"}},
                     secretGetValue});
}

}  // namespace corral::cli
