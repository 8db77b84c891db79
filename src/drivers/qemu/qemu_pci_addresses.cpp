// SPDX-License-Identifier: LGPL-2.1-or-later
// assignPciAddresses: libvirt's QEMU driver's PCI address assignment (qemuDomainAssignAddresses),
// from the outputs of its test data (qemuxml2xmloutdata: minimal, q35-default-devices-only,
// q35-virt-manager-basic). Devices are placed in libvirt's order: the machine's fixed places
// first, then PCI controllers, interfaces, sound, other controllers, disks, the balloon, entropy
// sources, watchdogs and secondary video.
#include "drivers/qemu/qemu_pci_addresses.hpp"

#include <cstdio>
#include <map>
#include <set>

#include "drivers/qemu/qemu_command.hpp"
#include "drivers/qemu/qemu_command_builder.hpp"

namespace corral::drivers::qemu {

namespace {

using detail::MachineFamily;

struct Place {
    unsigned bus = 0, slot = 0, function = 0;
    auto operator<=>(const Place&) const = default;
};

/// libvirt's way of writing an address in messages: 0000:00:05.0.
std::string placeText(Place p) {
    char text[32];
    std::snprintf(text, sizeof text, "0000:%02x:%02x.%x", p.bus, p.slot, p.function);
    return text;
}

Unexpected unsupported(const std::string& what) { return fail(ErrorCode::ConfigUnsupported, what, ErrorDomain::Qemu); }

/// How a device sits on PCI: not at all, as a PCI Express endpoint (on q35 it gets a root port
/// of its own, as libvirt gives it), or as a conventional PCI device.
enum class Kind { None, Pcie, Pci };

/// "<disk> with target 'vda'", "<controller type='usb' index='0'>": the device in messages.
std::string describe(const conf::XmlNode& dev) {
    if (dev.name == "disk") {
        return "<disk> with target '" + dev.childAttr("target", "dev") + "'";
    }
    if (dev.name == "controller") {
        return "<controller type='" + dev.attrOr("type") + "' index='" + dev.attrOr("index", "0") + "'>";
    }
    if (dev.name == "interface" && !dev.childAttr("mac", "address").empty()) {
        return "<interface> with MAC " + dev.childAttr("mac", "address");
    }
    return "<" + dev.name + ">";
}

bool isRootPort(const conf::XmlNode& dev) {
    return dev.name == "controller" && dev.attrOr("type") == "pci" && dev.attrOr("model") == "pcie-root-port";
}

bool isUsbCompanion(const conf::XmlNode& dev) {
    return dev.name == "controller" && dev.attrOr("type") == "usb" && dev.attrOr("model").starts_with("ich9-uhci");
}

class Assigner {
public:
    Assigner(conf::DomainDef& def, MachineFamily family, bool addControllers)
        : def_(def), family_(family), addControllers_(addControllers) {}

    Result<void> run() {
        CORRAL_TRY(checkControllers());
        if (addControllers_) {
            addImplicitControllers();
        }
        CORRAL_TRY(recordGivenAddresses());
        CORRAL_TRY(placeFixed());
        CORRAL_TRY(addRootPortsNeeded());
        CORRAL_TRY(placeRootPorts());
        // libvirt's order (qemuDomainAssignDevicePCISlots).
        for (auto wanted : {"interface", "sound", "controller", "disk", "memballoon", "rng", "watchdog", "video"}) {
            for (auto& dev : def_.devices) {
                if (dev.name == "controller" && dev.attrOr("model") == "ich9-ehci1" && wanted == dev.name) {
                    CORRAL_TRY(placeUsbCompanions());  // where it comes among the controllers
                }
                if (dev.name == wanted && needsPlace(dev)) {
                    CORRAL_TRY(placeEndpoint(dev));
                }
            }
        }
        return {};
    }

private:
    bool q35() const { return family_ == MachineFamily::Q35; }

