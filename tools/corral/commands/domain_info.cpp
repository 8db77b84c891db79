// SPDX-License-Identifier: LGPL-2.1-or-later
// Domain queries: dominfo, domstate, domid, domname, domuuid, dumpxml.
#include <cstdio>

#include "../cli.hpp"
#include "util/json.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

void field(const char* label, const std::string& value) { std::printf("%-15s %s\n", label, value.c_str()); }

int dominfo(Context& ctx) {
    auto t = openTarget(ctx);
    if (!t) {
        return 1;
    }
    auto& [conn, dom] = *t;
    proto::remote_domain_get_info_args ia;
    ia.dom = dom;
    auto info = conn->call<proto::REMOTE_PROC_DOMAIN_GET_INFO>(ia);
    if (!info) {
        printError("", info.error());
        return 1;
    }
    proto::remote_domain_get_os_type_args oa;
    oa.dom = dom;
    auto os = conn->call<proto::REMOTE_PROC_DOMAIN_GET_OS_TYPE>(oa);
    proto::remote_domain_is_persistent_args pa;
    pa.dom = dom;
    auto persistent = conn->call<proto::REMOTE_PROC_DOMAIN_IS_PERSISTENT>(pa);
    proto::remote_domain_get_autostart_args aa;
    aa.dom = dom;
    auto autostart = conn->call<proto::REMOTE_PROC_DOMAIN_GET_AUTOSTART>(aa);
    proto::remote_domain_has_managed_save_image_args ma{};
    ma.dom = dom;
    auto managed = conn->call<proto::REMOTE_PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE>(ma);
    if (ctx.json) {
        JsonWriter w;
        w.beginObject();
        w.key("id");
        if (dom.id >= 0) {
            w.value(dom.id);
        } else {
            w.null();
        }
        w.key("name").value(dom.name);
        w.key("uuid").value(uuidText(dom.uuid));
        w.key("os_type").value(os ? os->type : std::string());
        w.key("state").value(stateName(info->state));
        w.key("vcpus").value(static_cast<unsigned>(info->nrVirtCpu));
        w.key("cpu_time_ns").value(static_cast<std::uint64_t>(info->cpuTime));
        w.key("max_memory_kib").value(static_cast<std::uint64_t>(info->maxMem));
        w.key("used_memory_kib").value(static_cast<std::uint64_t>(info->memory));
        w.key("persistent").value(persistent && persistent->persistent != 0);
        w.key("autostart").value(autostart && autostart->autostart != 0);
        w.key("managed_save").value(managed && managed->result != 0);
        w.endObject();
        printJson(ctx, w);
        return 0;
    }
    field("Id:", dom.id >= 0 ? std::to_string(dom.id) : "-");
    field("Name:", dom.name);
    field("UUID:", uuidText(dom.uuid));
    if (os) {
        field("OS Type:", os->type);
    }
    field("State:", stateName(info->state));
    field("CPU(s):", std::to_string(info->nrVirtCpu));
    if (info->cpuTime != 0) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.1lfs", static_cast<double>(info->cpuTime) / 1e9);
        field("CPU time:", buf);
    }
    field("Max memory:", std::to_string(info->maxMem) + " KiB");
    field("Used memory:", std::to_string(info->memory) + " KiB");
    field("Persistent:", persistent ? (persistent->persistent != 0 ? "yes" : "no") : "unknown");
    if (autostart) {
        field("Autostart:", autostart->autostart != 0 ? "enable" : "disable");
    }
    if (managed) {
        field("Managed save:", managed->result != 0 ? "yes" : "no");
    }
    auto model = conn->call<proto::REMOTE_PROC_NODE_GET_SECURITY_MODEL>(proto::xdr_void{});
    if (model && !model->model.empty() && model->model[0] != '\0') {
        field("Security model:", std::string(model->model.data()));
        field("Security DOI:", model->doi.empty() ? std::string() : std::string(model->doi.data()));
        // As virsh: the label of a running guest, and whether it is enforced.
        proto::remote_domain_get_security_label_args la;
        la.dom = dom;
        auto label = conn->call<proto::REMOTE_PROC_DOMAIN_GET_SECURITY_LABEL>(la);
        if (label && !label->label.empty() && label->label[0] != '\0') {
            field("Security label:", std::string(label->label.data()) +
                                         (label->enforcing != 0 ? " (enforcing)" : " (permissive)"));
        }
    }
    return 0;
}

