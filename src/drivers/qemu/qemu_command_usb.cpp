// SPDX-License-Identifier: LGPL-2.1-or-later
// The USB part of a QEMU command line: the controller (one, or an EHCI with its UHCI companions,
// virt-install's USB 2 set) and USB redirection over SPICE.
#include "drivers/qemu/qemu_command_builder.hpp"

namespace corral::drivers::qemu::detail {

namespace {

const std::map<std::string, std::string, std::less<>>& usbModels() {
    static const std::map<std::string, std::string, std::less<>> kModels = {
        {"qemu-xhci", "qemu-xhci"},       {"nec-xhci", "nec-usb-xhci"},    {"piix3-uhci", "piix3-usb-uhci"},
        {"piix4-uhci", "piix4-usb-uhci"}, {"ich9-ehci1", "ich9-usb-ehci1"}, {"pci-ohci", "pci-ohci"},
        {"ich9-uhci1", "ich9-usb-uhci1"}, {"ich9-uhci2", "ich9-usb-uhci2"}, {"ich9-uhci3", "ich9-usb-uhci3"},
        {"ich9-uhci4", "ich9-usb-uhci4"}, {"ich9-uhci5", "ich9-usb-uhci5"}, {"ich9-uhci6", "ich9-usb-uhci6"}};
    return kModels;
}

bool isCompanion(const std::string& model) { return model.starts_with("ich9-uhci"); }

}  // namespace

// The USB controller is added where the first USB device (or the <controller>) needs it, with
// the model the definition names anywhere in <devices>. Several controllers of index 0 are one
// USB 2 controller with its USB 1 companions (libvirt's <master startport>): an ich9-ehci1 and
// ich9-uhci1..6, each companion serving the master's ports from its start port on.
Result<void> CommandBuilder::ensureUsbController() {
    if (usbAdded_) {
        return {};
    }
    std::vector<const conf::XmlNode*> controllers;
    for (const auto& dev : def_.devices) {
        if (dev.name == "controller" && dev.attrOr("type") == "usb" && dev.attrOr("index", "0") == "0") {
            controllers.push_back(&dev);
        }
    }
    std::string model, ports;
    const conf::XmlNode* master = nullptr;
    std::vector<const conf::XmlNode*> companions;
    for (const auto* c : controllers) {
        const std::string m = c->attrOr("model");
        if (controllers.size() > 1 && isCompanion(m)) {
            companions.push_back(c);
            continue;
        }
        if (master != nullptr) {
            return unsupported("<controller type='usb' index='0' model='" + m +
                               "'>: a second USB controller of index 0 must be a UHCI companion (ich9-uhci1..6) "
                               "of an ich9-ehci1");
        }
        master = c;
        model = m;
        ports = c->attrOr("ports");
    }
    if (!companions.empty() && model != "ich9-ehci1") {
        return unsupported("<controller type='usb' model='" + companions.front()->attrOr("model") +
                           "'>: UHCI companions need an ich9-ehci1 controller of index 0 as their master");
    }
    if (model == "none") {
        return unsupported("a USB device needs a USB controller, but <controller type='usb' model='none'> removes it");
    }
    if (machine_.family == MachineFamily::Microvm) {
        return unsupported("machine 'microvm' has no USB controller (use virtio devices)");
    }
    std::string device;
    if (model.empty()) {
        device = machine_.family == MachineFamily::Q35 ? "qemu-xhci" : "piix3-usb-uhci";
    } else if (auto it = usbModels().find(model); it != usbModels().end()) {
        device = it->second;
    } else {
        return unsupported("<controller type='usb' model='" + model +
                           "'>: not supported (qemu-xhci, nec-xhci, piix3-uhci, piix4-uhci, ich9-ehci1 with "
                           "ich9-uhci1..6 companions, ich9-uhci1..6, pci-ohci, none)");
    }
    QemuOpts usb(device);
    usb.add("id", "usb");
    if (!ports.empty()) {
        // libvirt gives an xHCI controller's port count to both its USB 2 and USB 3 root hubs.
        unsigned n = 0;
        if ((device != "qemu-xhci" && device != "nec-usb-xhci") || !toUnsigned(ports, n) || n == 0 || n > 15) {
            return unsupported("<controller type='usb' ports='" + ports + "'>: a port count (1 to 15) is supported for "
                               "xHCI controllers");
        }
        usb.add("p2", n).add("p3", n);
    }
    addControllerPlacement(usb, "usb0");
    usbAdded_ = true;
    add("-device", usb);
    for (const auto* c : companions) {
        const std::string m = c->attrOr("model");
        const std::string start = c->childAttr("master", "startport");
        unsigned first = 0;
        // The EHCI has six ports: each companion takes two of them, from an even start.
        if (!toUnsigned(start, first) || first > 4 || first % 2 != 0) {
            return unsupported("<controller type='usb' model='" + m + "'><master startport='" + start +
                               "'>: a companion starts at port 0, 2 or 4 of its ich9-ehci1");
        }
        QemuOpts companion(usbModels().at(m));
        companion.add("masterbus", "usb.0").add("firstport", first);
        addControllerPlacement(companion, "usb0" + m);
        add("-device", companion);
    }
    return {};
}

Result<void> CommandBuilder::addRedirdev(const conf::XmlNode& redirdev, unsigned index) {
    const std::string bus = redirdev.attrOr("bus", "usb");
    const std::string type = redirdev.attrOr("type");
    if (bus != "usb" || type != "spicevmc") {
        return unsupported("<redirdev bus='" + bus + "' type='" + type +
                           "'>: only USB redirection over SPICE (bus 'usb', type 'spicevmc') is supported");
    }
    if (!hasSpice_) {
        return unsupported("<redirdev type='spicevmc'>: USB redirection over SPICE needs <graphics type='spice'>");
    }
    CORRAL_TRY(ensureUsbController());
    const std::string id = "redir" + std::to_string(index);
    add("-chardev", QemuOpts("spicevmc").add("id", "char" + id).add("name", "usbredir"));
    QemuOpts dev("usb-redir");
    dev.add("chardev", "char" + id).add("id", id).add("bus", "usb.0");
    CORRAL_TRY(addUsbAddress(dev, redirdev));
    add("-device", dev);
    return {};
}

}  // namespace corral::drivers::qemu::detail