    /// The first <video> that shows anything: QEMU's primary display.
    conf::XmlNode* primaryVideo() {
        for (auto& dev : def_.devices) {
            if (dev.name == "video") {
                return dev.childAttr("model", "type") == "none" ? nullptr : &dev;
            }
        }
        return nullptr;
    }

    Kind kindOf(const conf::XmlNode& dev) const {
        const std::string& n = dev.name;
        if (n == "disk") {
            std::string bus = dev.childAttr("target", "bus");
            return (bus.empty() ? defaultDiskBus(dev.childAttr("target", "dev")) : bus) == "virtio" ? Kind::Pcie
                                                                                                    : Kind::None;
        }
        if (n == "interface") {
            const std::string model = dev.childAttr("model", "type");
            return model == "virtio" || model == "e1000e" ? Kind::Pcie : Kind::Pci;
        }
        if (n == "memballoon" || n == "rng") {
            return dev.attrOr("model", "virtio") == "virtio" ? Kind::Pcie : Kind::None;
        }
        if (n == "watchdog") {
            return dev.attrOr("model") == "i6300esb" ? Kind::Pci : Kind::None;
        }
        if (n == "sound") {
            return Kind::Pci;
        }
        if (n == "video") {
            const std::string model = dev.childAttr("model", "type");
            return model == "none" ? Kind::None : model == "virtio" ? Kind::Pcie : Kind::Pci;
        }
        if (n != "controller") {
            return Kind::None;
        }
        const std::string type = dev.attrOr("type"), model = dev.attrOr("model");
        if (type == "usb") {
            if (model == "none") {
                return Kind::None;
            }
            const std::string m = model.empty() ? (q35() ? "qemu-xhci" : "piix3-uhci") : model;
            return m == "qemu-xhci" || m == "nec-xhci" ? Kind::Pcie : Kind::Pci;
        }
        if (type == "scsi" || type == "virtio-serial") {
            return Kind::Pcie;
        }
        if (type == "sata") {
            return Kind::Pci;  // pc's AHCI; q35's is placed at 0x1f.2 before
        }
        return Kind::None;  // the root bus, root ports (placed apart), pc's IDE (PIIX3's own)
    }

    bool needsPlace(const conf::XmlNode& dev) const { return kindOf(dev) != Kind::None && unplaced(dev); }

    /// No PCI address yet (or the all-zero one), and no address of another type either.
    static bool unplaced(const conf::XmlNode& dev) {
        auto pci = conf::pciAddressOf(dev);
        return pci && (!*pci || (*pci)->unassigned()) &&
               (dev.child("address") == nullptr || dev.childAttr("address", "type") == "pci");
    }

    /// Two controllers of one type and index are one too many (libvirt's rule); the USB
    /// companions of an EHCI share its index by design.
    Result<void> checkControllers() {
        std::set<std::pair<std::string, std::string>> seen;
        for (const auto& dev : def_.devices) {
            if (dev.name != "controller") {
                continue;
            }
            const std::string type = dev.attrOr("type"), index = dev.attrOr("index", "0");
            if (isUsbCompanion(dev)) {
                continue;
            }
            if (!seen.insert({type, index}).second) {
                return fail(ErrorCode::XmlError, "Multiple '" + type + "' controllers with index '" + index + "'",
                            ErrorDomain::Qemu);
            }
            if (isRootPort(dev) && q35()) {
                unsigned n = 0;
                if (detail::toUnsigned(index, n) && n > 0 && n < 256) {
                    rootPorts_.insert(n);
                }
            }
        }
        return {};
    }

    bool hasController(const std::string& type, const std::string& index = "0") const {
        for (const auto& dev : def_.devices) {
            if (dev.name == "controller" && dev.attrOr("type") == type && dev.attrOr("index", "0") == index) {
                return true;
            }
        }
        return false;
    }

