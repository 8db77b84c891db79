// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/lxc/container_definition.hpp"

#include <algorithm>
#include <cctype>

#include "drivers/lxc/container_privileges.hpp"
#include "conf/domain_coverage.hpp"
#include "conf/domain_tuning.hpp"
#include "util/strings.hpp"

namespace corral::drivers::lxc {

namespace {

Unexpected unsupported(const std::string& what) {
    return fail(ErrorCode::ConfigUnsupported, what, ErrorDomain::Lxc);
}

Unexpected badXml(const std::string& what) { return fail(ErrorCode::XmlError, what, ErrorDomain::Lxc); }

/// A DAC <seclabel type='none'> (the same words that run a QEMU guest as root) asks for a
/// privileged container: no user namespace, its root the host's root. Labels of other models
/// are not this function's business.
Result<bool> asksForPrivileged(const conf::DomainDef& def) {
    bool privileged = false;
    for (const auto& e : def.elements) {
        if (e.name != "seclabel") {
            continue;
        }
        // The model is looked at in the raw attributes: a label of another model is not read
        // here (so it is not taken as acted on).
        auto model = std::find_if(e.attrs.begin(), e.attrs.end(), [](const auto& a) { return a.first == "model"; });
        if (model != e.attrs.end() && model->second != "dac") {
            continue;
        }
        (void)e.attrOr("model");
        const std::string type = e.attrOr("type", "dynamic");
        if (type == "none") {
            privileged = true;
        } else if (type != "dynamic") {
            return unsupported("<seclabel type='" + type + "'" + (model != e.attrs.end() ? " model='dac'" : "") +
                               "> is not supported for a container: its root's host ids are chosen with <idmap>");
        }
    }
    return privileged;
}

/// <features>: <privnet/> and libvirt's <capabilities policy='default|allow|deny'> with one
/// <NAME state='on|off'/> per capability to change.
Result<void> readFeatures(const conf::DomainDef& def, ContainerPlan& plan) {
    const conf::XmlNode* features = def.element("features");
    plan.privateNetwork = !plan.interfaces.empty() || (features != nullptr && features->child("privnet") != nullptr);
    const conf::XmlNode* caps = features != nullptr ? features->child("capabilities") : nullptr;
    const std::string policy = caps != nullptr ? caps->attrOr("policy", "default") : "default";
    if (policy != "default" && policy != "allow" && policy != "deny") {
        return badXml("invalid value '" + policy + "' for <capabilities policy>: expected 'default', 'allow' or 'deny'");
    }
    std::vector<CapabilityChoice> choices;
    // The definition's own nodes, never a copy: what is read of them is what the coverage check
    // sees acted on.
    static const std::vector<conf::XmlNode> kNone;
    for (const auto& c : caps != nullptr ? caps->children : kNone) {
        auto cap = capabilityByName(c.name);
        if (!cap) {
            return badXml("unknown capability <" + c.name + "> in <features><capabilities>");
        }
        const std::string state = c.attrOr("state");
        if (state != "on" && state != "off") {
            return badXml("<capabilities><" + c.name + "> needs state='on' or state='off', not '" + state + "'");
        }
        choices.push_back({*cap, state == "on"});
    }
    const bool userNamespace = !plan.uidMap.empty() || plan.autoIdRange;
    plan.capabilities = chooseCapabilities(policy, choices, userNamespace, plan.privateNetwork);
    return {};
}

}  // namespace

Result<ContainerPlan> planContainer(const conf::DomainDef& def) {
    ContainerPlan plan;
    plan.name = def.name;
    plan.uuid = def.uuid.toString();
    if (const conf::XmlNode* idmap = def.element("idmap")) {
        for (const auto& c : idmap->children) {
            IdRange r{parseUnsigned(c.attrOr("start")).value_or(0), parseUnsigned(c.attrOr("target")).value_or(0),
                      parseUnsigned(c.attrOr("count")).value_or(0)};
            (c.name == "uid" ? plan.uidMap : plan.gidMap).push_back(r);
        }
        // Root inside must be someone: without a map for id 0 the container could not even
        // own its /dev.
        auto mapsRoot = [](const std::vector<IdRange>& m) {
            return std::any_of(m.begin(), m.end(), [](const IdRange& r) { return r.start == 0 && r.count > 0; });
        };
        if (!mapsRoot(plan.uidMap) || !mapsRoot(plan.gidMap)) {
            return fail(ErrorCode::XmlError, "<idmap> needs a <uid> and a <gid> entry with start='0'",
                        ErrorDomain::Lxc);
        }
    }
    CORRAL_ASSIGN_OR_RETURN(bool privileged, asksForPrivileged(def));
    if (privileged && !plan.uidMap.empty()) {
        return unsupported("a container with an <idmap> cannot be privileged (<seclabel type='none' model='dac'>)");
    }
    // Unprivileged unless asked otherwise: without <idmap> the daemon picks a range at start.
    plan.autoIdRange = !privileged && plan.uidMap.empty();
    bool seenConsole = false;
    for (const auto& dev : def.devices) {
        if (dev.name == "interface") {
            const std::string type = dev.attrOr("type");
            if (type != "bridge" && type != "network") {
                return unsupported("<interface type='" + type + "'> is not supported in a container (bridge and "
                                   "network are)");
            }
            const std::string mac = dev.childAttr("mac", "address");
            const std::string where = "<interface type='" + type + "'>" + (mac.empty() ? "" : " with MAC " + mac);
            // The backend plugs the host end into <source bridge>, or the bridge of <source
            // network> (written into the live <source bridge>, as libvirt does).
            if (dev.childAttr("source", type == "bridge" ? "bridge" : "network").empty()) {
                return unsupported(where + ": needs <source " + std::string(type == "bridge" ? "bridge" : "network") +
                                   "='NAME'/>");
            }
            if (type == "network") {
                dev.markChildAttrRead("source", "bridge");
            }
            // The host end's name is chosen at start ("vethN", recorded in the live <target
            // dev>); a name of the definition's own is not supported.
            if (const std::string hostName = dev.childAttr("target", "dev");
                !hostName.empty() && !hostName.starts_with("veth")) {
                return unsupported(where + ": <target dev='" + hostName +
                                   "'>: the host end's name is chosen by the driver (vethN)");
            }
            plan.interfaces.push_back({"", "", "eth" + std::to_string(plan.interfaces.size()), mac});
            continue;
        }
        if (dev.name == "console") {
            // The container's one console is the controller's pty (/dev/console, /dev/tty1).
            if (dev.attrOr("type", "pty") != "pty" || dev.childAttr("target", "type") != "lxc" ||
                dev.childAttr("target", "port") != "0" || seenConsole) {
                return unsupported("<console>: a container has one console, <console type='pty'><target type='lxc' "
                                   "port='0'/></console>");
            }
            dev.markChildAttrRead("source", "path");  // the pty a running container's console is on: an output
            seenConsole = true;
            continue;
        }
        if (dev.name != "filesystem") {
            continue;  // not read: refused by the coverage check (LxcBackend::checkDefinition)
        }
        const std::string type = dev.attrOr("type", "mount");
        if (type != "mount") {
            return unsupported("<filesystem type='" + type + "'> is not supported (only type='mount')");
        }
        if (const std::string mode = dev.attrOr("accessmode", "passthrough"); mode != "passthrough") {
            return unsupported("<filesystem accessmode='" + mode + "'>: only 'passthrough' is supported");
        }
        std::string source = dev.childAttr("source", "dir");
        std::string target = dev.childAttr("target", "dir");
        if (source.empty() || target.empty() || source[0] != '/' || target[0] != '/') {
            return fail(ErrorCode::XmlError,
                        "<filesystem type='mount'> needs absolute <source dir=...> and <target dir=...>",
                        ErrorDomain::Lxc);
        }
        // The target is joined to the container's root on the host: a ".." would mount (and
        // create directories or files) outside it.
        for (const auto& component : splitString(target, '/')) {
            if (component == "." || component == "..") {
                return fail(ErrorCode::XmlError,
                            "<filesystem type='mount'> <target dir='" + target +
                                "'>: the path may not have '.' or '..' components (it is inside the container)",
                            ErrorDomain::Lxc);
            }
        }
        if (target == "/") {
            plan.rootSource = source;
            plan.rootReadonly = dev.child("readonly") != nullptr;
        } else {
            plan.mounts.push_back({source, target, dev.child("readonly") != nullptr});
        }
    }
    CORRAL_TRY(readFeatures(def, plan));
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
    for (const auto& e : def.os.elements) {
        if (e.name != "initenv") {
            continue;
        }
        // <initenv name='FOO'>bar</initenv>: FOO=bar in init's environment, after the ones above.
        const std::string name = e.attrOr("name");
        bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
        for (char c : name) {
            valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
        }
        if (!valid) {
            return fail(ErrorCode::XmlError, "<initenv name='" + name + "'>: not an environment variable name",
                        ErrorDomain::Lxc);
        }
        e.markRead();
        plan.env.push_back(name + "=" + e.text);
    }
    return plan;
}

namespace {

Result<void> checkContainerTypedFields(const conf::DomainDef& def) {
    if (!def.vcpuCpuset.empty() || def.vcpuPlacement == "auto") {
        return unsupported("<vcpu cpuset/placement='auto'>: CPU placement is not supported for containers (use "
                           "<cputune><shares>, <period> and <quota>)");
    }
    if (def.currentMemoryKiB != 0 && def.currentMemoryKiB != def.memoryKiB) {
        return unsupported("<currentMemory> different from <memory>: a container's memory is <memory>, its cgroup limit");
    }
    if (!def.memoryDumpCore.empty()) {
        return unsupported("<memory dumpCore>: containers have no guest memory to dump");
    }
    for (const auto* action : {&def.onPoweroff, &def.onReboot, &def.onCrash}) {
        if (*action == "preserve" || action->starts_with("coredump")) {
            return unsupported("lifecycle action '" + *action + "' is not supported for containers (destroy, restart)");
        }
    }
    if (!def.emulator.empty()) {
        // libvirt's XML names its controller: the driver always runs its own, corral-lxc.
        const std::string base = def.emulator.substr(def.emulator.rfind('/') + 1);
        if (base != "libvirt_lxc" && base != "corral-lxc") {
            return unsupported("<emulator>" + def.emulator + "</emulator>: a container's controller is corral-lxc");
        }
    }
    // What applyLimits (lxc_backend.cpp) puts on the container's cgroup; the rest is refused.
    const conf::DomainTuning t = conf::readTuning(def);
    if (!t.cpu.global.empty() || !t.cpu.emulator.empty() || !t.cpu.iothread.empty()) {
        return unsupported("<cputune>: a container has one CPU group; only <shares>, <period> and <quota> apply");
    }
    if (!t.cpu.vcpupin.empty() || !t.cpu.emulatorpin.empty() || !t.cpu.iothreadpin.empty()) {
        return unsupported("<cputune> pinning is not supported for containers");
    }
    if (t.memory.minGuaranteeKiB) {
        return unsupported("<memtune><min_guarantee> is not supported for containers");
    }
    if (!t.blkio.devices.empty()) {
        return unsupported("<blkiotune><device> is not supported for containers (only <weight>)");
    }
    return {};
}

}  // namespace

Result<void> checkContainerDefinition(const conf::DomainDef& def) {
    if (def.type != "lxc") {
        return unsupported("domain type '" + def.type + "' is not supported by the 'lxc' driver (accepted: 'lxc')");
    }
    if (def.os.type != "exe") {
        return unsupported("a container's <os><type> must be 'exe', not '" + def.os.type + "'");
    }
    // Everything read from here on is what start acts on (the plan corral-lxc carries out, the
    // cgroup limits); what is left unread is refused at the end.
    conf::XmlReadTracker reads;
    CORRAL_TRY(planContainer(def));
    CORRAL_TRY(checkContainerTypedFields(def));
    return conf::refuseUnreadParts(def, reads, "lxc", ErrorDomain::Lxc);
}

}  // namespace corral::drivers::lxc
