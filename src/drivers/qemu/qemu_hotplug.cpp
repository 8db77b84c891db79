// SPDX-License-Identifier: LGPL-2.1-or-later
// QemuBackend: disks attached to and detached from a running guest. QEMU is confined to the
// files it had at start (Landlock, a per-guest uid), so the daemon opens a new image itself and
// passes the descriptor in an fdset; the block nodes are named by target as at start, and the
// device gets the alias a start would give it.
#include "drivers/qemu/qemu_backend.hpp"

#include <fcntl.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>

#include "conf/domain_def.hpp"
#include "drivers/qemu/qemu_backend_runtime.hpp"
#include "drivers/qemu/qemu_command.hpp"
#include "drivers/qemu/qemu_command_builder.hpp"
#include "util/json.hpp"
#include "util/logging.hpp"
#include "util/unique_fd.hpp"

namespace corral::drivers::qemu {

namespace {

std::string nodeArgs(const std::string& node) {
    JsonWriter w;
    w.beginObject().key("node-name").value(node).endObject();
    return w.str();
}

/// The opaque text an image's fdset carries in QEMU (query-fdsets shows it).
std::string fdsetTag(const std::string& target) { return "corral-disk-" + target; }

/// The fdset tagged for `target`, asked of QEMU (after a daemon restart the map is empty).
std::optional<std::int64_t> taggedFdset(QmpMonitor& monitor, const std::string& target) {
    auto sets = monitor.execute("query-fdsets");
    if (!sets) {
        return std::nullopt;
    }
    for (const auto& set : sets->items()) {
        for (const auto& fd : set["fds"].items()) {
            if (fd["opaque"].asString() == fdsetTag(target)) {
                return set["fdset-id"].asInt();
            }
        }
    }
    return std::nullopt;
}

std::string fdsetArgs(std::int64_t fdset) {
    JsonWriter w;
    w.beginObject().key("fdset-id").value(fdset).endObject();
    return w.str();
}

}  // namespace

Unexpected failedTo(const std::string& what, const Error& error) {
    Error e = error;
    e.withContext(what);
    return unexpected(std::move(e));
}

std::string QemuBackend::deviceAlias(const conf::XmlNode& device) {
    if (device.name == "disk") {
        return diskDeviceAlias(device.childAttr("target", "dev"), device.childAttr("target", "bus"));
    }
    if (device.name == "interface") {
        return device.childAttr("alias", "name");  // given at start or at attach (qemu_interfaces.cpp)
    }
    return GuestBackend::deviceAlias(device);
}

std::string hotplugBus(const HotplugPlace& place, const conf::DomainDef& liveDef) {
    const bool q35 = detail::machineFamilyOf(liveDef.os.machine.empty() ? "pc" : liveDef.os.machine) ==
                     detail::MachineFamily::Q35;
    return place.bus != 0 ? "pci." + std::to_string(place.bus) : q35 ? "pcie.0" : "pci.0";
}

void recordPciAddress(conf::XmlNode& device, const HotplugPlace& place) {
    char busText[8], slotText[8];
    std::snprintf(busText, sizeof busText, "0x%02x", place.bus);
    std::snprintf(slotText, sizeof slotText, "0x%02x", place.slot);
    // Recorded in libvirt's full form whichever way the slot was chosen.
    std::erase_if(device.children, [](const conf::XmlNode& child) { return child.name == "address"; });
    device.children.push_back(conf::XmlNode{
        "address", {{"type", "pci"}, {"domain", "0x0000"}, {"bus", busText}, {"slot", slotText}, {"function", "0x0"}}, {}, {}, 0});
}

/// Where a device added to a running guest goes: the slot its <address type='pci'> asks for (the
/// definition's free place, given when the disk joined the live definition), when that slot of
/// the guest's root bus is free, else the lowest free slot (from query-pci). An address of all
/// zeros (or without a slot) asks for nothing, as in libvirt. A slot on a q35 pcie-root-port's
/// bus (slot 0) is the port's: QEMU refuses it if taken. Other addresses are refused.
Result<HotplugPlace> hotplugPciSlot(QmpMonitor& monitor, const conf::XmlNode& device, const std::string& what) {
    std::optional<long> wanted;
    if (const conf::XmlNode* address = device.child("address")) {
        CORRAL_ASSIGN_OR_RETURN(auto pci, conf::pciAddressOf(device));
        if (pci && pci->domain == 0 && pci->bus != 0 && pci->slot == 0 && pci->function == 0) {
            return HotplugPlace{pci->bus, 0};  // a root port's bus, placed at define
        }
        if (!pci || (!pci->unassigned() && (pci->domain != 0 || pci->bus != 0 || pci->function != 0 ||
                                            pci->slot < 1 || pci->slot > 31))) {
            std::string given;
            conf::formatXmlNode(*address, 0, given);
            given.pop_back();  // the newline
            return fail(ErrorCode::ConfigUnsupported,
                        what + ": " + given + ": a device added to a running guest can only ask for a PCI address on bus 0, slot 1 to "
                            "0x1f, function 0, or slot 0 of a pcie-root-port",
                        ErrorDomain::Qemu);
        }
        if (!pci->unassigned()) {
            wanted = pci->slot;
        }
    }
    CORRAL_ASSIGN_OR_RETURN(JsonValue buses, monitor.execute("query-pci"));
    std::map<std::int64_t, std::string> used;  // slot -> the device there
    for (const auto& bus : buses.items()) {
        if (bus["bus"].asInt(-1) != 0) {
            continue;
        }
        for (const auto& dev : bus["devices"].items()) {
            used[dev["slot"].asInt(-1)] = dev["qdev_id"].asString();
        }
    }
    if (wanted) {
        if (auto it = used.find(*wanted); it != used.end()) {
            char where[32];
            std::snprintf(where, sizeof where, "0000:00:%02lx.0", *wanted);
            // libvirt's words and error code (an XML error), which scripts may match.
            return fail(ErrorCode::XmlError,
                        std::string("Attempted double use of PCI Address ") + where + " (" + what +
                            (it->second.empty() ? std::string() : "; device '" + it->second + "' is there") +
                            ")",
                        ErrorDomain::Qemu);
        }
        return HotplugPlace{0, static_cast<unsigned>(*wanted)};
    }
    for (unsigned slot = 1; slot < 32; ++slot) {
        if (used.count(slot) == 0) {
            return HotplugPlace{0, slot};
        }
    }
    return fail(ErrorCode::OperationFailed, "no free PCI slot left on the guest's root bus", ErrorDomain::Qemu);
}

Result<void> QemuBackend::attachDevice(objects::DomainObj& dom, conf::XmlNode& disk,
                                       const conf::DomainDef& liveDef) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    if (disk.name == "interface") {
        return attachInterface(*rt, disk, liveDef);
    }
    const std::string target = disk.childAttr("target", "dev");
    const std::string alias = deviceAlias(disk);
    if (disk.attrOr("type", "file") != "file" || disk.attrOr("device", "disk") != "disk" ||
        alias.rfind("virtio-disk", 0) != 0) {
        return fail(ErrorCode::ConfigUnsupported,
                    "<disk> with target '" + target + "': only file disks on bus virtio can be added to a running guest",
                    ErrorDomain::Qemu);
    }
    if (disk.child("encryption") != nullptr) {
        // Not done yet: the passphrase would have to reach the running QEMU (a secret object
        // added through the monitor) before the disk's nodes.
        return fail(ErrorCode::ConfigUnsupported,
                    "<disk> with target '" + target +
                        "': an encrypted disk (<encryption>) cannot be added to a running guest yet; add it to "
                        "the definition and start the guest",
                    ErrorDomain::Qemu);
    }
    // The slot is chosen first and recorded in the definition: a restore or a daemon's restart
    // of the same state must put the disk where the guest found it.
    CORRAL_ASSIGN_OR_RETURN(HotplugPlace place, hotplugPciSlot(*rt->monitor, disk, "<disk> with target '" + target + "'"));
    const std::string source = conf::diskSourcePath(disk);
    const bool readonly = disk.child("readonly") != nullptr;
    UniqueFd image(::open(source.c_str(), (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY));
    if (!image) {
        return failErrno(errno, "cannot open disk image '" + source + "'");
    }
    // Tagged with the target, so a daemon started later finds the fdset to drop at detach.
    JsonWriter addArgs;
    addArgs.beginObject().key("opaque").value(fdsetTag(target)).endObject();
    CORRAL_ASSIGN_OR_RETURN(JsonValue added, rt->monitor->executeWithFd("add-fd", addArgs.str(), image.get()));
    const std::int64_t fdset = added["fdset-id"].asInt(-1);
    auto dropFdset = [&] { (void)rt->monitor->execute("remove-fd", fdsetArgs(fdset)); };
    auto nodes = planDiskNodes(disk, "/dev/fdset/" + std::to_string(fdset));
    if (!nodes) {
        dropFdset();
        return unexpected(std::move(nodes).error());
    }
    if (auto r = rt->monitor->execute("blockdev-add", nodes->storageJson); !r) {
        dropFdset();
        return failedTo("adding disk " + target, r.error());
    }
    auto dropStorage = [&] { (void)rt->monitor->execute("blockdev-del", nodeArgs(diskStorageNodeName(target))); };
    if (auto r = rt->monitor->execute("blockdev-add", nodes->formatJson); !r) {
        dropStorage();
        dropFdset();
        return failedTo("adding disk " + target, r.error());
    }
    char addr[8];
    std::snprintf(addr, sizeof addr, "0x%x", place.slot);
    const std::string bus = hotplugBus(place, liveDef);
    JsonWriter device;
    device.beginObject().key("driver").value("virtio-blk-pci").key("id").value(alias).key("drive").value(nodes->formatNode);
    device.key("bus").value(bus).key("addr").value(addr);
    if (nodes->shareable) {
        device.key("share-rw").value(true);
    }
    if (nodes->writeCache) {
        device.key("write-cache").value(*nodes->writeCache ? "on" : "off");
    }
    device.endObject();
    if (auto r = rt->monitor->execute("device_add", device.str()); !r) {
        (void)rt->monitor->execute("blockdev-del", nodeArgs(nodes->formatNode));
        dropStorage();
        dropFdset();
        return failedTo("adding disk " + target, r.error());
    }
    recordPciAddress(disk, place);
    std::lock_guard lock(rt->unplugMutex);
    rt->hotplugFdsets[target] = fdset;
    rt->hotplugDef = std::make_shared<const conf::DomainDef>(liveDef);
    return {};
}

Result<void> QemuBackend::detachDevice(objects::DomainObj& dom, const conf::XmlNode& disk, const std::string& alias,
                                       std::chrono::milliseconds wait) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    const bool nic = disk.name == "interface";
    const std::string target = disk.childAttr("target", "dev");
    const std::string what = nic ? "interface " + disk.childAttr("mac", "address") : "disk " + target;
    if (nic && alias.rfind("net", 0) != 0) {
        return fail(ErrorCode::InternalError, what + ": the running guest has no id for it", ErrorDomain::Qemu);
    }
    if (!nic && alias.rfind("virtio-disk", 0) != 0) {
        return fail(ErrorCode::ConfigUnsupported,
                    "<disk> with target '" + target + "': only disks on bus virtio can be removed from a running guest",
                    ErrorDomain::Qemu);
    }
    // A detach the guest has not finished yet is waited for again, not asked again (QEMU
    // refuses a second device_del while the first is pending).
    bool askedBefore = false;
    {
        std::lock_guard lock(rt->unplugMutex);
        auto it = rt->unplugs.find(alias);
        askedBefore = it != rt->unplugs.end();
        if (askedBefore) {
            it->second.waiterGone = false;
        } else {
            rt->unplugs[alias] = Runtime::Unplug{target};
        }
    }
    if (!askedBefore) {
        JsonWriter args;
        args.beginObject().key("id").value(alias).endObject();
        if (auto asked = rt->monitor->execute("device_del", args.str()); !asked) {
            std::lock_guard lock(rt->unplugMutex);
            rt->unplugs.erase(alias);
            return failedTo("removing " + what, asked.error());
        }
    }
    bool deleted = false;
    {
        std::unique_lock lock(rt->unplugMutex);
        deleted = rt->unplugged.wait_for(lock, wait, [&] { return rt->unplugs[alias].deleted; });
        if (deleted) {
            rt->unplugs.erase(alias);
        } else {
            rt->unplugs[alias].waiterGone = true;
        }
    }
    if (deleted) {
        finishUnplug(rt, alias, target);
    } else {
        logInfo(what + " of domain '" + rt->name + "': the guest has not released it yet; it goes when "
                "the guest does (device-removed event)");
    }
    return {};
}

