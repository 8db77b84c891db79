// SPDX-License-Identifier: LGPL-2.1-or-later
// QemuBackend: the guest's network interfaces on the host side. The daemon makes each tap
// itself (QEMU is confined and unprivileged): at start QEMU inherits the descriptors; for an
// interface added to a running guest the descriptor goes over the monitor socket (getfd, with
// SCM_RIGHTS) before netdev_add and device_add. Each interface carries its QEMU id in the live
// definition (<alias name='netN'/>, as libvirt shows it), so one added or removed later never
// renames another.
#include <strings.h>

#include <set>

#include "conf/domain_def.hpp"
#include "drivers/common/interface_bridge.hpp"
#include "drivers/qemu/qemu_backend.hpp"
#include "drivers/qemu/qemu_backend_runtime.hpp"
#include "drivers/qemu/qemu_command_builder.hpp"
#include "host/netdev.hpp"
#include "util/json.hpp"
#include "util/logging.hpp"

namespace corral::drivers::qemu {

namespace {

void setAlias(conf::XmlNode& iface, const std::string& alias) {
    if (conf::XmlNode* node = iface.child("alias")) {
        node->setAttr("name", alias);
        return;
    }
    iface.children.push_back(conf::XmlNode{"alias", {{"name", alias}}, {}, {}, 0});
}

std::string idArgs(const char* key, const std::string& id) {
    JsonWriter w;
    w.beginObject().key(key).value(id).endObject();
    return w.str();
}

/// "<interface type='bridge'> with MAC 52:54:00:..": how messages name an interface.
std::string interfaceWhere(const conf::XmlNode& iface) {
    return "<interface type='" + iface.attrOr("type") + "'> with MAC " + iface.childAttr("mac", "address");
}

}  // namespace

void QemuBackend::nameInterfaces(conf::DomainDef& liveDef, bool renumber) {
    std::size_t index = 0;
    for (auto& dev : liveDef.devices) {
        if (dev.name != "interface") {
            continue;
        }
        // The command line numbers interfaces in document order (CommandBuilder::addInterface).
        if (renumber || dev.childAttr("alias", "name").empty()) {
            setAlias(dev, "net" + std::to_string(index));
        }
        ++index;
    }
}

Result<UniqueFd> QemuBackend::prepareTap(conf::XmlNode& dev) {
    const std::string type = dev.attrOr("type");
    const std::string mac = dev.childAttr("mac", "address");
    std::string bridge;
    if (type == "bridge" || type == "network") {
        CORRAL_ASSIGN_OR_RETURN(bridge, interfaceBridge(dev, networkBridge_, ErrorDomain::Qemu));
    }
    if (type != "bridge" && type != "ethernet" && type != "network") {
        return UniqueFd();  // user networking needs no host device
    }
    conf::XmlNode* target = dev.child("target");
    std::string wanted = target && target->attr("dev") ? *target->attr("dev") : "vnet%d";
    // The tap lives while a descriptor is open: every failure below leaves nothing behind.
    CORRAL_ASSIGN_OR_RETURN(host::TapDevice tap, host::createTap(wanted));
    if (mac.size() == 17) {
        // The host side gets the guest's MAC with 0xfe first, as libvirt does, so the bridge
        // never learns the guest's own address on the tap.
        CORRAL_TRY(host::setInterfaceMac(tap.name, "fe" + mac.substr(2)));
    }
    if (!bridge.empty()) {
        CORRAL_TRY(host::attachToBridge(bridge, tap.name));
    }
    CORRAL_TRY(host::setInterfaceUp(tap.name));
    if (target == nullptr) {
        dev.children.push_back(conf::XmlNode{"target", {}, {}, {}});
        target = &dev.children.back();
    }
    target->setAttr("dev", tap.name);
    return std::move(tap.fd);
}

Result<std::vector<UniqueFd>> QemuBackend::prepareTaps(conf::DomainDef& liveDef) {
    nameInterfaces(liveDef, true);
    std::vector<UniqueFd> fds;
    for (auto& dev : liveDef.devices) {
        if (dev.name == "interface") {
            CORRAL_ASSIGN_OR_RETURN(UniqueFd fd, prepareTap(dev));
            fds.push_back(std::move(fd));
        }
    }
    return fds;
}

Result<void> QemuBackend::attachInterface(Runtime& rt, conf::XmlNode& iface, const conf::DomainDef& liveDef) {
    const std::string type = iface.attrOr("type");
    const std::string mac = iface.childAttr("mac", "address");
    const std::string where = interfaceWhere(iface);
    if (type != "bridge" && type != "network" && type != "ethernet" && type != "user") {
        return fail(ErrorCode::ConfigUnsupported,
                    where + ": only interfaces of type network, bridge, ethernet or user can be added to a running guest",
                    ErrorDomain::Qemu);
    }
    if (iface.childAttr("link", "state") == "down") {
        return fail(ErrorCode::ConfigUnsupported,
                    where + ": <link state='down'> cannot be given to an interface added to a running guest; add it "
                            "with its link up and take the link down with update-device",
                    ErrorDomain::Qemu);
    }
    const auto family = detail::machineFamilyOf(liveDef.os.machine.empty() ? "pc" : liveDef.os.machine);
    std::string model = iface.childAttr("model", "type");
    if (model.empty()) {
        model = "rtl8139";  // the default at start (CommandBuilder::addInterface)
    }
    if (family == detail::MachineFamily::Microvm || (model != "virtio" && model != "e1000" && model != "rtl8139" &&
                                                     !(model == "e1000e" && family == detail::MachineFamily::Q35))) {
        return fail(ErrorCode::ConfigUnsupported,
                    where + ": <model type='" + model +
                        "'> cannot be added to a running guest (virtio, e1000, rtl8139, and e1000e on q35)",
                    ErrorDomain::Qemu);
    }
    // The lowest id no other interface of the live definition has (one the guest has not let
    // go of yet keeps its id until it does).
    std::set<std::string> taken;
    for (const auto& dev : liveDef.devices) {
        if (dev.name == "interface" && &dev != &iface) {
            taken.insert(dev.childAttr("alias", "name"));
        }
    }
    std::size_t n = 0;
    while (taken.count("net" + std::to_string(n)) != 0) {
        ++n;
    }
    const std::string id = "net" + std::to_string(n);
    const std::string netdev = "host" + id;
    const std::string fdName = "fd-" + netdev;

    CORRAL_ASSIGN_OR_RETURN(HotplugPlace place, hotplugPciSlot(*rt.monitor, iface, where));
    JsonWriter netdevArgs;
    if (type == "user") {
        // QEMU's own user-mode stack, inside the confined process: no host device to make.
        netdevArgs.beginObject().key("type").value("user").key("id").value(netdev).endObject();
        if (auto r = rt.monitor->execute("netdev_add", netdevArgs.str()); !r) {
            return failedTo("adding interface " + mac, r.error());
        }
    } else {
        // Made exactly as at start: the tap, its MAC, its bridge (a network's must be active).
        CORRAL_ASSIGN_OR_RETURN(UniqueFd tap, prepareTap(iface));
        if (auto r = rt.monitor->executeWithFd("getfd", idArgs("fdname", fdName), tap.get()); !r) {
            return failedTo("adding interface " + mac, r.error());
        }
        netdevArgs.beginObject().key("type").value("tap").key("id").value(netdev).key("fd").value(fdName).endObject();
        if (auto r = rt.monitor->execute("netdev_add", netdevArgs.str()); !r) {
            (void)rt.monitor->execute("closefd", idArgs("fdname", fdName));
            return failedTo("adding interface " + mac, r.error());
        }
    }
    // QEMU holds the tap now (ours closed above), and QEMU's closes with the netdev.
    char addr[8];
    std::snprintf(addr, sizeof addr, "0x%x", place.slot);
    const std::string driver = model == "virtio" ? "virtio-net-pci" : model;
    JsonWriter device;
    device.beginObject().key("driver").value(driver).key("netdev").value(netdev).key("id").value(id);
    device.key("mac").value(mac).key("bus").value(hotplugBus(place, liveDef)).key("addr").value(addr).endObject();
    if (auto r = rt.monitor->execute("device_add", device.str()); !r) {
        (void)rt.monitor->execute("netdev_del", idArgs("id", netdev));
        return failedTo("adding interface " + mac, r.error());
    }
    recordPciAddress(iface, place);
    setAlias(iface, id);
    std::lock_guard lock(rt.unplugMutex);
    rt.hotplugDef = std::make_shared<const conf::DomainDef>(liveDef);
    return {};
}

void QemuBackend::finishInterfaceUnplug(Runtime& rt, const std::string& alias) {
    // The netdev holds the tap's last descriptor: deleting it deletes the tap.
    if (auto r = rt.monitor->execute("netdev_del", idArgs("id", "host" + alias)); !r) {
        logWarning("domain '" + rt.name + "': cannot delete netdev host" + alias + ": " + r.error().wireMessage());
    }
    std::lock_guard lock(rt.unplugMutex);
    if (const auto& base = rt.hotplugDef ? rt.hotplugDef : rt.securedDef) {
        auto def = std::make_shared<conf::DomainDef>(*base);
        std::erase_if(def->devices, [&](const conf::XmlNode& dev) {
            return dev.name == "interface" && dev.childAttr("alias", "name") == alias;
        });
        rt.hotplugDef = std::move(def);
    }
}

}  // namespace corral::drivers::qemu
