// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainManager: devices added to and removed from a domain (virsh attach-device, detach-device,
// attach-disk, detach-disk), in the live definition, the persistent one, or both.
#include "drivers/common/domain_manager.hpp"

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

/// The one device element of an attach or detach request. Disks only, for now.
Result<conf::XmlNode> parseDevice(const std::string& xml) {
    CORRAL_ASSIGN_OR_RETURN(conf::XmlNode device, conf::parseXmlDocument(xml, "(device_definition)"));
    if (device.name != "disk") {
        return fail(ErrorCode::ConfigUnsupported,
                    "<" + device.name + ">: only disks can be attached and detached so far", ErrorDomain::Domain);
    }
    if (device.childAttr("target", "dev").empty()) {
        return fail(ErrorCode::XmlError, "missing <target dev='...'/> in <disk>", ErrorDomain::Domain);
    }
    conf::fillDiskDefaults(device);
    return device;
}

/// The <disk> of `def` with target `target`.
std::vector<conf::XmlNode>::const_iterator findDisk(const conf::DomainDef& def, const std::string& target) {
    return std::find_if(def.devices.begin(), def.devices.end(),
                        [&](const conf::XmlNode& dev) { return conf::isDiskWithTarget(dev, target); });
}

}  // namespace

Result<void> DomainManager::attachDevice(const DomainRef& ref, const std::string& xml, unsigned flags) {
    CORRAL_ASSIGN_OR_RETURN(conf::XmlNode device, parseDevice(xml));
    const std::string target = device.childAttr("target", "dev");
    auto add = [&](conf::DomainDef& def, bool live) -> Result<void> {
        if (findDisk(def, target) != def.devices.end()) {
            return fail(ErrorCode::OperationInvalid, "target " + target + " already exists", ErrorDomain::Domain);
        }
        def.devices.push_back(device);
        // The new disk takes a free place among those the definition keeps; no other moves.
        CORRAL_TRY(backend_->completeDefinition(def, live));
        return backend_->checkDefinition(def);  // what the guest could not start with is refused now
    };
    auto plug = [&](objects::DomainObj& dom, conf::DomainDef& newLive) -> Result<void> {
        auto it = std::find_if(newLive.devices.begin(), newLive.devices.end(),
                               [&](const conf::XmlNode& dev) { return conf::isDiskWithTarget(dev, target); });
        if (it == newLive.devices.end()) {
            return fail(ErrorCode::InternalError, "attached disk " + target + " missing from the new definition");
        }
        return backend_->attachDevice(dom, *it, newLive);
    };
    auto announce = [&](const DomainObjPtr& dom, const conf::DomainDef&, const conf::DomainDef&) {
        DomainEvent ev;
        ev.dom = refOf(*dom);
        ev.eventId = event_id::kDeviceAdded;
        ev.devAlias = backend_->deviceAlias(device);
        events_.emit(ev);
    };
    return changeDefinition(ref, flags, "domainAttachDeviceFlags", add, plug, announce);
}

Result<void> DomainManager::detachDevice(const DomainRef& ref, const std::string& xml, unsigned flags) {
    if ((flags & ~affect_flags::kAll) != 0) {
        return unsupportedFlags(flags, "domainDetachDeviceFlags");
    }
    CORRAL_ASSIGN_OR_RETURN(conf::XmlNode request, parseDevice(xml));
    const std::string target = request.childAttr("target", "dev");
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::unique_lock lock(dom->mutex());
    CORRAL_ASSIGN_OR_RETURN(const ChangeTargets targets, changeTargets(*dom, flags));
    const bool live = targets.live;
    const bool config = targets.config;
    // Both definitions must have the disk before either changes.
    auto missing = [&] { return fail(ErrorCode::DeviceMissing, "disk " + target + " not found", ErrorDomain::Domain); };
    const conf::DomainDef& persistent = dom->isActive() && dom->newDef ? *dom->newDef : *dom->def;
    if ((live && findDisk(*dom->def, target) == dom->def->devices.end()) ||
        (config && findDisk(persistent, target) == persistent.devices.end())) {
        return missing();
    }
    if (live) {
        CORRAL_TRY(dom->beginJob(lock, "domainDetachDeviceFlags"));
        objects::JobGuard guard(*dom);
        auto it = findDisk(*dom->def, target);
        if (it == dom->def->devices.end()) {
            return missing();  // gone while we waited for the job
        }
        const conf::XmlNode disk = *it;
        const std::string alias = backend_->deviceAlias(disk);
        // The backend reports the removal through guestDeviceRemoved, which takes the lock.
        lock.unlock();
        auto asked = backend_->detachDevice(*dom, disk, alias, kDetachWait);
        lock.lock();
        if (!asked) {
            return std::move(asked).withContext("domain '" + dom->name() + "'");
        }
    }
    lock.unlock();
    if (config) {
        auto remove = [&](conf::DomainDef& def, bool) -> Result<void> {
            auto it = findDisk(def, target);
            if (it == def.devices.end()) {
                return missing();
            }
            def.devices.erase(it);
            return {};
        };
        CORRAL_TRY(changeDefinition(ref, affect_flags::kConfig, "domainDetachDeviceFlags", remove, nullptr));
    }
    return {};
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
                           [&](const conf::XmlNode& dev) { return dev.name == "disk" && backend_->deviceAlias(dev) == alias; });
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
