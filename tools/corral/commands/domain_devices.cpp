// SPDX-License-Identifier: LGPL-2.1-or-later
// Devices of a domain, as virsh has them: attach-device, detach-device, attach-disk, detach-disk,
// attach-interface, detach-interface, domblklist.
#include <strings.h>

#include <cctype>
#include <cstdio>

#include "../cli.hpp"
#include "conf/domain_def.hpp"
#include "conf/xml_node.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

constexpr unsigned kLive = 1;    // VIR_DOMAIN_AFFECT_LIVE
constexpr unsigned kConfig = 2;  // VIR_DOMAIN_AFFECT_CONFIG

/// virsh's flags for the device commands: --live, --config, --current, and --persistent (the
/// persistent definition, and the running guest too when it runs). nullopt after an error.
/// No option at all means the old call without flags (libvirt: the running guest).
struct DeviceFlags {
    unsigned flags = 0;
    bool withFlags = false;
};
std::optional<DeviceFlags> deviceFlags(const Context& ctx, Target& target) {
    auto impact = impactFlags(ctx);
    if (!impact) {
        return std::nullopt;
    }
    DeviceFlags out{*impact, *impact != 0 || ctx.args.flag("current")};
    if (ctx.args.flag("persistent")) {
        if (ctx.args.flag("current")) {
            printError("Options --current and --persistent are mutually exclusive");
            return std::nullopt;
        }
        out.flags |= kConfig;
        proto::remote_domain_is_active_args a{};
        a.dom = target.dom;
        auto active = target.conn->call<proto::REMOTE_PROC_DOMAIN_IS_ACTIVE>(a);
        if (active && active->active != 0) {
            out.flags |= kLive;
        }
        out.withFlags = true;
    }
    return out;
}

Result<proto::xdr_void> attach(Target& target, const std::string& xml, const DeviceFlags& f) {
    if (!f.withFlags) {
        proto::remote_domain_attach_device_args a{target.dom, xml};
        return target.conn->call<proto::REMOTE_PROC_DOMAIN_ATTACH_DEVICE>(a);
    }
    proto::remote_domain_attach_device_flags_args a{target.dom, xml, f.flags};
    return target.conn->call<proto::REMOTE_PROC_DOMAIN_ATTACH_DEVICE_FLAGS>(a);
}

Result<proto::xdr_void> detach(Target& target, const std::string& xml, const DeviceFlags& f) {
    if (!f.withFlags) {
        proto::remote_domain_detach_device_args a{target.dom, xml};
        return target.conn->call<proto::REMOTE_PROC_DOMAIN_DETACH_DEVICE>(a);
    }
    proto::remote_domain_detach_device_flags_args a{target.dom, xml, f.flags};
    return target.conn->call<proto::REMOTE_PROC_DOMAIN_DETACH_DEVICE_FLAGS>(a);
}

/// The domain's definition, live or persistent (`inactive`), parsed; nullopt after an error.
std::optional<conf::XmlNode> domainDefinition(Target& target, bool inactive) {
    proto::remote_domain_get_xml_desc_args get{};
    get.dom = target.dom;
    get.flags = inactive ? 2u : 0u;  // VIR_DOMAIN_XML_INACTIVE
    auto desc = target.conn->call<proto::REMOTE_PROC_DOMAIN_GET_XML_DESC>(get);
    if (!desc) {
        printError("", desc.error());
        return std::nullopt;
    }
    auto parsed = conf::parseXmlDocument(desc->xml, "(domain_definition)");
    if (!parsed) {
        printError("", parsed.error());
        return std::nullopt;
    }
    return std::move(*parsed);
}

/// The <disk> elements of a parsed definition.
std::vector<const conf::XmlNode*> disksOf(const conf::XmlNode& domain) {
    std::vector<const conf::XmlNode*> out;
    if (const conf::XmlNode* devices = domain.child("devices")) {
        for (const auto& dev : devices->children) {
            if (dev.name == "disk") {
                out.push_back(&dev);
            }
        }
    }
    return out;
}

