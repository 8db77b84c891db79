// SPDX-License-Identifier: LGPL-2.1-or-later
// The guest agent calls of QEMU guests: each one qemu-ga command, its reply read into the
// driver's types. Replies are the guest's words: a member of the wrong type or a missing one
// fails the call ("malformed return value"), never the daemon, and nothing read here is acted
// upon on the host.
#include <algorithm>
#include <limits>

#include "conf/domain_def.hpp"
#include "drivers/qemu/qemu_agent.hpp"
#include "drivers/qemu/qemu_backend.hpp"
#include "drivers/qemu/qemu_backend_runtime.hpp"
#include "drivers/qemu/qemu_command.hpp"
#include "util/base64.hpp"
#include "util/json.hpp"
#include "util/strings.hpp"

namespace corral::drivers::qemu {

namespace {

constexpr const char* kAgentPort = "org.qemu.guest_agent.0";

Unexpected malformed(const char* command) {
    return fail(ErrorCode::InternalError, std::string("malformed return value from QEMU agent command '") + command + "'",
                ErrorDomain::Qemu);
}

}  // namespace

void QemuBackend::prepareAgent(Runtime& rt, const conf::DomainDef& liveDef) const {
    for (const auto& c : consoleDevices(liveDef)) {
        const conf::XmlNode& dev = liveDef.devices[c.deviceIndex];
        if (dev.name != "channel" || c.type != "unix" || dev.childAttr("target", "name") != kAgentPort) {
            continue;
        }
        const std::string path = dev.childAttr("source", "path");
        if (path.empty()) {
            continue;
        }
        rt.agentChannelId = c.alias;
        rt.agent = std::make_unique<QemuAgent>(path);
        return;
    }
}

void QemuBackend::refreshAgentState(Runtime& rt) {
    if (!rt.agent || !rt.monitor) {
        return;
    }
    // After a daemon restart: whether the guest's agent has its port open now (QEMU's
    // "frontend-open" of the channel's character device).
    auto chardevs = rt.monitor->execute("query-chardev");
    if (!chardevs) {
        return;
    }
    for (const auto& c : chardevs->items()) {
        if (c["label"].asString() == "char" + rt.agentChannelId) {
            rt.agentConnected = c["frontend-open"].asBool();
        }
    }
}

void QemuBackend::onAgentPort(const std::shared_ptr<Runtime>& rt, const JsonValue& data) {
    if (!rt->agent || data["id"].asString() != rt->agentChannelId) {
        return;
    }
    const bool open = data["open"].asBool();
    if (rt->agentConnected.exchange(open) == open) {
        return;
    }
    if (sink_ != nullptr) {
        DomainEvent ev;
        ev.eventId = event_id::kAgentLifecycle;
        ev.detail = open ? 1 : 2;  // VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED / _DISCONNECTED
        ev.number = 2;             // VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_CHANNEL
        sink_->guestEvent(rt->uuid, std::move(ev));
    }
}

Result<JsonValue> QemuBackend::agentCall(objects::DomainObj& dom, std::string_view command,
                                         std::string_view argumentsJson, std::optional<int> timeout) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    {
        std::lock_guard lock(dom.mutex());
        if (dom.state() != objects::DomainState::Running) {
            return fail(ErrorCode::OperationInvalid, "domain is not running", ErrorDomain::Qemu);
        }
    }
    if (!rt->agent) {
        return fail(ErrorCode::ArgumentUnsupported, "QEMU guest agent is not configured", ErrorDomain::Qemu);
    }
    if (!rt->agentConnected) {
        return fail(ErrorCode::AgentUnresponsive, "QEMU guest agent is not connected", ErrorDomain::Qemu);
    }
    AgentWait wait{timeout.value_or(rt->agentTimeout.load())};
    return rt->agent->execute(command, argumentsJson, wait);
}

Result<void> QemuBackend::setAgentTimeout(objects::DomainObj& dom, int timeoutSeconds) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    rt->agentTimeout = timeoutSeconds;
    return {};
}

