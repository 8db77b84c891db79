// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainManager: devices added to and removed from a domain (virsh attach-device, detach-device,
// attach-disk, detach-disk), in the live definition, the persistent one, or both.
#include "drivers/common/domain_manager.hpp"

#include <strings.h>

#include <algorithm>

#include "conf/domain_def.hpp"
#include "conf/xml_node.hpp"
#include "drivers/common/domain_manager_errors.hpp"

namespace corral::drivers {

using objects::DomainObjPtr;

namespace {

/// How long a live detach waits for the guest to let go of the device before it returns (the
/// removal then completes when the guest gets to it), as libvirt's QEMU driver does.
constexpr std::chrono::milliseconds kDetachWait{5000};

/// VIR_DOMAIN_DEVICE_MODIFY_FORCE: eject a locked cdrom tray (nothing more to do here).
constexpr unsigned kUpdateForce = 4;

/// The one device element of an attach or detach request: a <disk> (known by its target) or
/// an <interface> (known by its MAC).
Result<conf::XmlNode> parseDevice(const std::string& xml) {
    CORRAL_ASSIGN_OR_RETURN(conf::XmlNode device, conf::parseXmlDocument(xml, "(device_definition)"));
    if (device.name == "interface") {
        return device;
    }
    if (device.name != "disk") {
        return fail(ErrorCode::ConfigUnsupported,
                    "<" + device.name + ">: only disks and interfaces can be attached and detached so far",
                    ErrorDomain::Domain);
    }
    if (device.childAttr("target", "dev").empty()) {
        return fail(ErrorCode::XmlError, "missing <target dev='...'/> in <disk>", ErrorDomain::Domain);
    }
    conf::fillDiskDefaults(device);
    return device;
}

/// How messages name the device of a request: "disk vdb", "interface 52:54:00:00:00:01".
std::string deviceName(const conf::XmlNode& device) {
    if (device.name == "interface") {
        const std::string mac = device.childAttr("mac", "address");
        return mac.empty() ? std::string("interface") : "interface " + mac;
    }
    return "disk " + device.childAttr("target", "dev");
}

/// The device of `def` that `request` names: a disk with its target; an interface with its MAC
/// (case aside), or the only interface when the request gives none. end() when there is none,
/// or when a MAC-less request matches several.
std::vector<conf::XmlNode>::const_iterator findDevice(const conf::DomainDef& def, const conf::XmlNode& request) {
    if (request.name == "disk") {
        const std::string target = request.childAttr("target", "dev");
        return std::find_if(def.devices.begin(), def.devices.end(),
                            [&](const conf::XmlNode& dev) { return conf::isDiskWithTarget(dev, target); });
    }
    const std::string mac = request.childAttr("mac", "address");
    auto found = def.devices.end();
    for (auto it = def.devices.begin(); it != def.devices.end(); ++it) {
        if (it->name != "interface" ||
            (!mac.empty() && strcasecmp(it->childAttr("mac", "address").c_str(), mac.c_str()) != 0)) {
            continue;
        }
        if (found != def.devices.end()) {
            return def.devices.end();  // several without a MAC to tell them apart
        }
        found = it;
    }
    return found;
}

/// The refusal of a request whose device the definition does not have (libvirt's words for
/// interfaces: "no device matching MAC address ... found").
Unexpected missingDevice(const conf::XmlNode& request) {
    if (request.name == "interface") {
        const std::string mac = request.childAttr("mac", "address");
        return fail(ErrorCode::DeviceMissing,
                    mac.empty() ? std::string("no single interface matches: give the <mac address> of the one to "
                                              "detach")
                                : "no device matching MAC address " + mac + " found",
                    ErrorDomain::Domain);
    }
    return fail(ErrorCode::DeviceMissing, "disk " + request.childAttr("target", "dev") + " not found",
                ErrorDomain::Domain);
}

}  // namespace

Result<void> DomainManager::attachDevice(const DomainRef& ref, const std::string& xml, unsigned flags) {
    CORRAL_ASSIGN_OR_RETURN(conf::XmlNode device, parseDevice(xml));
    if (device.name == "interface") {
        CORRAL_TRY(prepareAttachedInterface(ref, device));
    }
    auto add = [&](conf::DomainDef& def, bool live) -> Result<void> {
        if (findDevice(def, device) != def.devices.end()) {
            if (device.name == "interface") {
                return fail(ErrorCode::OperationInvalid,
                            "interface with MAC address " + device.childAttr("mac", "address") + " already exists",
                            ErrorDomain::Domain);
            }
            return fail(ErrorCode::OperationInvalid, "target " + device.childAttr("target", "dev") + " already exists",
                        ErrorDomain::Domain);
        }
        def.devices.push_back(device);
        // The new device takes a free place among those the definition keeps; no other moves.
        CORRAL_TRY(backend_->completeDefinition(def, live));
        return backend_->checkDefinition(def);  // what the guest could not start with is refused now
    };
    auto plug = [&](objects::DomainObj& dom, conf::DomainDef& newLive) -> Result<void> {
        auto found = findDevice(newLive, device);
        if (found == newLive.devices.end()) {
            return fail(ErrorCode::InternalError, deviceName(device) + ": missing from the new definition");
        }
        return backend_->attachDevice(dom, newLive.devices[static_cast<std::size_t>(found - newLive.devices.begin())],
                                      newLive);
    };
    auto announce = [&](const DomainObjPtr& dom, const conf::DomainDef&, const conf::DomainDef& after) {
        // The alias is the one the backend gave the device in the live definition.
        auto found = findDevice(after, device);
        DomainEvent ev;
        ev.dom = refOf(*dom);
        ev.eventId = event_id::kDeviceAdded;
        ev.devAlias = backend_->deviceAlias(found != after.devices.end() ? *found : device);
        events_.emit(ev);
    };
    return changeDefinition(ref, flags, "domainAttachDeviceFlags", add, plug, announce);
}

Result<void> DomainManager::prepareAttachedInterface(const DomainRef& ref, conf::XmlNode& iface) {
    const std::string type = iface.attrOr("type");
    if (type.empty()) {
        return fail(ErrorCode::XmlError, "missing type attribute in <interface>", ErrorDomain::Domain);
    }
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    Uuid self;
    {
        std::lock_guard lock(dom->mutex());
        self = dom->def->uuid;
    }
    if (iface.childAttr("mac", "address").empty()) {
        // A MAC made as at define: free on the whole host. Made once, so a --live --config
        // attach puts the same interface in both definitions.
        conf::DomainDef one;
        one.devices.push_back(iface);
        CORRAL_TRY(conf::assignMacs(one, postParseContext()));
        iface = std::move(one.devices.front());
        return {};
    }
    // Checked here, outside the domain's lock: the search takes every domain's lock in turn.
    const std::string mac = iface.childAttr("mac", "address");
    const std::string owner = options_.macOwnerOnHost ? options_.macOwnerOnHost(mac, self) : std::string();
    if (!owner.empty()) {
        return fail(ErrorCode::OperationInvalid,
                    "interface with MAC address " + mac + ": the MAC address is already used by domain '" + owner + "'",
                    ErrorDomain::Domain);
    }
    return {};
}

Result<void> DomainManager::detachDevice(const DomainRef& ref, const std::string& xml, unsigned flags) {
    if ((flags & ~affect_flags::kAll) != 0) {
        return unsupportedFlags(flags, "domainDetachDeviceFlags");
    }
    CORRAL_ASSIGN_OR_RETURN(conf::XmlNode request, parseDevice(xml));
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::unique_lock lock(dom->mutex());
    CORRAL_ASSIGN_OR_RETURN(const ChangeTargets targets, changeTargets(*dom, flags));
    const bool live = targets.live;
    const bool config = targets.config;
    // Both definitions must have the device before either changes.
    const conf::DomainDef& persistent = dom->isActive() && dom->newDef ? *dom->newDef : *dom->def;
    if ((live && findDevice(*dom->def, request) == dom->def->devices.end()) ||
        (config && findDevice(persistent, request) == persistent.devices.end())) {
        return missingDevice(request);
    }
    if (live) {
        CORRAL_TRY(dom->beginJob(lock, "domainDetachDeviceFlags"));
        objects::JobGuard guard(*dom);
        auto it = findDevice(*dom->def, request);
        if (it == dom->def->devices.end()) {
            return missingDevice(request);  // gone while we waited for the job
        }
        const conf::XmlNode device = *it;
        const std::string alias = backend_->deviceAlias(device);
        // The backend reports the removal through guestDeviceRemoved, which takes the lock.
        lock.unlock();
        auto asked = backend_->detachDevice(*dom, device, alias, kDetachWait);
        lock.lock();
        if (!asked) {
            return std::move(asked).withContext("domain '" + dom->name() + "'");
        }
    }
    lock.unlock();
    if (config) {
        auto remove = [&](conf::DomainDef& def, bool) -> Result<void> {
            auto it = findDevice(def, request);
            if (it == def.devices.end()) {
                return missingDevice(request);
            }
            def.devices.erase(it);
            return {};
        };
        CORRAL_TRY(changeDefinition(ref, affect_flags::kConfig, "domainDetachDeviceFlags", remove, nullptr));
    }
    return {};
}

namespace {

/// The device of `def` that an update request `request` names: an <interface> by its MAC (or
/// the only interface when the request has none), a cdrom or floppy <disk> by its target.
Result<std::vector<conf::XmlNode>::const_iterator> findUpdated(const conf::DomainDef& def, const conf::XmlNode& request) {
    if (request.name == "interface") {
        const std::string mac = request.childAttr("mac", "address");
        std::vector<std::vector<conf::XmlNode>::const_iterator> found;
        for (auto it = def.devices.begin(); it != def.devices.end(); ++it) {
            if (it->name == "interface" && (mac.empty() || strcasecmp(it->childAttr("mac", "address").c_str(), mac.c_str()) == 0)) {
                found.push_back(it);
            }
        }
        if (found.size() == 1) {
            return found.front();
        }
        if (found.empty()) {
            return fail(ErrorCode::DeviceMissing,
                        mac.empty() ? std::string("no interface found") : "no interface with MAC address " + mac + " found",
                        ErrorDomain::Domain);
        }
        return fail(ErrorCode::OperationFailed, "several interfaces match: give the <mac address> of the one to update",
                    ErrorDomain::Domain);
    }
    if (request.name == "disk") {
        const std::string target = request.childAttr("target", "dev");
        const std::string kind = request.attrOr("device", "disk");
        if (kind != "cdrom" && kind != "floppy") {
            return fail(ErrorCode::OperationUnsupported,
                        "disk '" + target + "': only the media of a cdrom or floppy can be changed (device='" + kind +
                            "')",
                        ErrorDomain::Domain);
        }
        auto it = findDevice(def, request);
        if (it == def.devices.end()) {
            return missingDevice(request);
        }
        return it;
    }
    return fail(ErrorCode::OperationUnsupported, "<" + request.name + ">: only interfaces and cdrom or floppy disks can be "
                "updated", ErrorDomain::Domain);
}

/// `dev` as text without the children in `ignored`, to compare two forms of one device.
std::string formWithout(conf::XmlNode dev, std::initializer_list<std::string_view> ignored) {
    std::erase_if(dev.children, [&](const conf::XmlNode& child) {
        return std::find(ignored.begin(), ignored.end(), child.name) != ignored.end();
    });
    std::string text;
    conf::formatXmlNode(dev, 0, text);
    return text;
}

}  // namespace

Result<void> DomainManager::updateDevice(const DomainRef& ref, const std::string& xml, unsigned flags) {
    if ((flags & ~(affect_flags::kAll | kUpdateForce)) != 0) {
        return unsupportedFlags(flags, "domainUpdateDeviceFlags");
    }
    flags &= affect_flags::kAll;
    CORRAL_ASSIGN_OR_RETURN(conf::XmlNode request, conf::parseXmlDocument(xml, "(device_definition)"));
    if (request.name == "disk") {
        conf::fillDiskDefaults(request);
    }
    auto replace = [&](conf::DomainDef& def, bool live) -> Result<void> {
        CORRAL_ASSIGN_OR_RETURN(auto it, findUpdated(def, request));
        auto& slot = def.devices[static_cast<std::size_t>(it - def.devices.begin())];
        conf::XmlNode updated = request;
        // The place the definition gave the device stays, whatever the request says of it.
        std::erase_if(updated.children, [](const conf::XmlNode& child) { return child.name == "address"; });
        for (const auto& child : slot.children) {
            if (child.name == "address") {
                updated.children.push_back(child);
            }
        }
        if (live) {
            // What a running guest's driver can change: an interface's link state; the rest of
            // the device must stay as it is (the live definition's runtime parts, <target dev>
            // of a tap and <alias>, may be left out of the request).
            const bool sameRest = request.name == "interface" &&
                                  formWithout(slot, {"link", "address", "alias", "target"}) ==
                                      formWithout(updated, {"link", "address", "alias", "target"});
            if (!sameRest) {
                std::string what = request.name == "interface"
                                       ? "interface " + slot.childAttr("mac", "address") + ": only its link state"
                                       : "disk " + slot.childAttr("target", "dev") + ": nothing";
                return fail(ErrorCode::OperationUnsupported, what + " can be changed on a running guest",
                            ErrorDomain::Domain);
            }
            for (const auto& child : slot.children) {
                if (child.name == "target" || child.name == "alias") {
                    std::erase_if(updated.children, [&](const conf::XmlNode& c) { return c.name == child.name; });
                    updated.children.push_back(child);
                }
            }
        }
        slot = std::move(updated);
        return backend_->checkDefinition(def);
    };
    auto apply = [&](objects::DomainObj& dom, conf::DomainDef& newLive) -> Result<void> {
        std::shared_ptr<const conf::DomainDef> before;
        {
            std::lock_guard lock(dom.mutex());
            before = dom.def;
        }
        auto it = findUpdated(newLive, request);
        auto old = findUpdated(*before, request);
        if (!it || !old) {
            return fail(ErrorCode::InternalError, "updated device missing from the definition");
        }
        return backend_->updateDevice(dom, **it, **old);
    };
    return changeDefinition(ref, flags, "domainUpdateDeviceFlags", replace, apply);
}

void DomainManager::guestDeviceRemoved(const Uuid& uuid, const std::string& alias) {
    DomainObjPtr dom = domains_.findByUuid(uuid);
    if (!dom) {
        return;
    }
    std::lock_guard lock(dom->mutex());
    if (!dom->isActive()) {
        return;
    }
    auto def = std::make_shared<conf::DomainDef>(*dom->def);
    auto it = std::find_if(def->devices.begin(), def->devices.end(),
                           [&](const conf::XmlNode& dev) {
                               return (dev.name == "disk" || dev.name == "interface") && backend_->deviceAlias(dev) == alias;
                           });
    if (it == def->devices.end()) {
        return;  // not a device we track (or already gone)
    }
    def->devices.erase(it);
    dom->def = std::move(def);
    saveStatusLocked(dom);
    DomainEvent ev;
    ev.dom = refOf(*dom);
    ev.eventId = event_id::kDeviceRemoved;
    ev.devAlias = alias;
    events_.emit(ev);
}

}  // namespace corral::drivers