int deviceFromFile(Context& ctx, bool attaching) {
    std::string file = *ctx.args.get("file");
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    auto flags = deviceFlags(ctx, *target);
    auto xml = readFile(file);
    if (!flags || !xml) {
        return 1;
    }
    auto done = attaching ? attach(*target, *xml, *flags) : detach(*target, *xml, *flags);
    if (!done) {
        printError(std::string(attaching ? "Failed to attach device from " : "Failed to detach device from ") + file,
                   done.error());
        return 1;
    }
    printExtra("Device %s successfully\n", attaching ? "attached" : "detached");
    return 0;
}

/// virsh update-device: always the call with flags (current when none is given), and --force.
int updateDevice(Context& ctx) {
    std::string file = *ctx.args.get("file");
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    auto flags = deviceFlags(ctx, *target);
    auto xml = readFile(file);
    if (!flags || !xml) {
        return 1;
    }
    constexpr unsigned kForce = 4;  // VIR_DOMAIN_DEVICE_MODIFY_FORCE
    proto::remote_domain_update_device_flags_args a{target->dom, *xml,
                                                    flags->flags | (ctx.args.flag("force") ? kForce : 0u)};
    auto done = target->conn->call<proto::REMOTE_PROC_DOMAIN_UPDATE_DEVICE_FLAGS>(a);
    if (!done) {
        printError("Failed to update device from " + file, done.error());
        return 1;
    }
    printExtra("Device updated successfully\n");
    return 0;
}

int attachDevice(Context& ctx) { return deviceFromFile(ctx, true); }
int detachDevice(Context& ctx) { return deviceFromFile(ctx, false); }

/// Sends `device` to be attached or detached (or, for attach --print-xml, prints it instead),
/// with virsh's words for `what` ("disk", "interface"): the end every attach-* and detach-*
/// command shares.
int sendDevice(Context& ctx, Target& target, const conf::XmlNode& device, const DeviceFlags& flags, bool attaching,
               const std::string& what) {
    std::string xml;
    conf::formatXmlNode(device, 0, xml);
    if (attaching && ctx.args.flag("print-xml")) {
        std::printf("%s", xml.c_str());
        return 0;
    }
    auto done = attaching ? attach(target, xml, flags) : detach(target, xml, flags);
    const std::string verb = attaching ? "attach" : "detach";
    if (!done) {
        printError("Failed to " + verb + " " + what, done.error());
        return 1;
    }
    std::string capitalised = what;
    capitalised[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(capitalised[0])));
    printExtra("%s %sed successfully\n", capitalised.c_str(), verb.c_str());
    return 0;
}

int attachDisk(Context& ctx) {
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    auto flags = deviceFlags(ctx, *target);
    if (!flags) {
        return 1;
    }
    const std::string source = *ctx.args.get("source");
    const std::string sourceType = ctx.args.get("sourcetype").value_or("file");
    // The same document virsh writes: only what was asked for.
    conf::XmlNode disk{"disk", {{"type", sourceType}}, {}, {}, 0};
    if (auto type = ctx.args.get("type")) {
        disk.setAttr("device", *type);
    }
    conf::XmlNode driver{"driver", {}, {}, {}, 0};
    for (const auto& [option, attr] : {std::pair{"driver", "name"}, {"subdriver", "type"}, {"cache", "cache"}}) {
        if (auto value = ctx.args.get(option)) {
            driver.setAttr(attr, *value);
        }
    }
    if (!driver.attrs.empty()) {
        disk.children.push_back(driver);
    }
    disk.children.push_back({"source", {{sourceType == "block" ? "dev" : "file", source}}, {}, {}, 0});
    conf::XmlNode targetNode{"target", {{"dev", *ctx.args.get("target")}}, {}, {}, 0};
    if (auto bus = ctx.args.get("targetbus")) {
        targetNode.setAttr("bus", *bus);
    }
    disk.children.push_back(targetNode);
    if (auto mode = ctx.args.get("mode")) {
        if (*mode != "readonly" && *mode != "shareable") {
            printError("No support for " + *mode + " in command 'attach-disk'");
            return 1;
        }
        disk.children.push_back({*mode, {}, {}, {}, 0});
    }
    return sendDevice(ctx, *target, disk, *flags, true, "disk");
}