void QemuBackend::onDeviceDeleted(const std::shared_ptr<Runtime>& rt, const std::string& alias) {
    std::string target;
    bool finishHere = false;
    {
        std::lock_guard lock(rt->unplugMutex);
        auto it = rt->unplugs.find(alias);
        if (it == rt->unplugs.end()) {
            // Not a removal we asked for in this daemon's life (the guest ejected it, or the
            // daemon restarted meanwhile): a disk of ours still goes, as libvirt does it.
            bool ours = false;
            if (auto def = rt->hotplugDef ? rt->hotplugDef : rt->securedDef) {
                for (const auto& dev : def->devices) {
                    if ((dev.name == "disk" || dev.name == "interface") && deviceAlias(dev) == alias) {
                        target = dev.childAttr("target", "dev");
                        ours = true;
                    }
                }
            }
            if (!ours) {
                return;  // no device of ours
            }
            finishHere = true;
        } else {
            it->second.deleted = true;
            if (it->second.waiterGone) {
                target = it->second.target;
                rt->unplugs.erase(it);
                finishHere = true;
            }
        }
    }
    rt->unplugged.notify_all();
    if (finishHere) {
        // Monitor commands cannot run on the monitor's own thread.
        post([this, rt, alias, target] { finishUnplug(rt, alias, target); });
    }
}

