// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/lxc/container_plan.hpp"

#include "util/json.hpp"
#include "util/json_value.hpp"
#include "util/strings.hpp"

namespace corral::drivers::lxc {

namespace {

Unexpected unsupported(const std::string& what) {
    return fail(ErrorCode::ConfigUnsupported, what, ErrorDomain::Lxc);
}

}  // namespace

Result<ContainerPlan> planContainer(const conf::DomainDef& def) {
    ContainerPlan plan;
    plan.name = def.name;
    plan.uuid = def.uuid.toString();
    if (def.element("idmap") != nullptr) {
        return unsupported("<idmap> (user namespaces) is not supported by this build's LXC driver yet");
    }
    for (const auto& dev : def.devices) {
        if (dev.name == "interface") {
            return unsupported("<interface> in a container (veth) is not supported by this build's LXC driver yet; "
                               "a container without interfaces shares the host's network");
        }
        if (dev.name != "filesystem") {
            continue;
        }
        const std::string type = dev.attrOr("type", "mount");
        if (type != "mount") {
            return unsupported("<filesystem type='" + type + "'> is not supported (only type='mount')");
        }
        std::string source = dev.childAttr("source", "dir");
        std::string target = dev.childAttr("target", "dir");
        if (source.empty() || target.empty() || source[0] != '/' || target[0] != '/') {
            return fail(ErrorCode::XmlError,
                        "<filesystem type='mount'> needs absolute <source dir=...> and <target dir=...>",
                        ErrorDomain::Lxc);
        }
        if (target == "/") {
            plan.rootSource = source;
        } else {
            plan.mounts.push_back({source, target, dev.child("readonly") != nullptr});
        }
    }
    std::string init = def.os.value("init");
    if (init.empty()) {
        init = "/sbin/init";
    }
    plan.argv.push_back(init);
    for (const auto& arg : def.os.values("initarg")) {
        plan.argv.push_back(arg);
    }
    std::string cmdline;
    for (std::size_t i = 1; i < plan.argv.size(); ++i) {
        cmdline += (i == 1 ? "" : " ") + plan.argv[i];
    }
    // The systemd container interface, then libvirt's names, then ours.
    plan.env = {"container=lxc-libvirt", "container_uuid=" + plan.uuid, "PATH=/bin:/usr/bin", "TERM=linux"};
    for (const char* prefix : {"LIBVIRT_LXC_", "CORRAL_LXC_"}) {
        plan.env.push_back(std::string(prefix) + "NAME=" + def.name);
        plan.env.push_back(std::string(prefix) + "UUID=" + plan.uuid);
        plan.env.push_back(std::string(prefix) + "CMDLINE=" + cmdline);
    }
    return plan;
}

std::string planToJson(const ContainerPlan& plan) {
    JsonWriter w;
    auto strings = [&](const char* key, const std::vector<std::string>& values) {
        w.key(key).beginArray();
        for (const auto& v : values) {
            w.value(v);
        }
        w.endArray();
    };
    w.beginObject();
    w.key("name").value(plan.name).key("uuid").value(plan.uuid).key("root").value(plan.rootSource);
    w.key("mounts").beginArray();
    for (const auto& m : plan.mounts) {
        w.beginObject().key("source").value(m.source).key("target").value(m.target).key("readonly").value(m.readonly);
        w.endObject();
    }
    w.endArray();
    strings("argv", plan.argv);
    strings("env", plan.env);
    strings("cgroup_procs", plan.cgroupProcsFiles);
    w.key("console_log").value(plan.consoleLog).key("state_file").value(plan.stateFile);
    w.key("exit_file").value(plan.exitFile);
    w.endObject();
    return w.str();
}

Result<ContainerPlan> planFromJson(const std::string& text) {
    CORRAL_ASSIGN_OR_RETURN(JsonValue doc, JsonValue::parse(text));
    static const char* const kKnown[] = {"name", "uuid", "root", "mounts", "argv", "env",
                                         "cgroup_procs", "console_log", "state_file", "exit_file"};
    for (const auto& [key, value] : doc.members()) {
        (void)value;
        if (std::none_of(std::begin(kKnown), std::end(kKnown), [&](const char* k) { return key == k; })) {
            return fail(ErrorCode::InternalError, "container plan has an unknown member '" + key + "'");
        }
    }
    ContainerPlan plan;
    plan.name = doc["name"].asString();
    plan.uuid = doc["uuid"].asString();
    plan.rootSource = doc["root"].asString();
    for (const auto& m : doc["mounts"].items()) {
        plan.mounts.push_back({m["source"].asString(), m["target"].asString(), m["readonly"].asBool()});
    }
    auto strings = [&](const char* key) {
        std::vector<std::string> out;
        for (const auto& v : doc[key].items()) {
            out.push_back(v.asString());
        }
        return out;
    };
    plan.argv = strings("argv");
    plan.env = strings("env");
    plan.cgroupProcsFiles = strings("cgroup_procs");
    plan.consoleLog = doc["console_log"].asString();
    plan.stateFile = doc["state_file"].asString();
    plan.exitFile = doc["exit_file"].asString();
    if (plan.argv.empty() || plan.name.empty()) {
        return fail(ErrorCode::InternalError, "container plan without a name or an init");
    }
    return plan;
}

}  // namespace corral::drivers::lxc
