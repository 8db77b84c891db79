// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/lxc/container_definition.hpp"

#include <algorithm>

#include "drivers/lxc/container_privileges.hpp"
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
    for (const auto& c : caps != nullptr ? caps->children : std::vector<conf::XmlNode>{}) {
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
    for (const auto& dev : def.devices) {
        if (dev.name == "interface") {
            const std::string type = dev.attrOr("type");
            if (type != "bridge" && type != "network") {
                return unsupported("<interface type='" + type + "'> is not supported in a container (bridge and "
                                   "network are)");
            }
            // The host end's name is chosen at start (the backend fills it in).
            plan.interfaces.push_back({"", "", "eth" + std::to_string(plan.interfaces.size()),
                                       dev.childAttr("mac", "address")});
            continue;
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
    return plan;
}

}  // namespace corral::drivers::lxc