    /// The controllers the command line adds for devices that need them (and the VGA of a
    /// display without <video>) become part of the definition, as libvirt adds them, so that
    /// they have a place of their own.
    void addImplicitControllers() {
        bool sata = false, scsi = false, virtioSerial = false, usb = false, graphics = false, video = false;
        for (const auto& dev : def_.devices) {
            const std::string bus = dev.childAttr("target", "bus");
            const std::string diskBus = bus.empty() ? defaultDiskBus(dev.childAttr("target", "dev")) : bus;
            sata = sata || (dev.name == "disk" && diskBus == "sata");
            scsi = scsi || (dev.name == "disk" && diskBus == "scsi");
            virtioSerial = virtioSerial || dev.name == "channel" ||
                           (dev.name == "console" && dev.childAttr("target", "type") == "virtio");
            usb = usb || dev.name == "redirdev" ||
                  (dev.name == "input" && dev.attrOr("bus", dev.attrOr("type") == "tablet" ? "usb" : "ps2") == "usb");
            graphics = graphics || dev.name == "graphics";
            video = video || dev.name == "video";
        }
        auto add = [&](std::vector<std::pair<std::string, std::string>> attrs) {
            def_.devices.push_back(conf::XmlNode{"controller", std::move(attrs), {}, {}, 0});
        };
        if (sata && !q35() && !hasController("sata")) {
            add({{"type", "sata"}, {"index", "0"}});
        }
        if (scsi && !hasController("scsi")) {
            add({{"type", "scsi"}, {"index", "0"}, {"model", "virtio-scsi"}});
        }
        if (virtioSerial && !hasController("virtio-serial")) {
            add({{"type", "virtio-serial"}, {"index", "0"}});
        }
        if (usb && !hasController("usb")) {
            add({{"type", "usb"}, {"index", "0"}});
        }
        if (graphics && !video) {
            conf::XmlNode vga{"video", {}, {conf::XmlNode{"model", {{"type", "vga"}}, {}, {}, 0}}, {}, 0};
            def_.devices.push_back(std::move(vga));
        }
    }

    /// Where the machine has its own devices: no other device goes there.
    bool machineOwn(Place p) const {
        if (p.bus != 0) {
            return false;
        }
        return p.slot == 0 || (q35() ? p.slot == 0x1f : p.slot == 1);
    }

    Result<void> recordGivenAddresses() {
        for (const auto& dev : def_.devices) {
            CORRAL_ASSIGN_OR_RETURN(auto pci, conf::pciAddressOf(dev));
            if (!pci || pci->unassigned()) {
                continue;
            }
            const Place p{pci->bus, pci->slot, pci->function};
            const std::string where = describe(dev) + ": PCI address " + placeText(p);
            // libvirt's words (its .err files: pci-bridge-*, q35-dmi-bad-address*).
            char bad[64] = "";
            if (pci->slot > 0x1f) {
                std::snprintf(bad, sizeof bad, "slot='0x%x', must be <= 0x1F", pci->slot);
            } else if (pci->function > 7) {
                std::snprintf(bad, sizeof bad, "function=0x%x, must be <= 7", pci->function);
            } else if (pci->bus > 0xff) {
                std::snprintf(bad, sizeof bad, "bus='0x%x', must be <= 0xFF", pci->bus);
            }
            if (pci->slot > 0x1f || pci->function > 7 || pci->bus > 0xff) {
                return fail(ErrorCode::XmlError, std::string("Invalid PCI address ") + bad, ErrorDomain::Qemu);
            }
            if (pci->domain != 0) {
                return unsupported(where + ": only PCI domain 0 exists");
            }
            if (p.bus != 0 && rootPorts_.count(p.bus) == 0) {
                return unsupported(where + ": no PCI controller has index " + std::to_string(p.bus) +
                                   (q35() ? " (add a <controller type='pci' model='pcie-root-port'> with it)"
                                          : " (devices go on the root bus, bus 0)"));
            }
            if (p.bus != 0 && p.slot != 0) {
                return unsupported(where + ": a pcie-root-port has one slot, slot 0");
            }
            if (machineOwn(p) && !machineController(dev, p)) {
                return unsupported(where + ": slot " + std::to_string(p.slot) + " is the machine's own (" +
                                   (p.slot == 0 ? "host bridge" : q35() ? "ICH9 LPC, SATA and SMBus" : "PIIX3") + ")");
            }
            if (auto [it, fresh] = used_.emplace(p, describe(dev)); !fresh) {
                return fail(ErrorCode::XmlError,
                            "Attempted double use of PCI Address " + placeText(p) + " (" + describe(dev) + " and " +
                                it->second + ")",
                            ErrorDomain::Qemu);
            }
        }
        return {};
    }

