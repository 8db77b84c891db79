// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/lxc/container_plan.hpp"

#include <algorithm>

#include "util/json.hpp"
#include "util/json_value.hpp"

namespace corral::drivers::lxc {

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
    w.key("root_readonly").value(plan.rootReadonly);
    w.key("mounts").beginArray();
    for (const auto& m : plan.mounts) {
        w.beginObject().key("source").value(m.source).key("target").value(m.target).key("readonly").value(m.readonly);
        w.endObject();
    }
    w.endArray();
    w.key("interfaces").beginArray();
    for (const auto& i : plan.interfaces) {
        w.beginObject().key("host").value(i.hostName).key("peer").value(i.peerName).key("name").value(i.name);
        w.key("mac").value(i.mac).endObject();
    }
    w.endArray();
    w.key("private_network").value(plan.privateNetwork).key("auto_id_range").value(plan.autoIdRange);
    for (const auto& [key, ranges] : {std::pair{"uid_map", &plan.uidMap}, {"gid_map", &plan.gidMap}}) {
        w.key(key).beginArray();
        for (const auto& r : *ranges) {
            w.beginArray().value(static_cast<std::uint64_t>(r.start)).value(static_cast<std::uint64_t>(r.target));
            w.value(static_cast<std::uint64_t>(r.count)).endArray();
        }
        w.endArray();
    }
    strings("argv", plan.argv);
    strings("env", plan.env);
    strings("cgroup_join", plan.cgroupJoinFiles);
    w.key("pass_fds").beginArray();
    for (int fd : plan.passFds) {
        w.value(fd);
    }
    w.endArray();
    w.key("capabilities").beginArray();
    for (int cap : plan.capabilities) {
        w.value(cap);
    }
    w.endArray();
    w.key("console_log").value(plan.consoleLog).key("console_socket").value(plan.consoleSocket);
    w.key("state_file").value(plan.stateFile);
    w.key("proc_views").value(plan.procViewsDir).key("memory_cgroup").value(plan.memoryCgroupDir);
    w.key("cgroup_v2").value(plan.cgroupV2);
    w.key("exit_file").value(plan.exitFile).key("root_staging").value(plan.rootStaging);
    w.endObject();
    return w.str();
}

Result<ContainerPlan> planFromJson(const std::string& text) {
    CORRAL_ASSIGN_OR_RETURN(JsonValue doc, JsonValue::parse(text));
    static const char* const kKnown[] = {"name", "uuid", "root", "mounts", "interfaces", "uid_map", "gid_map", "argv", "env",
                                         "cgroup_join", "pass_fds", "console_log", "console_socket", "state_file", "exit_file",
                                         "proc_views", "memory_cgroup", "cgroup_v2", "private_network",
                                         "auto_id_range", "capabilities", "root_staging", "root_readonly"};
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
    plan.rootReadonly = doc["root_readonly"].asBool();
    for (const auto& m : doc["mounts"].items()) {
        plan.mounts.push_back({m["source"].asString(), m["target"].asString(), m["readonly"].asBool()});
    }
    for (const auto& i : doc["interfaces"].items()) {
        plan.interfaces.push_back({i["host"].asString(), i["peer"].asString(), i["name"].asString(), i["mac"].asString()});
    }
    plan.privateNetwork = doc["private_network"].asBool();
    plan.autoIdRange = doc["auto_id_range"].asBool();
    for (const auto& [key, ranges] : {std::pair{"uid_map", &plan.uidMap}, {"gid_map", &plan.gidMap}}) {
        for (const auto& r : doc[key].items()) {
            const auto& v = r.items();
            if (v.size() != 3) {
                return fail(ErrorCode::InternalError, std::string("container plan has a bad ") + key + " entry");
            }
            ranges->push_back({v[0].asUnsigned(), v[1].asUnsigned(), v[2].asUnsigned()});
        }
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
    plan.cgroupJoinFiles = strings("cgroup_join");
    for (const auto& fd : doc["pass_fds"].items()) {
        plan.passFds.push_back(static_cast<int>(fd.asUnsigned()));
    }
    for (const auto& cap : doc["capabilities"].items()) {
        plan.capabilities.push_back(static_cast<int>(cap.asUnsigned()));
    }
    plan.consoleLog = doc["console_log"].asString();
    plan.consoleSocket = doc["console_socket"].asString();
    plan.stateFile = doc["state_file"].asString();
    plan.exitFile = doc["exit_file"].asString();
    plan.procViewsDir = doc["proc_views"].asString();
    plan.memoryCgroupDir = doc["memory_cgroup"].asString();
    plan.cgroupV2 = doc["cgroup_v2"].asBool();
    plan.rootStaging = doc["root_staging"].asString();
    if (plan.argv.empty() || plan.name.empty()) {
        return fail(ErrorCode::InternalError, "container plan without a name or an init");
    }
    return plan;
}

}  // namespace corral::drivers::lxc
