// SPDX-License-Identifier: LGPL-2.1-or-later
// Post-parse: the defaults libvirt fills in after parsing.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "conf/domain_def.hpp"

namespace corral::conf {

namespace {

std::string formatMac(std::uint32_t r) {
    char buf[18];
    // 52:54:00 is the locally administered prefix libvirt and QEMU use for guests.
    std::snprintf(buf, sizeof buf, "52:54:00:%02x:%02x:%02x", (r >> 16) & 0xff, (r >> 8) & 0xff, r & 0xff);
    return buf;
}


/// libvirt pairs the first console with a serial port on hvm guests: a console of target type
/// serial gets a matching <serial> when none exists, and both carry port 0.
void pairConsoles(DomainDef& def) {
    bool hvm = def.os.type == "hvm";
    bool hasSerial = false;
    for (const auto& d : def.devices) {
        hasSerial = hasSerial || d.name == "serial";
    }
    std::vector<XmlNode> added;
    for (auto& d : def.devices) {
        if (d.name != "console") {
            continue;
        }
        XmlNode* target = d.child("target");
        if (target == nullptr) {
            XmlNode t;
            t.name = "target";
            d.children.push_back(std::move(t));
            target = &d.children.back();
        }
        if (target->attr("type") == nullptr) {
            target->setAttr("type", def.type == "lxc" ? "lxc" : (hvm ? "serial" : "virtio"));
        }
        if (target->attr("port") == nullptr) {
            target->setAttr("port", "0");
        }
        if (hvm && *target->attr("type") == "serial" && !hasSerial) {
            XmlNode serial = d;
            serial.name = "serial";
            XmlNode* st = serial.child("target");
            st->removeAttr("type");
            added.push_back(std::move(serial));
            hasSerial = true;
        }
    }
    for (auto& s : added) {
        def.devices.push_back(std::move(s));
    }
}

/// libvirt's boot order rule for hvm guests: either <os><boot dev> or per-device <boot order>,
/// never both; with neither, the guest boots from its first disk (<boot dev='hd'/> is added, so
/// the QEMU driver gives that disk bootindex 1 and the firmware boots nothing else).
Result<void> defaultBootOrder(DomainDef& def) {
    if (def.os.type != "hvm") {
        return {};
    }
    bool deviceBoot = false;
    for (const auto& d : def.devices) {
        deviceBoot = deviceBoot || d.child("boot") != nullptr;
    }
    const bool osBoot = std::any_of(def.os.elements.begin(), def.os.elements.end(),
                                    [](const XmlNode& e) { return e.name == "boot"; });
    if (osBoot && deviceBoot) {
        return fail(ErrorCode::ConfigUnsupported, "per-device boot elements cannot be used together with os/boot elements");
    }
    if (osBoot || deviceBoot) {
        return {};
    }
    XmlNode boot;
    boot.name = "boot";
    boot.setAttr("dev", "hd");
    // Where libvirt formats it: after the kernel, initrd, command line and firmware elements.
    auto at = std::find_if(def.os.elements.begin(), def.os.elements.end(), [](const XmlNode& e) {
        return e.name == "bootmenu" || e.name == "smbios" || e.name == "bios" || e.name == "acpi";
    });
    def.os.elements.insert(at, std::move(boot));
    return {};
}

/// libvirt's rule for a PCI controller written without an index (virt-install writes its q35
/// root ports so): the root bus is index 0 (written or not), every other one takes the next
/// index after the highest PCI index before it in the definition.
void assignPciControllerIndexes(DomainDef& def) {
    long highest = -1;
    for (auto& dev : def.devices) {
        if (dev.name != "controller" || dev.attrOr("type") != "pci") {
            continue;
        }
        if (const std::string* index = dev.attr("index")) {
            highest = std::max(highest, std::strtol(index->c_str(), nullptr, 10));
            continue;
        }
        const std::string model = dev.attrOr("model");
        const long assigned = (model == "pci-root" || model == "pcie-root") ? 0 : std::max(highest, 0L) + 1;
        dev.setAttr("index", std::to_string(assigned));
        highest = std::max(highest, assigned);
    }
}

}  // namespace

void fillDiskDefaults(XmlNode& disk) {
    if (disk.attr("device") == nullptr) {
        // After type, where libvirt prints it.
        auto at = disk.attrs.begin();
        if (at != disk.attrs.end() && at->first == "type") {
            ++at;
        }
        disk.attrs.insert(at, {"device", "disk"});
    }
    XmlNode* target = disk.child("target");
    if (target == nullptr || target->attr("bus") != nullptr) {
        return;
    }
    const std::string dev = target->attrOr("dev");
    static const std::pair<const char*, const char*> kBusByPrefix[] = {
        {"hd", "ide"}, {"sd", "scsi"}, {"vd", "virtio"}, {"xvd", "xen"}, {"ubd", "uml"}, {"fd", "fdc"}};
    for (const auto& [prefix, bus] : kBusByPrefix) {
        if (dev.rfind(prefix, 0) == 0) {
            target->setAttr("bus", bus);
            return;
        }
    }
}

Result<void> assignMacs(DomainDef& def, const PostParseContext& ctx) {
    std::set<std::string> taken;
    for (const auto& m : def.macAddresses()) {
        taken.insert(m);
    }
    for (auto& d : def.devices) {
        if (d.name != "interface") {
            continue;
        }
        XmlNode* mac = d.child("mac");
        if (mac != nullptr && mac->attr("address") != nullptr) {
            continue;
        }
        std::string chosen;
        // 2^24 addresses: a free one is found in a few tries unless the host is absurdly full.
        for (int attempt = 0; attempt < 1000 && chosen.empty(); ++attempt) {
            std::string candidate = formatMac(ctx.random32 ? ctx.random32() : 0);
            if (taken.count(candidate) == 0 && !(ctx.macInUse && ctx.macInUse(candidate))) {
                chosen = candidate;
            }
        }
        if (chosen.empty()) {
            return fail(ErrorCode::InternalError, "cannot find a free MAC address for an interface");
        }
        taken.insert(chosen);
        if (mac == nullptr) {
            XmlNode node;
            node.name = "mac";
            d.children.insert(d.children.begin(), std::move(node));
            mac = &d.children.front();
        }
        mac->setAttr("address", chosen);
    }
    return {};
}

Result<void> postParseDomainDef(DomainDef& def, const PostParseContext& ctx) {
    if (def.uuid.isNull()) {
        def.uuid = ctx.generateUuid ? ctx.generateUuid() : Uuid::generate();
    }
    if (def.currentMemoryKiB == 0 || def.currentMemoryKiB > def.memoryKiB) {
        def.currentMemoryKiB = def.memoryKiB;
    }
    if (def.vcpus == 0 && def.element("vcpus") == nullptr) {
        def.vcpus = 1;
    }
    if (def.vcpuPlacement.empty()) {
        def.vcpuPlacement = "static";
    }
    if (def.os.type.empty()) {
        def.os.type = def.type == "lxc" ? "exe" : "hvm";
    }
    if (def.onPoweroff.empty()) {
        def.onPoweroff = "destroy";
    }
    if (def.onReboot.empty()) {
        def.onReboot = "restart";
    }
    if (def.onCrash.empty()) {
        def.onCrash = "destroy";
    }
    CORRAL_TRY(defaultBootOrder(def));
    CORRAL_TRY(assignMacs(def, ctx));
    pairConsoles(def);
    assignPciControllerIndexes(def);
    for (auto& dev : def.devices) {
        if (dev.name == "disk") {
            fillDiskDefaults(dev);
        }
    }
    return {};
}

}  // namespace corral::conf