    /// pc's PIIX3 IDE (1.1) and UHCI (1.2), q35's AHCI (0x1f.2): where the machine has them.
    bool machineController(const conf::XmlNode& dev, Place p) const {
        if (dev.name != "controller" || dev.attrOr("index", "0") != "0" || p.bus != 0) {
            return false;
        }
        const std::string type = dev.attrOr("type"), model = dev.attrOr("model");
        if (q35()) {
            return type == "sata" && p.slot == 0x1f && p.function == 2;
        }
        return p.slot == 1 && ((type == "ide" && p.function == 1) ||
                               (type == "usb" && (model.empty() || model == "piix3-uhci") && p.function == 2));
    }

    static void setAddress(conf::XmlNode& dev, Place p, bool multifunction = false) {
        std::erase_if(dev.children, [](const conf::XmlNode& c) { return c.name == "address"; });
        char bus[8], slot[8], function[8];
        std::snprintf(bus, sizeof bus, "0x%02x", p.bus);
        std::snprintf(slot, sizeof slot, "0x%02x", p.slot);
        std::snprintf(function, sizeof function, "0x%x", p.function);
        conf::XmlNode address{"address",
                              {{"type", "pci"}, {"domain", "0x0000"}, {"bus", bus}, {"slot", slot}, {"function", function}},
                              {},
                              {},
                              0};
        if (multifunction) {
            address.attrs.emplace_back("multifunction", "on");
        }
        dev.children.push_back(std::move(address));
    }

    bool slotFree(unsigned slot) const {
        for (unsigned f = 0; f < 8; ++f) {
            if (used_.count(Place{0, slot, f}) != 0) {
                return false;
            }
        }
        return !machineOwn(Place{0, slot, 0});
    }

    /// Takes `p` for `dev` when it is free; false when something is there.
    bool take(conf::XmlNode& dev, Place p, bool multifunction = false) {
        if (!used_.emplace(p, describe(dev)).second) {
            return false;
        }
        setAddress(dev, p, multifunction);
        return true;
    }

    /// The machine's fixed places: pc's PIIX3 functions and primary video at slot 2; q35's
    /// AHCI, primary video at slot 1, ICH9 HD audio at 0x1b and an EHCI with its companions at
    /// 0x1d. Taken only where free; otherwise the device goes where the others go.
    Result<void> placeFixed() {
        for (auto& dev : def_.devices) {
            if (dev.name != "controller" || dev.attrOr("index", "0") != "0" || dev.child("address") != nullptr) {
                continue;
            }
            const std::string type = dev.attrOr("type"), model = dev.attrOr("model");
            if (!q35() && type == "ide") {
                (void)take(dev, Place{0, 1, 1});
            } else if (!q35() && type == "usb" && (model.empty() || model == "piix3-uhci")) {
                (void)take(dev, Place{0, 1, 2});
            } else if (q35() && type == "sata") {
                (void)take(dev, Place{0, 0x1f, 2});
            }
        }
        if (conf::XmlNode* video = primaryVideo(); video != nullptr && needsPlace(*video)) {
            const unsigned slot = q35() ? 1 : 2;
            if (slotFree(slot)) {
                (void)take(*video, Place{0, slot, 0});
            }
        }
        for (auto& dev : def_.devices) {
            if (q35() && dev.name == "sound" && dev.attrOr("model") == "ich9" && needsPlace(dev) && slotFree(0x1b)) {
                (void)take(dev, Place{0, 0x1b, 0});
            }
        }
        return q35() ? placeUsbCompanions() : Result<void>();  // on pc among the other controllers
    }