Result<GuestTime> QemuBackend::agentGetTime(objects::DomainObj& dom) {
    CORRAL_ASSIGN_OR_RETURN(JsonValue ret, agentCall(dom, "guest-get-time", ""));
    if (!ret.isNumber()) {
        return malformed("guest-get-time");
    }
    // Nanoseconds since the epoch; a guest before 1970 has a negative clock.
    const std::int64_t ns = ret.asInt();
    GuestTime t;
    t.seconds = ns / 1000000000;
    std::int64_t rest = ns % 1000000000;
    if (rest < 0) {
        rest += 1000000000;
        t.seconds -= 1;
    }
    t.nseconds = static_cast<unsigned>(rest);
    return t;
}

Result<void> QemuBackend::agentSetTime(objects::DomainObj& dom, std::optional<GuestTime> time) {
    std::string args;
    if (time) {
        constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max() / 1000000000;
        if (time->seconds > kMax || time->seconds < -kMax) {
            return fail(ErrorCode::InvalidArg,
                        "time '" + std::to_string(time->seconds) + "' is too big for guest agent", ErrorDomain::Qemu);
        }
        JsonWriter w;
        w.beginObject().key("time").value(time->seconds * 1000000000 + static_cast<std::int64_t>(time->nseconds));
        w.endObject();
        args = w.str();
    }
    // Without a time the agent sets its clock from the RTC (hwclock), libvirt's --sync.
    CORRAL_TRY(agentCall(dom, "guest-set-time", args));
    return {};
}

Result<std::string> QemuBackend::agentHostname(objects::DomainObj& dom) {
    CORRAL_ASSIGN_OR_RETURN(JsonValue ret, agentCall(dom, "guest-get-host-name", ""));
    if (!ret["host-name"].isString()) {
        return malformed("guest-get-host-name");
    }
    return ret["host-name"].asString();
}

Result<std::vector<GuestInterface>> QemuBackend::agentInterfaces(objects::DomainObj& dom) {
    CORRAL_ASSIGN_OR_RETURN(JsonValue ret, agentCall(dom, "guest-network-get-interfaces", ""));
    if (!ret.isArray()) {
        return malformed("guest-network-get-interfaces");
    }
    std::vector<GuestInterface> out;
    for (const auto& iface : ret.items()) {
        if (!iface["name"].isString()) {
            return malformed("guest-network-get-interfaces");
        }
        // "eth0:1" is an alias of eth0: its addresses are eth0's, as libvirt shows them.
        std::string name = iface["name"].asString();
        name = name.substr(0, name.find(':'));
        auto it = std::find_if(out.begin(), out.end(), [&](const GuestInterface& i) { return i.name == name; });
        if (it == out.end()) {
            out.push_back(GuestInterface{name, std::nullopt, {}});
            it = out.end() - 1;
        }
        if (iface["hardware-address"].isString() && !it->hwaddr) {
            it->hwaddr = iface["hardware-address"].asString();
        }
        for (const auto& a : iface["ip-addresses"].items()) {
            const std::string type = a["ip-address-type"].asString();
            if ((type != "ipv4" && type != "ipv6") || !a["ip-address"].isString() || !a["prefix"].isNumber()) {
                return malformed("guest-network-get-interfaces");
            }
            it->addrs.push_back(GuestIpAddress{type == "ipv4" ? 0 : 1, a["ip-address"].asString(),
                                               static_cast<unsigned>(std::min<std::uint64_t>(a["prefix"].asUnsigned(), 128))});
        }
    }
    return out;
}

Result<std::vector<GuestFsInfo>> QemuBackend::agentFsInfo(objects::DomainObj& dom) {
    CORRAL_ASSIGN_OR_RETURN(JsonValue ret, agentCall(dom, "guest-get-fsinfo", ""));
    if (!ret.isArray()) {
        return malformed("guest-get-fsinfo");
    }
    std::shared_ptr<const conf::DomainDef> def;
    {
        std::lock_guard lock(dom.mutex());
        def = dom.def;
    }
    std::vector<GuestFsInfo> out;
    // The agent lists the most recent mount first; libvirt shows them in mount order.
    const auto& items = ret.items();
    for (auto fs = items.rbegin(); fs != items.rend(); ++fs) {
        if (!(*fs)["mountpoint"].isString() || !(*fs)["name"].isString() || !(*fs)["type"].isString()) {
            return malformed("guest-get-fsinfo");
        }
        GuestFsInfo info{(*fs)["mountpoint"].asString(), (*fs)["name"].asString(), (*fs)["type"].asString(), {}};
        for (const auto& disk : (*fs)["disk"].items()) {
            if (auto target = diskForAgentAddress(def ? *def : conf::DomainDef{}, disk)) {
                info.devAliases.push_back(*target);
            }
        }
        out.push_back(std::move(info));
    }
    return out;
}

