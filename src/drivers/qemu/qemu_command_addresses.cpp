// SPDX-License-Identifier: LGPL-2.1-or-later
// Where a device goes on a QEMU command line: PCI slots on the root bus, USB ports, disk drive
// addresses, the controllers' own places. Every address a definition gives is honoured or
// refused, never ignored.
#include <cstdio>

#include "drivers/qemu/qemu_command_builder.hpp"

namespace corral::drivers::qemu::detail {

Result<void> CommandBuilder::planControllerAddresses() {
    for (const auto& dev : def_.devices) {
        if (dev.name != "controller" || dev.child("address") == nullptr) {
            continue;
        }
        const std::string type = dev.attrOr("type"), index = dev.attrOr("index", "0"), model = dev.attrOr("model");
        const std::string where = "<controller type='" + type + "' index='" + index + "'> <address>";
        if (dev.childAttr("address", "type") != "pci") {
            return unsupported(where + ": a controller takes a PCI address here");
        }
        CORRAL_ASSIGN_OR_RETURN(auto pci, conf::pciAddressOf(dev));
        if (!pci || pci->unassigned()) {
            continue;
        }
        auto at = [&](unsigned slot, unsigned function) {
            return pci->domain == 0 && pci->bus == 0 && pci->slot == slot && pci->function == function;
        };
        const bool pc = machine_.family == MachineFamily::I440fx, q35 = machine_.family == MachineFamily::Q35;
        if ((pc && type == "ide" && at(1, 1)) || (q35 && type == "sata" && at(0x1f, 2))) {
            continue;  // the machine's own controller, where the machine has it
        }
        // The controllers Corral adds: USB (pc's UHCI at PIIX3's function 1.2, as libvirt places
        // it), SCSI, virtio-serial, pc's AHCI, q35's root ports.
        if (type != "usb" && type != "scsi" && type != "virtio-serial" && !(pc && type == "sata") &&
            !(type == "pci" && model == "pcie-root-port")) {
            return unsupported(where + ": the " + type + " controller is the machine's own and stays where it is");
        }
        // A companion shares its EHCI's index: each is placed by its model.
        const std::string key = type + index + (model.starts_with("ich9-uhci") ? model : std::string());
        CORRAL_ASSIGN_OR_RETURN(controllerPlace_[key], pciPlacement(dev));
    }
    return {};
}

bool CommandBuilder::hasRootPort(unsigned bus) const {
    for (const auto& dev : def_.devices) {
        if (dev.name == "controller" && dev.attrOr("type") == "pci" && dev.attrOr("model") == "pcie-root-port" &&
            dev.attrOr("index") == std::to_string(bus)) {
            return true;
        }
    }
    return false;
}

Result<CommandBuilder::Placement> CommandBuilder::pciPlacement(const conf::XmlNode& device) const {
    const conf::XmlNode* address = device.child("address");
    if (address == nullptr) {
        return Placement();
    }
    const std::string where = "<" + device.name + "> <address type='" + address->attrOr("type") + "'>";
    if (address->attrOr("type") != "pci") {
        return unsupported(where + ": a PCI device takes a PCI address here");
    }
    CORRAL_ASSIGN_OR_RETURN(auto pci, conf::pciAddressOf(device));
    const std::string multifunction = address->attrOr("multifunction", "off");
    if (multifunction != "on" && multifunction != "off") {
        return unsupported(where + ": multifunction='" + multifunction + "' must be 'on' or 'off'");
    }
    if (!pci || pci->unassigned()) {
        // A definition stored before addresses were kept (QemuBackend gives a start's one
        // addresses; a restore keeps the layout of its saved state): QEMU's next free slot.
        return Placement();
    }
    if (machine_.family == MachineFamily::Microvm) {
        return unsupported(where + ": machine 'microvm' has no PCI bus");
    }
    const bool q35 = machine_.family == MachineFamily::Q35;
    std::string bus;
    if (pci->domain == 0 && pci->bus == 0) {
        bus = q35 ? "pcie.0" : "pci.0";
    } else if (pci->domain == 0 && q35 && hasRootPort(pci->bus)) {
        if (pci->slot != 0) {
            return unsupported(where + ": a pcie-root-port's bus has one slot, slot 0");
        }
        bus = "pci." + std::to_string(pci->bus);
    } else {
        // Bridges are not modelled: a device is never put anywhere but where the definition
        // asks, so an address behind one is refused.
        return unsupported(where + ": bus " + std::to_string(pci->bus) +
                           " is not supported (devices go on the root bus, bus 0, or on q35 on a pcie-root-port)");
    }
    if ((pci->bus == 0 && pci->slot == 0) || pci->slot > 31 || pci->function > 7) {
        return unsupported(where + ": on the root bus only slots 1 to 31, functions 0 to 7, are supported");
    }
    char addr[16];
    if (pci->function == 0) {
        std::snprintf(addr, sizeof addr, "0x%x", pci->slot);
    } else {
        std::snprintf(addr, sizeof addr, "0x%x.0x%x", pci->slot, pci->function);
    }
    Placement place{{"bus", bus}};
    if (multifunction == "on") {
        place.emplace_back("multifunction", "on");
    }
    place.emplace_back("addr", addr);
    return place;
}

void CommandBuilder::addPlacement(QemuOpts& opts, const Placement& place) {
    for (const auto& [key, value] : place) {
        opts.add(key, value);
    }
}

void CommandBuilder::addControllerPlacement(QemuOpts& opts, const std::string& key) const {
    if (auto it = controllerPlace_.find(key); it != controllerPlace_.end()) {
        addPlacement(opts, it->second);
    }
}

Result<void> CommandBuilder::addPciAddress(QemuOpts& opts, const conf::XmlNode& device) const {
    CORRAL_ASSIGN_OR_RETURN(Placement place, pciPlacement(device));
    addPlacement(opts, place);
    return {};
}

Result<void> CommandBuilder::addUsbAddress(QemuOpts& opts, const conf::XmlNode& device) const {
    const conf::XmlNode* address = device.child("address");
    if (address == nullptr) {
        return {};
    }
    const std::string type = address->attrOr("type");
    const std::string bus = address->attrOr("bus", "0");
    const std::string port = address->attrOr("port");
    if (type != "usb" || bus != "0") {
        return unsupported("<" + device.name + "> <address type='" + type + "' bus='" + bus +
                           "'>: USB devices go on the one USB controller (type 'usb', bus 0)");
    }
    if (port.empty()) {
        return {};
    }
    unsigned n = 0;
    if (!toUnsigned(port, n) || n == 0 || n > 15) {
        return unsupported("<" + device.name + "> <address type='usb' port='" + port + "'>: expected a port 1 to 15");
    }
    opts.add("port", n);
    return {};
}

Result<void> CommandBuilder::checkDriveAddress(const conf::XmlNode& disk, const std::string& bus, int index) const {
    const conf::XmlNode* address = disk.child("address");
    if (address == nullptr || bus == "virtio") {
        return {};  // virtio disks are PCI devices: addPciAddress reads theirs
    }
    // Where the target name puts the disk, as libvirt assigns it: IDE two units per bus,
    // SATA one port per disk, SCSI one LUN per disk on target 0.
    unsigned wantBus = 0, wantUnit = static_cast<unsigned>(index);
    if (bus == "ide") {
        wantBus = static_cast<unsigned>(index) / 2;
        wantUnit = static_cast<unsigned>(index) % 2;
    }
    const std::string where = "<disk> with target '" + disk.childAttr("target", "dev") + "': <address>";
    if (address->attrOr("type") != "drive") {
        return unsupported(where + ": a " + bus + " disk takes an address of type 'drive'");
    }
    for (auto [key, want] : {std::pair{"controller", 0u}, {"bus", wantBus}, {"target", 0u}, {"unit", wantUnit}}) {
        unsigned got = 0;
        if (!toUnsigned(address->attrOr(key, "0"), got) || got != want) {
            return unsupported(where + ": " + key + "='" + address->attrOr(key, "0") + "' is not where target '" +
                               disk.childAttr("target", "dev") + "' goes (controller 0, bus " + std::to_string(wantBus) +
                               ", target 0, unit " + std::to_string(wantUnit) + ")");
        }
    }
    return {};
}

}  // namespace corral::drivers::qemu::detail