    /// An ich9-ehci1 with its UHCI companions: one slot, the EHCI at function 7, companion N at
    /// function N-1 (uhci1..3; 4..6 in a slot of their own), as on a real ICH9 (libvirt's
    /// graphics-spice-usb-redir); on q35 at ICH9's own slot 0x1d where free.
    Result<void> placeUsbCompanions() {
        conf::XmlNode* ehci = nullptr;
        std::vector<conf::XmlNode*> companions;
        for (auto& dev : def_.devices) {
            if (dev.name == "controller" && dev.attrOr("type") == "usb" && dev.attrOr("index", "0") == "0") {
                if (dev.attrOr("model") == "ich9-ehci1") {
                    ehci = &dev;
                } else if (isUsbCompanion(dev)) {
                    companions.push_back(&dev);
                }
            }
        }
        if (ehci == nullptr || companions.empty() || !needsPlace(*ehci)) {
            return {};
        }
        for (auto* c : companions) {
            if (!needsPlace(*c)) {
                return unsupported("<controller type='usb' model='" + c->attrOr("model") +
                                   "'> <address>: an EHCI's companions are placed with it (leave out both addresses)");
            }
        }
        std::map<unsigned, unsigned> slotOfGroup;  // 0: uhci1..3 with the EHCI, 1: uhci4..6
        auto slotFor = [&](unsigned group) -> Result<unsigned> {
            if (auto it = slotOfGroup.find(group); it != slotOfGroup.end()) {
                return it->second;
            }
            const unsigned preferred = group == 0 ? 0x1d : 0x1a;
            unsigned slot = q35() && slotFree(preferred) ? preferred : 0;
            for (unsigned s = 1; slot == 0 && s < 32; ++s) {
                slot = slotFree(s) ? s : 0;
            }
            if (slot == 0) {
                return unsupported("no free PCI slot left on the root bus for the USB controllers");
            }
            slotOfGroup[group] = slot;
            return slot;
        };
        CORRAL_ASSIGN_OR_RETURN(unsigned first, slotFor(0));
        (void)take(*ehci, Place{0, first, 7});
        for (auto* c : companions) {
            const unsigned n = static_cast<unsigned>(c->attrOr("model").back() - '0');  // ich9-uhciN
            if (n < 1 || n > 6) {
                continue;  // not a model the command line knows: it refuses it by name
            }
            CORRAL_ASSIGN_OR_RETURN(unsigned slot, slotFor((n - 1) / 3));
            (void)take(*c, Place{0, slot, (n - 1) % 3}, (n - 1) % 3 == 0);
        }
        return {};
    }

    /// PCIe devices still to place, against root ports with nothing on them: libvirt adds the
    /// root ports missing, and one more, so that a device can be added to the running guest.
    Result<void> addRootPortsNeeded() {
        if (!q35()) {
            return {};
        }
        std::size_t needed = 0;
        for (const auto& dev : def_.devices) {
            needed += kindOf(dev) == Kind::Pcie && needsPlace(dev) ? 1 : 0;
        }
        std::size_t free = 0;
        for (unsigned port : rootPorts_) {
            free += used_.count(Place{port, 0, 0}) == 0 ? 1 : 0;
        }
        if (needed <= free || !addControllers_) {
            return {};
        }
        unsigned next = 1;
        for (const auto& dev : def_.devices) {
            unsigned n = 0;
            if (dev.name == "controller" && dev.attrOr("type") == "pci" && detail::toUnsigned(dev.attrOr("index", "0"), n)) {
                next = std::max(next, n + 1);
            }
        }
        for (std::size_t i = 0; i < needed - free + 1; ++i, ++next) {
            if (next > 255) {
                return unsupported("no PCI controller index left for another pcie-root-port");
            }
            const std::string index = std::to_string(next);
            def_.devices.push_back(
                conf::XmlNode{"controller", {{"type", "pci"}, {"index", index}, {"model", "pcie-root-port"}}, {}, {}, 0});
            rootPorts_.insert(next);
        }
        return {};
    }