int domstate(Context& ctx) {
    auto t = openTarget(ctx);
    if (!t) {
        return 1;
    }
    auto& [conn, dom] = *t;
    proto::remote_domain_get_state_args a{};
    a.dom = dom;
    auto st = conn->call<proto::REMOTE_PROC_DOMAIN_GET_STATE>(a);
    if (!st) {
        printError("", st.error());
        return 1;
    }
    if (ctx.json) {
        JsonWriter w;
        w.beginObject().key("state").value(stateName(st->state)).key("reason").value(stateReasonName(st->state, st->reason)).endObject();
        printJson(ctx, w);
        return 0;
    }
    if (ctx.args.flag("reason")) {
        std::printf("%s (%s)\n", stateName(st->state).c_str(), stateReasonName(st->state, st->reason).c_str());
    } else {
        std::printf("%s\n", stateName(st->state).c_str());
    }
    return 0;
}

int domid(Context& ctx) {
    auto t = openTarget(ctx);
    if (!t) {
        return 1;
    }
    auto& dom = t->dom;
    if (ctx.json) {
        JsonWriter w;
        w.beginObject().key("id");
        if (dom.id >= 0) {
            w.value(dom.id);
        } else {
            w.null();
        }
        w.endObject();
        printJson(ctx, w);
        return 0;
    }
    std::printf("%s\n", dom.id >= 0 ? std::to_string(dom.id).c_str() : "-");
    return 0;
}

int domname(Context& ctx) {
    auto t = openTarget(ctx);
    if (!t) {
        return 1;
    }
    if (ctx.json) {
        JsonWriter w;
        w.beginObject().key("name").value(t->dom.name).endObject();
        printJson(ctx, w);
        return 0;
    }
    std::printf("%s\n", t->dom.name.c_str());
    return 0;
}

int domuuid(Context& ctx) {
    auto t = openTarget(ctx);
    if (!t) {
        return 1;
    }
    if (ctx.json) {
        JsonWriter w;
        w.beginObject().key("uuid").value(uuidText(t->dom.uuid)).endObject();
        printJson(ctx, w);
        return 0;
    }
    std::printf("%s\n", uuidText(t->dom.uuid).c_str());
    return 0;
}

int dumpxml(Context& ctx) {
    auto t = openTarget(ctx);
    if (!t) {
        return 1;
    }
    auto& [conn, dom] = *t;
    proto::remote_domain_get_xml_desc_args a{};
    a.dom = dom;
    // virDomainXMLFlags: SECURE 1, INACTIVE 2, UPDATE_CPU 4, MIGRATABLE 8.
    a.flags = (ctx.args.flag("security-info") ? 1u : 0u) | (ctx.args.flag("inactive") ? 2u : 0u) |
              (ctx.args.flag("update-cpu") ? 4u : 0u) | (ctx.args.flag("migratable") ? 8u : 0u);
    auto xml = conn->call<proto::REMOTE_PROC_DOMAIN_GET_XML_DESC>(a);
    if (!xml) {
        printError("", xml.error());
        return 1;
    }
    std::printf("%s", xml->xml.c_str());
    return 0;
}

}  // namespace

void registerDomainInfoCommands() {
    OptSpec domain{"domain", OptKind::String, true, true, "domain name, id or uuid"};
    registerCommand({"dominfo", "domain information", {domain}, dominfo});
    registerCommand({"domstate", "domain state", {domain, {"reason", OptKind::Bool, false, false, ""}}, domstate});
    registerCommand({"domid", "convert a domain name or UUID to domain id", {domain}, domid});
    registerCommand({"domname", "convert a domain id or UUID to domain name", {domain}, domname});
    registerCommand({"domuuid", "convert a domain name or id to domain UUID", {domain}, domuuid});
    registerCommand({"dumpxml", "domain information in XML",
                     {domain,
                      {"inactive", OptKind::Bool, false, false, ""},
                      {"security-info", OptKind::Bool, false, false, ""},
                      {"update-cpu", OptKind::Bool, false, false, ""},
                      {"migratable", OptKind::Bool, false, false, ""},
                      {"xpath", OptKind::String, false, false, ""},
                      {"wrap", OptKind::Bool, false, false, ""}},
                     dumpxml});
}

}  // namespace corral::cli