int detachDisk(Context& ctx) {
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    auto flags = deviceFlags(ctx, *target);
    if (!flags) {
        return 1;
    }
    // The disk as the definition the change starts from has it (the persistent one for --config).
    auto domain = domainDefinition(*target, (flags->flags & kConfig) != 0 && (flags->flags & kLive) == 0);
    if (!domain) {
        return 1;
    }
    const std::string wanted = *ctx.args.get("target");
    const conf::XmlNode* found = nullptr;
    for (const conf::XmlNode* dev : disksOf(*domain)) {
        if (dev->childAttr("target", "dev") == wanted || dev->childAttr("source", "file") == wanted ||
            dev->childAttr("source", "dev") == wanted) {
            found = dev;
            break;
        }
    }
    if (found == nullptr) {
        printError("No disk found whose source path or target is " + wanted);
        return 1;
    }
    return sendDevice(ctx, *target, *found, *flags, false, "disk");
}

int attachInterface(Context& ctx) {
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    auto flags = deviceFlags(ctx, *target);
    if (!flags) {
        return 1;
    }
    const std::string type = *ctx.args.get("type");
    // The same document virsh writes: only what was asked for, in its order.
    conf::XmlNode iface{"interface", {{"type", type}}, {}, {}, 0};
    const char* sourceAttr = type == "network" ? "network" : type == "bridge" ? "bridge" : "dev";
    iface.children.push_back({"source", {{sourceAttr, *ctx.args.get("source")}}, {}, {}, 0});
    if (auto dev = ctx.args.get("target")) {
        iface.children.push_back({"target", {{"dev", *dev}}, {}, {}, 0});
    }
    if (auto mac = ctx.args.get("mac")) {
        iface.children.push_back({"mac", {{"address", *mac}}, {}, {}, 0});
    }
    if (auto model = ctx.args.get("model")) {
        iface.children.push_back({"model", {{"type", *model}}, {}, {}, 0});
    }
    return sendDevice(ctx, *target, iface, *flags, true, "interface");
}

int detachInterface(Context& ctx) {
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    auto flags = deviceFlags(ctx, *target);
    if (!flags) {
        return 1;
    }
    auto domain = domainDefinition(*target, (flags->flags & kConfig) != 0 && (flags->flags & kLive) == 0);
    if (!domain) {
        return 1;
    }
    const std::string type = *ctx.args.get("type");
    const auto mac = ctx.args.get("mac");
    std::vector<const conf::XmlNode*> found;
    if (const conf::XmlNode* devices = domain->child("devices")) {
        for (const auto& dev : devices->children) {
            if (dev.name == "interface" && dev.attrOr("type") == type &&
                (!mac || strcasecmp(dev.childAttr("mac", "address").c_str(), mac->c_str()) == 0)) {
                found.push_back(&dev);
            }
        }
    }
    // virsh's words for each case.
    if (found.empty()) {
        printError(mac ? "No interface with MAC address " + *mac + " was found"
                       : "No interface found whose type is " + type);
        return 1;
    }
    if (found.size() > 1) {
        printError("Domain has " + std::to_string(found.size()) +
                   " interfaces. Please specify which one to detach using --mac");
        return 1;
    }
    return sendDevice(ctx, *target, *found.front(), *flags, false, "interface");
}