    /// Root ports without an address share slots of the root bus, one function each, from the
    /// first free slot (libvirt aggregates them so); chassis and port get libvirt's defaults
    /// (the index; slot * 8 + function).
    Result<void> placeRootPorts() {
        std::vector<conf::XmlNode*> ports;
        for (auto& dev : def_.devices) {
            if (isRootPort(dev) && q35() && unplaced(dev)) {
                ports.push_back(&dev);
            }
        }
        unsigned slot = 0, function = 8;
        for (std::size_t i = 0; i < ports.size(); ++i) {
            if (function == 8) {
                for (slot = slot + 1; slot < 32 && !slotFree(slot); ++slot) {
                }
                if (slot >= 32) {
                    return unsupported("no free PCI slot left on the root bus for " + describe(*ports[i]));
                }
                function = 0;
            }
            const bool several = function == 0 && i + 1 < ports.size();
            (void)take(*ports[i], Place{0, slot, function}, several);
            ++function;
        }
        // libvirt writes each root port's QEMU model, chassis and port into the definition.
        for (auto& dev : def_.devices) {
            if (!isRootPort(dev) || !q35()) {
                continue;
            }
            auto pci = conf::pciAddressOf(dev);
            if (!pci || !*pci) {
                continue;
            }
            if (dev.child("model") == nullptr) {
                dev.children.insert(dev.children.begin(), conf::XmlNode{"model", {{"name", "pcie-root-port"}}, {}, {}, 0});
            }
            if (dev.child("target") == nullptr) {
                auto at = std::find_if(dev.children.begin(), dev.children.end(),
                                       [](const conf::XmlNode& c) { return c.name == "address"; });
                dev.children.insert(at, conf::XmlNode{"target", {}, {}, {}, 0});
            }
            conf::XmlNode& target = *dev.child("target");
            if (target.attr("chassis") == nullptr) {
                target.setAttr("chassis", dev.attrOr("index", "0"));
            }
            if (target.attr("port") == nullptr) {
                char port[8];
                std::snprintf(port, sizeof port, "0x%x", (*pci)->slot * 8 + (*pci)->function);
                target.setAttr("port", port);
            }
        }
        return {};
    }

    Result<void> placeEndpoint(conf::XmlNode& dev) {
        if (q35() && kindOf(dev) == Kind::Pcie) {
            for (unsigned port : rootPorts_) {
                if (take(dev, Place{port, 0, 0})) {
                    return {};
                }
            }
            return unsupported(describe(dev) + ": no free pcie-root-port for it (a PCI Express device goes on a root "
                               "port of its own; add a <controller type='pci' model='pcie-root-port'> to the "
                               "persistent definition)");
        }
        for (unsigned slot = 1; slot < 32; ++slot) {
            if (slotFree(slot) && take(dev, Place{0, slot, 0})) {
                return {};
            }
        }
        return unsupported(describe(dev) + ": no free PCI slot left on the root bus");
    }

    conf::DomainDef& def_;
    MachineFamily family_;
    bool addControllers_;
    std::map<Place, std::string> used_;  ///< taken addresses, with what is there
    std::set<unsigned> rootPorts_;       ///< the buses of the pcie-root-ports (q35)
};

}  // namespace

Result<void> assignPciAddresses(conf::DomainDef& def, bool addControllers) {
    if (def.type != "qemu" && def.type != "kvm") {
        return {};
    }
    auto family = detail::machineFamilyOf(def.os.machine.empty() ? "pc" : def.os.machine);
    if (!family || *family == MachineFamily::Microvm) {
        return {};  // no PCI bus, or refused by name where the command line is built
    }
    return Assigner(def, *family, addControllers).run();
}

}  // namespace corral::drivers::qemu
