// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/lxc/container_definition.hpp"

#include <algorithm>

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

}  // namespace corral::drivers::lxc