/// The disks of the live (or, with --inactive, persistent) definition, as virsh lists them.
int domblklist(Context& ctx) {
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    auto domain = domainDefinition(*target, ctx.args.flag("inactive"));
    if (!domain) {
        return 1;
    }
    const bool details = ctx.args.flag("details");
    std::vector<std::vector<std::string>> rows;
    for (const conf::XmlNode* dev : disksOf(*domain)) {
        std::string source = conf::diskSourcePath(*dev);
        std::vector<std::string> row;
        if (details) {
            row = {dev->attrOr("type", "file"), dev->attrOr("device", "disk")};
        }
        row.push_back(dev->childAttr("target", "dev"));
        row.push_back(source.empty() ? "-" : source);
        rows.push_back(std::move(row));
    }
    printTable(details ? std::vector<std::string>{"Type", "Device", "Target", "Source"}
                       : std::vector<std::string>{"Target", "Source"},
               rows);
    return 0;
}

}  // namespace

void registerDomainDeviceCommands() {
    OptSpec domain{"domain", OptKind::String, true, true, "domain name, id or uuid"};
    std::vector<OptSpec> impact{{"persistent", OptKind::Bool, false, false, "make the change persistent, and live if running"},
                                {"config", OptKind::Bool, false, false, "affect next boot"},
                                {"live", OptKind::Bool, false, false, "affect running domain"},
                                {"current", OptKind::Bool, false, false, "affect current domain"}};
    auto with = [&](std::vector<OptSpec> opts) {
        opts.insert(opts.end(), impact.begin(), impact.end());
        return opts;
    };
    OptSpec file{"file", OptKind::String, true, true, "XML file"};
    registerCommand({"attach-device", "attach device from an XML file", with({domain, file}), attachDevice});
    registerCommand({"detach-device", "detach device from an XML file", with({domain, file}), detachDevice});
    registerCommand({"update-device", "update device from an XML file",
                     with({domain, file, {"force", OptKind::Bool, false, false, "force device update"}}), updateDevice});
    registerCommand({"attach-disk", "attach disk device",
                     with({domain,
                           {"source", OptKind::String, true, true, "source of disk device"},
                           {"target", OptKind::String, true, true, "target of disk device"},
                           {"targetbus", OptKind::String, false, false, "target bus of disk device"},
                           {"driver", OptKind::String, false, false, "driver of disk device"},
                           {"subdriver", OptKind::String, false, false, "subdriver of disk device"},
                           {"cache", OptKind::String, false, false, "cache mode of disk device"},
                           {"type", OptKind::String, false, false, "target device type"},
                           {"mode", OptKind::String, false, false, "mode of device reading and writing"},
                           {"sourcetype", OptKind::String, false, false, "type of source (block|file)"},
                           {"print-xml", OptKind::Bool, false, false, "print XML document rather than attach the disk"}}),
                     attachDisk});
    registerCommand({"attach-interface", "attach network interface",
                     with({domain,
                           {"type", OptKind::String, true, true, "network interface type"},
                           {"source", OptKind::String, true, true, "source of network interface"},
                           {"target", OptKind::String, false, false, "target network name"},
                           {"mac", OptKind::String, false, false, "MAC address"},
                           {"model", OptKind::String, false, false, "model type"},
                           {"print-xml", OptKind::Bool, false, false, "print XML document rather than attach the interface"}}),
                     attachInterface});
    registerCommand({"detach-interface", "detach network interface",
                     with({domain, {"type", OptKind::String, true, true, "network interface type"},
                           {"mac", OptKind::String, false, false, "MAC address"}}),
                     detachInterface});
    registerCommand({"domblklist", "list all domain blocks",
                     {domain, {"inactive", OptKind::Bool, false, false, "get inactive rather than running configuration"},
                      {"details", OptKind::Bool, false, false, "additionally display the type and device value"}},
                     domblklist});
    registerCommand({"detach-disk", "detach disk device",
                     with({domain, {"target", OptKind::String, true, true, "target of disk device"}}), detachDisk});
}

}  // namespace corral::cli