std::optional<std::string> QemuBackend::diskForAgentAddress(const conf::DomainDef& def, const JsonValue& disk) {
    // The guest names the disk by its PCI address (virtio disks), as the agent sees it: the
    // live definition's disk at that address, if any. A guest can only point at its own disks.
    const JsonValue& pci = disk["pci-controller"];
    for (const auto& dev : def.devices) {
        if (dev.name != "disk") {
            continue;
        }
        const conf::XmlNode* address = dev.child("address");
        if (address == nullptr || address->attrOr("type") != "pci") {
            continue;
        }
        auto same = [&](const char* attr) {
            const auto ours = parseUnsigned(address->attrOr(attr, "0"));
            return ours && pci[attr].isNumber() && *ours == pci[attr].asUnsigned();
        };
        if (same("domain") && same("bus") && same("slot") && same("function")) {
            return dev.childAttr("target", "dev");
        }
    }
    return std::nullopt;
}

Result<int> QemuBackend::agentFsFreeze(objects::DomainObj& dom, const std::vector<std::string>& mountpoints) {
    JsonValue ret;
    if (mountpoints.empty()) {
        CORRAL_ASSIGN_OR_RETURN(ret, agentCall(dom, "guest-fsfreeze-freeze", ""));
    } else {
        JsonWriter w;
        w.beginObject().key("mountpoints").beginArray();
        for (const auto& m : mountpoints) {
            w.value(m);
        }
        w.endArray().endObject();
        CORRAL_ASSIGN_OR_RETURN(ret, agentCall(dom, "guest-fsfreeze-freeze-list", w.str()));
    }
    if (!ret.isNumber()) {
        return malformed("guest-fsfreeze-freeze");
    }
    return static_cast<int>(std::clamp<std::int64_t>(ret.asInt(), 0, std::numeric_limits<int>::max()));
}

Result<int> QemuBackend::agentFsThaw(objects::DomainObj& dom) {
    CORRAL_ASSIGN_OR_RETURN(JsonValue ret, agentCall(dom, "guest-fsfreeze-thaw", ""));
    if (!ret.isNumber()) {
        return malformed("guest-fsfreeze-thaw");
    }
    return static_cast<int>(std::clamp<std::int64_t>(ret.asInt(), 0, std::numeric_limits<int>::max()));
}

Result<void> QemuBackend::agentSetUserPassword(objects::DomainObj& dom, const std::string& user,
                                               const std::string& password, bool crypted) {
    JsonWriter w;
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(password.data());  // base64 of the raw bytes
    w.beginObject().key("username").value(user);
    w.key("password").value(base64Encode({bytes, password.size()}));
    w.key("crypted").value(crypted).endObject();
    CORRAL_TRY(agentCall(dom, "guest-set-user-password", w.str()));
    return {};
}

Result<std::string> QemuBackend::agentRawCommand(objects::DomainObj& dom, const std::string& command,
                                                 int timeoutSeconds) {
    auto parsed = JsonValue::parse(command);
    if (!parsed || !parsed->isObject() || !(*parsed)["execute"].isString()) {
        return fail(ErrorCode::InvalidArg,
                    "a guest agent command must be a JSON object with an \"execute\" member, e.g. "
                    "{\"execute\":\"guest-info\"}",
                    ErrorDomain::Qemu);
    }
    const JsonValue& arguments = (*parsed)["arguments"];
    CORRAL_ASSIGN_OR_RETURN(JsonValue ret, agentCall(dom, (*parsed)["execute"].asString(),
                                                     arguments.isNull() ? "" : arguments.toJson(), timeoutSeconds));
    return "{\"return\":" + ret.toJson() + "}";
}

}  // namespace corral::drivers::qemu