void QemuBackend::finishUnplug(const std::shared_ptr<Runtime>& rt, const std::string& alias, const std::string& target) {
    if (alias.rfind("net", 0) == 0) {
        finishInterfaceUnplug(*rt, alias);
        if (sink_ != nullptr) {
            sink_->guestDeviceRemoved(rt->uuid, alias);
        }
        return;
    }
    for (const std::string& node : {diskFormatNodeName(target), diskStorageNodeName(target)}) {
        if (auto r = rt->monitor->execute("blockdev-del", nodeArgs(node)); !r) {
            logWarning("domain '" + rt->name + "': cannot delete block node " + node + ": " + r.error().wireMessage());
        }
    }
    std::optional<std::int64_t> fdset;
    {
        std::lock_guard lock(rt->unplugMutex);
        if (auto it = rt->hotplugFdsets.find(target); it != rt->hotplugFdsets.end()) {
            fdset = it->second;
            rt->hotplugFdsets.erase(it);
        }
        // Events no longer name the disk (the manager drops it from the live definition next).
        if (const auto& base = rt->hotplugDef ? rt->hotplugDef : rt->securedDef) {
            auto def = std::make_shared<conf::DomainDef>(*base);
            std::erase_if(def->devices, [&](const conf::XmlNode& dev) { return conf::isDiskWithTarget(dev, target); });
            rt->hotplugDef = std::move(def);
        }
    }
    if (!fdset) {
        fdset = taggedFdset(*rt->monitor, target);  // attached before this daemon started
    }
    if (fdset) {
        (void)rt->monitor->execute("remove-fd", fdsetArgs(*fdset));
    }
    if (sink_ != nullptr) {
        sink_->guestDeviceRemoved(rt->uuid, alias);
    }
}

}  // namespace corral::drivers::qemu
