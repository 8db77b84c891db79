// SPDX-License-Identifier: LGPL-2.1-or-later
// buildQemuCommandLine: libvirt's domain XML to a QEMU 7.2 command line (-blockdev era).
#include "drivers/qemu/qemu_command.hpp"

#include <cctype>
#include <map>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "conf/domain_def.hpp"
#include "conf/object_name.hpp"
#include "drivers/qemu/qemu_options.hpp"
#include "util/json.hpp"
#include "util/strings.hpp"

namespace corral::drivers::qemu {

namespace {

enum class MachineFamily { I440fx, Q35, Microvm };

struct Machine {
    MachineFamily family;
    std::string qemuName;
};

bool toUnsigned(std::string_view text, unsigned& out) {
    auto v = parseUnsigned(text);
    if (!v || *v > 0xFFFFFFFFu) {
        return false;
    }
    out = static_cast<unsigned>(*v);
    return true;
}

Unexpected unsupported(const std::string& what) {
    return fail(ErrorCode::ConfigUnsupported, what, ErrorDomain::Qemu);
}

Unexpected invalidXml(const std::string& what) { return fail(ErrorCode::XmlError, what, ErrorDomain::Qemu); }

/// A model or machine name QEMU looks up in its own tables: letters, digits and "-_.". The x86
/// -cpu option splits at every ',' (it knows no ",," escape), so nothing else may reach it.
bool isQemuTypeName(std::string_view name) {
    if (name.empty()) {
        return false;
    }
    for (char c : name) {
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.')) {
            return false;
        }
    }
    return true;
}

Result<Machine> resolveMachine(const conf::DomainDef& def) {
    const std::string& arch = def.os.arch;
    if (!arch.empty() && arch != "x86_64" && arch != "i686") {
        return unsupported("<os><type arch='" + arch + "'>: this driver runs qemu-system-x86_64 guests only "
                           "(arch x86_64 or i686)");
    }
    const std::string m = def.os.machine.empty() ? "pc" : def.os.machine;
    if (!isQemuTypeName(m)) {
        return unsupported("<os><type machine='" + m + "'>: not a machine type name (letters, digits and '-_.')");
    }
    if (m == "pc" || startsWith(m, "pc-i440fx-") || m == "pc-1.0") {
        return Machine{MachineFamily::I440fx, m};
    }
    if (m == "q35" || startsWith(m, "pc-q35-")) {
        return Machine{MachineFamily::Q35, m};
    }
    if (m == "microvm") {
        return Machine{MachineFamily::Microvm, m};
    }
    return unsupported("<os><type machine='" + m + "'>: unknown machine type (supported: pc, pc-i440fx-*, "
                       "q35, pc-q35-*, microvm)");
}

bool hasFeature(const conf::DomainDef& def, std::string_view feature) {
    const conf::XmlNode* f = def.element("features");
    return f != nullptr && f->child(feature) != nullptr;
}

/// An on/off attribute ("state"): true, false, or nullopt when absent. Errors name the element.
Result<std::optional<bool>> onOffAttr(const conf::XmlNode& n, std::string_view key, std::string_view where) {
    const std::string* v = n.attr(key);
    if (v == nullptr) {
        return std::optional<bool>();
    }
    if (*v != "on" && *v != "off") {
        return invalidXml(std::string(where) + ": " + std::string(key) + "='" + *v + "' must be 'on' or 'off'");
    }
    return std::optional<bool>(*v == "on");
}

/// Collects argv and remembers which singleton controllers were already added.
class CommandBuilder {
public:
    CommandBuilder(const conf::DomainDef& def, const QemuLaunchContext& ctx, Machine machine)
        : def_(def), ctx_(ctx), machine_(std::move(machine)) {}

    Result<std::vector<std::string>> build();

private:
    void add(std::initializer_list<std::string> args) { argv_.insert(argv_.end(), args); }
    /// `option` followed by its key=value argument.
    void add(const char* option, const QemuOpts& opts) { add({option, opts.str()}); }
    std::string pciOrMmio(const std::string& base) const {
        return machine_.family == MachineFamily::Microvm ? base + "-device" : base + "-pci";
    }

    Result<void> addCpuAndMemory();
    Result<void> addBootOptions();
    Result<void> planBootOrder();
    Result<void> addDisk(const conf::XmlNode& disk);
    Result<void> addInterface(const conf::XmlNode& iface, std::size_t index);
    Result<void> addSerial(const conf::XmlNode& chr, unsigned index);
    Result<void> addConsole(const conf::XmlNode& console, unsigned index);
    Result<void> addGraphics(const conf::XmlNode& graphics);
    Result<void> addVideo(const conf::XmlNode& video, unsigned index);
    Result<void> addController(const conf::XmlNode& controller);
    Result<void> addWatchdog(const conf::XmlNode& watchdog);
    Result<void> addRng(const conf::XmlNode& rng);
    /// The -machine option: type, and what <features> and <memory dumpCore> switch.
    Result<QemuOpts> machineOption();
    /// addr=0xN for a device's <address type='pci'> on the root bus (where a hotplug put it);
    /// nothing without one. Any other address is refused: the bridges and root ports it would
    /// name are not modelled, and a device is never put somewhere other than asked.
    Result<void> addPciAddress(QemuOpts& device, const conf::XmlNode& node) const;
    /// port=N for a USB device's <address type='usb' bus='0' port='N'>; refuses others.
    Result<void> addUsbAddress(QemuOpts& device, const conf::XmlNode& node) const;
    /// "0x5" for a device's <address type='pci'> on the root bus; "" without one; refuses others.
    Result<std::string> pciSlot(const conf::XmlNode& node) const;
    /// Checks a disk's <address type='drive'> against where its target name puts it.
    Result<void> checkDriveAddress(const conf::XmlNode& disk, const std::string& bus, int index) const;
    /// Reads every controller's <address> before any device needs its controller: where the
    /// machine has it built in (pc's IDE and UHCI, q35's AHCI) it must say so; the controllers
    /// Corral adds (USB, SCSI, virtio-serial) go where it says on the root bus.
    Result<void> planControllerAddresses();
    /// bootindex=N: the device's own <boot order=...>, else the first device of its kind when
    /// <os><boot dev=...> names that kind.
    Result<void> addBootIndex(QemuOpts& device, const conf::XmlNode& node, const std::string& kind);
    Result<void> addDevice(const conf::XmlNode& dev);
    Result<std::string> chardevBackend(const conf::XmlNode& chr, const std::string& id);
    Result<void> ensureUsbController();
    void ensureScsiController(unsigned index);
    void ensureAhci();

    const conf::DomainDef& def_;
    const QemuLaunchContext& ctx_;
    Machine machine_;
    std::vector<std::string> argv_;
    unsigned iothreads_ = 0;
    unsigned diskCount_ = 0, serialCount_ = 0, videoCount_ = 0, rngCount_ = 0, inputCount_ = 0, virtioConsoles_ = 0;
    std::size_t interfaceIndex_ = 0;
    bool usbAdded_ = false, ahciAdded_ = false, hasGraphics_ = false, hasVideo_ = false;
    bool virtioSerialAdded_ = false, hasPanic_ = false;
    /// QEMU's -action watchdog=... for the one <watchdog>; empty without one.
    std::string watchdogAction_;
    std::set<unsigned> scsiControllers_;
    /// The addr=... of the controllers Corral adds, by type and index ("usb0", "scsi0"):
    /// "0x5", or "0x1.0x2" for PIIX3's own USB function.
    std::map<std::string, std::string> controllerAddress_;
    /// Boot order from <os><boot dev=...>: first disk, cdrom and interface get bootindex.
    std::map<std::string, int> bootIndexByKind_;
    std::set<std::string> kindsBooted_;
};

Result<QemuOpts> CommandBuilder::machineOption() {
    const std::string& dumpCore = def_.memoryDumpCore;
    if (!dumpCore.empty() && dumpCore != "on" && dumpCore != "off") {
        return unsupported("<memory dumpCore='" + dumpCore + "'>: must be 'on' or 'off'");
    }
    QemuOpts machine(machine_.qemuName);
    if (machine_.family == MachineFamily::Microvm) {
        machine.add("x-option-roms", "off").add("isa-serial", "on").add("rtc", "on");
        if (!dumpCore.empty()) {
            machine.add("dump-guest-core", dumpCore);
        }
    } else {
        // Guest memory stays out of QEMU's core dumps unless the definition asks for it.
        machine.add("usb", "off").add("dump-guest-core", dumpCore == "on" ? "on" : "off");
    }
    if (const conf::XmlNode* features = def_.element("features")) {
        for (const auto& f : features->children) {
            if (f.name == "acpi") {
                f.markRead();  // below
            } else if (f.name == "apic" || f.name == "pae") {
                // Every x86 machine QEMU runs has a local APIC and every CPU model it offers
                // has PAE: asking for them is asking for what the guest gets anyway. Their
                // attributes (apic eoi=...) are not read, so they are refused.
                f.markRead();
            } else if (f.name == "vmport") {
                CORRAL_ASSIGN_OR_RETURN(auto state, onOffAttr(f, "state", "<features><vmport>"));
                if (machine_.family == MachineFamily::Microvm) {
                    return unsupported("<features><vmport>: machine 'microvm' has no VMware I/O port");
                }
                if (state) {
                    machine.add("vmport", *state ? "on" : "off");
                }
            }
            // Any other feature stays unread: the coverage check refuses it by name.
        }
    }
    if (!hasFeature(def_, "acpi")) {
        machine.add("acpi", "off");  // libvirt's rule: ACPI only with <features><acpi/>
    }
    return machine;
}

Result<void> CommandBuilder::addCpuAndMemory() {
    const bool kvm = def_.type == "kvm";
    add({"-accel", kvm ? "kvm" : "tcg"});
    if (const conf::XmlNode* cpu = def_.element("cpu")) {
        std::string mode = cpu->attrOr("mode", "custom");
        if (mode == "host-passthrough") {
            if (!kvm) {
                return unsupported("<cpu mode='host-passthrough'> needs <domain type='kvm'> (TCG has no host CPU)");
            }
            add({"-cpu", "host"});
        } else if (mode == "host-model") {
            add({"-cpu", kvm ? "host" : "max"});
        } else if (mode == "maximum") {
            add({"-cpu", "max"});
        } else if (mode == "custom") {
            // QEMU gives the guest exactly the named model: libvirt's match='exact'.
            if (const std::string match = cpu->attrOr("match", "exact"); match != "exact") {
                return unsupported("<cpu match='" + match + "'>: only 'exact' is supported (the guest gets exactly "
                                   "the named model)");
            }
            std::string model = cpu->childText("model");
            if (!model.empty() && !isQemuTypeName(model)) {
                return unsupported("<cpu><model>" + model + "</model>: not a CPU model name (letters, digits and '-_.')");
            }
            if (!model.empty()) {
                add({"-cpu", model});
            }
        } else {
            return unsupported("<cpu mode='" + mode + "'>: unknown CPU mode");
        }
    }
    std::uint64_t memKiB = def_.memoryKiB;
    if (memKiB < 1024) {
        return unsupported("<memory>: " + std::to_string(memKiB) + " KiB is too small for a QEMU guest (minimum 1 MiB)");
    }
    add("-m", QemuOpts().add("size", std::to_string(memKiB) + "k"));
    if (def_.currentMemoryKiB != 0 && def_.currentMemoryKiB < memKiB) {
        // The backend sets the balloon's target right after start; without a balloon the guest
        // would silently keep all of <memory>.
        bool balloon = false;
        for (const auto& dev : def_.devices) {
            balloon = balloon || (dev.name == "memballoon" && dev.attrOr("model", "virtio") == "virtio");
        }
        if (!balloon) {
            return unsupported("<currentMemory> below <memory> needs a <memballoon model='virtio'> to take effect");
        }
    }
    if (def_.vcpuPlacement == "auto") {
        return unsupported("<vcpu placement='auto'>: automatic NUMA placement (numad) is not supported");
    }

    unsigned maxVcpus = def_.vcpus == 0 ? 1 : def_.vcpus;
    unsigned current = def_.vcpuCurrent == 0 ? maxVcpus : def_.vcpuCurrent;
    QemuOpts smp(std::to_string(current));
    smp.add("maxcpus", maxVcpus);
    const conf::XmlNode* cpu = def_.element("cpu");
    const conf::XmlNode* topo = cpu != nullptr ? cpu->child("topology") : nullptr;
    if (topo != nullptr) {
        unsigned sockets = 0, dies = 0, cores = 0, threads = 0;
        for (auto [key, out] : {std::pair{"sockets", &sockets}, {"dies", &dies}, {"cores", &cores}, {"threads", &threads}}) {
            if (!toUnsigned(topo->attrOr(key, "1"), *out) || *out == 0) {
                return unsupported("<cpu><topology " + std::string(key) + "='" + topo->attrOr(key) +
                                   "'>: expected a positive number");
            }
        }
        if (std::uint64_t{sockets} * dies * cores * threads != maxVcpus) {
            return unsupported("<cpu><topology>: sockets*dies*cores*threads = " +
                               std::to_string(std::uint64_t{sockets} * dies * cores * threads) +
                               " does not match <vcpu> " + std::to_string(maxVcpus));
        }
        smp.add("sockets", sockets);
        if (topo->attr("dies") != nullptr) {
            smp.add("dies", dies);
        }
        smp.add("cores", cores).add("threads", threads);
    } else {
        smp.add("sockets", maxVcpus).add("cores", 1u).add("threads", 1u);
    }
    add("-smp", smp);

    if (const conf::XmlNode* io = def_.element("iothreads")) {
        if (!toUnsigned(io->text, iothreads_)) {
            return unsupported("<iothreads>: '" + io->text + "' is not a number");
        }
        for (unsigned i = 1; i <= iothreads_; ++i) {
            add("-object", QemuOpts("iothread").add("id", "iothread" + std::to_string(i)));
        }
    }
    return {};
}

Result<void> CommandBuilder::addBootOptions() {
    std::string kernel = def_.os.value("kernel");
    std::string initrd = def_.os.value("initrd");
    std::string cmdline = def_.os.value("cmdline");
    if (kernel.empty() && (!initrd.empty() || !cmdline.empty())) {
        return unsupported("<os><initrd>/<cmdline> need <os><kernel> (direct kernel boot)");
    }
    if (!kernel.empty()) {
        add({"-kernel", kernel});
        if (!initrd.empty()) {
            // QEMU reads a ',' in -initrd as the start of a second multiboot module, and a
            // Linux kernel's initrd path knows no escape: the path cannot be said unambiguously.
            if (initrd.find(',') != std::string::npos) {
                return unsupported("<os><initrd>" + initrd + "</initrd>: QEMU cannot take an initrd path with ','");
            }
            add({"-initrd", initrd});
        }
        if (!cmdline.empty()) {
            add({"-append", cmdline});
        }
    }
    if (!def_.os.value("loader").empty()) {
        for (const auto& e : def_.os.elements) {
            if (e.name == "loader") {
                std::string type = e.attrOr("type", "rom");
                if (type == "rom") {
                    add({"-bios", e.text});
                } else {
                    return unsupported("<os><loader type='" + type +
                                       "'>: pflash firmware (UEFI with NVRAM) is not supported by this driver yet");
                }
            }
        }
    }
    return planBootOrder();
}

Result<void> CommandBuilder::planBootOrder() {
    int next = 1;
    for (const auto& e : def_.os.elements) {
        if (e.name != "boot") {
            continue;
        }
        std::string dev = e.attrOr("dev");
        if (dev != "hd" && dev != "cdrom" && dev != "network" && dev != "fd") {
            return unsupported("<os><boot dev='" + dev + "'>: unknown boot device (hd, cdrom, network, fd)");
        }
        if (!bootIndexByKind_.contains(dev)) {
            bootIndexByKind_[dev] = next++;
        }
    }
    return {};
}

Result<void> CommandBuilder::addBootIndex(QemuOpts& device, const conf::XmlNode& node, const std::string& kind) {
    if (const std::string order = node.childAttr("boot", "order"); !order.empty()) {
        auto n = parseUnsigned(order);
        if (!n || *n == 0 || *n > 0x7fffffff) {
            return invalidXml("incorrect boot order '" + order + "', expecting positive integer");
        }
        device.add("bootindex", *n);
        return {};
    }
    auto it = bootIndexByKind_.find(kind);
    if (it != bootIndexByKind_.end() && !kindsBooted_.contains(kind)) {
        kindsBooted_.insert(kind);
        device.add("bootindex", static_cast<unsigned>(it->second));
    }
    return {};
}

// The USB controller is added where the first USB device (or the <controller>) needs it, with
// the model the definition names anywhere in <devices>.
Result<void> CommandBuilder::ensureUsbController() {
    if (usbAdded_) {
        return {};
    }
    std::string model, ports;
    for (const auto& dev : def_.devices) {
        if (dev.name == "controller" && dev.attrOr("type") == "usb" && dev.attrOr("index", "0") == "0") {
            model = dev.attrOr("model");
            ports = dev.attrOr("ports");
        }
    }
    if (model == "none") {
        return unsupported("a USB device needs a USB controller, but <controller type='usb' model='none'> removes it");
    }
    if (machine_.family == MachineFamily::Microvm) {
        return unsupported("machine 'microvm' has no USB controller (use virtio devices)");
    }
    static const std::map<std::string, std::string, std::less<>> kModels = {
        {"qemu-xhci", "qemu-xhci"},     {"nec-xhci", "nec-usb-xhci"},    {"piix3-uhci", "piix3-usb-uhci"},
        {"piix4-uhci", "piix4-usb-uhci"}, {"ich9-ehci1", "ich9-usb-ehci1"}, {"pci-ohci", "pci-ohci"}};
    std::string device;
    if (model.empty()) {
        device = machine_.family == MachineFamily::Q35 ? "qemu-xhci" : "piix3-usb-uhci";
    } else if (auto it = kModels.find(model); it != kModels.end()) {
        device = it->second;
    } else {
        return unsupported("<controller type='usb' model='" + model +
                           "'>: not supported (qemu-xhci, nec-xhci, piix3-uhci, piix4-uhci, ich9-ehci1, pci-ohci, none)");
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
    if (const std::string& addr = controllerAddress_["usb0"]; !addr.empty()) {
        usb.add("addr", addr);
    }
    usbAdded_ = true;
    add("-device", usb);
    return {};
}

void CommandBuilder::ensureScsiController(unsigned index) {
    if (scsiControllers_.insert(index).second) {
        QemuOpts scsi(pciOrMmio("virtio-scsi"));
        scsi.add("id", "scsi" + std::to_string(index));
        if (const std::string& addr = controllerAddress_["scsi" + std::to_string(index)]; !addr.empty()) {
            scsi.add("addr", addr);
        }
        add("-device", scsi);
    }
}

void CommandBuilder::ensureAhci() {
    if (!ahciAdded_ && machine_.family == MachineFamily::I440fx) {
        ahciAdded_ = true;
        add("-device", QemuOpts("ahci").add("id", "sata0"));
    }
}

Result<void> CommandBuilder::addDisk(const conf::XmlNode& disk) {
    const std::string type = disk.attrOr("type", "file");
    const std::string device = disk.attrOr("device", "disk");
    const std::string target = disk.childAttr("target", "dev");
    std::string bus = disk.childAttr("target", "bus");
    const std::string where = "<disk> with target '" + target + "'";
    if (target.empty()) {
        return unsupported("<disk>: missing <target dev=...>");
    }
    int index = diskNameToIndex(target);
    if (index < 0) {
        return unsupported(where + ": cannot derive a disk index from the target name");
    }
    if (bus.empty()) {
        bus = defaultDiskBus(target);
    }
    CORRAL_ASSIGN_OR_RETURN(DiskNodes nodes, planDiskNodes(disk));
    CORRAL_TRY(checkDriveAddress(disk, bus, index));
    std::string serial;
    if (const conf::XmlNode* serialNode = disk.child("serial")) {
        // What the guest reads as the disk's serial number, in libvirt's character set.
        for (char c : serialNode->text) {
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ' ' && c != '.' && c != '+' &&
                c != '-') {
                return unsupported(where + ": <serial>" + serialNode->text +
                                   "</serial> may hold only letters, digits, space and _ . + -");
            }
        }
        serial = serialNode->text;
    }
    diskCount_++;
    if (!nodes.formatNode.empty()) {
        add({"-blockdev", nodes.storageJson, "-blockdev", nodes.formatJson});
    }
    // What every bus's device takes after its own placement options.
    auto addCommon = [&](QemuOpts& dev) {
        if (!nodes.formatNode.empty()) {
            dev.add("drive", nodes.formatNode);
        }
        if (!serial.empty()) {
            dev.add("serial", serial);
        }
        if (nodes.shareable) {
            dev.add("share-rw", "on");
        }
        if (nodes.writeCache) {
            dev.add("write-cache", *nodes.writeCache ? "on" : "off");
        }
    };
    const std::string kind = device == "cdrom" ? "cdrom" : "hd";
    const auto idx = static_cast<unsigned>(index);
    const std::string alias = diskDeviceAlias(target, bus);

    if (bus == "virtio") {
        if (device == "cdrom") {
            return unsupported(where + ": a cdrom cannot use bus 'virtio' (use sata, scsi or ide)");
        }
        QemuOpts dev(pciOrMmio("virtio-blk"));
        std::string iothread = disk.childAttr("driver", "iothread");
        if (!iothread.empty()) {
            unsigned t = 0;
            if (!toUnsigned(iothread, t) || t == 0 || t > iothreads_) {
                return unsupported(where + ": <driver iothread='" + iothread + "'> names no iothread (the domain has " +
                                   std::to_string(iothreads_) + ")");
            }
            dev.add("iothread", "iothread" + std::to_string(t));
        }
        addCommon(dev);
        dev.add("id", alias);
        CORRAL_TRY(addPciAddress(dev, disk));
        CORRAL_TRY(addBootIndex(dev, disk, kind));
        add("-device", dev);
    } else if (bus == "scsi") {
        ensureScsiController(0);
        QemuOpts dev(device == "cdrom" ? "scsi-cd" : "scsi-hd");
        dev.add("bus", "scsi0.0").add("channel", 0u).add("scsi-id", 0u).add("lun", idx);
        addCommon(dev);
        dev.add("id", alias);
        CORRAL_TRY(addBootIndex(dev, disk, kind));
        add("-device", dev);
    } else if (bus == "sata") {
        if (machine_.family == MachineFamily::Microvm) {
            return unsupported(where + ": machine 'microvm' has no SATA controller (use bus 'virtio')");
        }
        if (index > 5) {
            return unsupported(where + ": a SATA controller has 6 ports (sda..sdf)");
        }
        ensureAhci();
        QemuOpts dev(device == "cdrom" ? "ide-cd" : "ide-hd");
        dev.add("bus", (machine_.family == MachineFamily::Q35 ? "ide." : "sata0.") + std::to_string(idx));
        addCommon(dev);
        dev.add("id", alias);
        CORRAL_TRY(addBootIndex(dev, disk, kind));
        add("-device", dev);
    } else if (bus == "ide") {
        if (machine_.family != MachineFamily::I440fx) {
            return unsupported(where + ": IDE controllers are unsupported for machine '" + machine_.qemuName +
                               "' (use bus 'sata' or 'scsi')");
        }
        if (index > 3) {
            return unsupported(where + ": the IDE controller has 4 units (hda..hdd)");
        }
        QemuOpts dev(device == "cdrom" ? "ide-cd" : "ide-hd");
        dev.add("bus", "ide." + std::to_string(idx / 2)).add("unit", idx % 2);
        addCommon(dev);
        dev.add("id", alias);
        CORRAL_TRY(addBootIndex(dev, disk, kind));
        add("-device", dev);
    } else {
        return unsupported(where + ": bus '" + bus + "' is not supported (virtio, sata, scsi, ide)");
    }
    return {};
}

Result<void> CommandBuilder::addInterface(const conf::XmlNode& iface, std::size_t index) {
    const std::string type = iface.attrOr("type");
    const std::string mac = iface.childAttr("mac", "address");
    const std::string where = "<interface type='" + type + "'>" + (mac.empty() ? "" : " with MAC " + mac);
    const std::string id = std::to_string(index);
    // The backend makes the tap (prepareTaps): named after <target dev> when given, attached to
    // <source bridge>, or to the bridge of <source network>, which it writes into the live
    // <source bridge> as libvirt does.
    if (type == "bridge" && iface.childAttr("source", "bridge").empty()) {
        return unsupported(where + ": needs <source bridge='NAME'/>");
    }
    if (type == "network") {
        if (iface.childAttr("source", "network").empty()) {
            return unsupported(where + ": needs <source network='NAME'/>");
        }
        iface.markChildAttrRead("source", "bridge");  // the live definition's record of the bridge used
    }
    if (type != "user") {
        iface.markChildAttrRead("target", "dev");
    }
    if (type == "user") {
        add("-netdev", QemuOpts("user").add("id", "hostnet" + id));
    } else if (type == "bridge" || type == "ethernet" || type == "network") {
        int fd = ctx_.planOnly ? 4 : index < ctx_.tapFds.size() ? ctx_.tapFds[index] : -1;
        if (fd < 0) {
            return unsupported(where + ": no tap device was prepared for it");
        }
        add("-netdev", QemuOpts("tap").add("fd", static_cast<unsigned>(fd)).add("id", "hostnet" + id));
    } else {
        return unsupported(where + ": interface type '" + type + "' is not supported (user, bridge, network, ethernet)");
    }
    std::string model = iface.childAttr("model", "type");
    if (model.empty()) {
        model = machine_.family == MachineFamily::Microvm ? "virtio" : "rtl8139";
    }
    std::string qemuModel;
    if (model == "virtio") {
        qemuModel = pciOrMmio("virtio-net");
    } else if (model == "e1000" || model == "rtl8139" || model == "e1000e") {
        if (machine_.family == MachineFamily::Microvm) {
            return unsupported(where + ": machine 'microvm' has no PCI bus (use <model type='virtio'/>)");
        }
        qemuModel = model;
    } else {
        return unsupported(where + ": <model type='" + model + "'> is not supported (virtio, e1000, e1000e, rtl8139)");
    }
    QemuOpts dev(qemuModel);
    dev.add("netdev", "hostnet" + id).add("id", "net" + id);
    if (!mac.empty()) {
        dev.add("mac", mac);
    }
    CORRAL_TRY(addPciAddress(dev, iface));
    CORRAL_TRY(addBootIndex(dev, iface, "network"));
    add("-device", dev);
    return {};
}

Result<std::string> CommandBuilder::chardevBackend(const conf::XmlNode& chr, const std::string& id) {
    const std::string type = chr.attrOr("type", "pty");
    const std::string path = chr.childAttr("source", "path");
    if (type == "pty" || type == "null") {
        return QemuOpts(type).add("id", id).str();
    }
    if (type == "file") {
        if (path.empty()) {
            return unsupported("<" + chr.name + " type='file'>: needs <source path=...>");
        }
        const std::string append = chr.childAttr("source", "append");
        if (!append.empty() && append != "on" && append != "off") {
            return unsupported("<" + chr.name + " type='file'>: <source append='" + append + "'> must be 'on' or 'off'");
        }
        QemuOpts backend("file");
        backend.add("id", id).add("path", path);
        if (append == "on") {
            backend.add("append", "on");
        }
        return backend.str();
    }
    if (type == "unix") {
        if (path.empty()) {
            return unsupported("<" + chr.name + " type='unix'>: needs <source path=...>");
        }
        QemuOpts backend("socket");
        backend.add("id", id).add("path", path);
        if (chr.childAttr("source", "mode") != "connect") {
            backend.add("server", "on").add("wait", "off");
        }
        return backend.str();
    }
    return unsupported("<" + chr.name + " type='" + type + "'>: character device type not supported (pty, file, unix, null)");
}

Result<void> CommandBuilder::addSerial(const conf::XmlNode& chr, unsigned index) {
    const std::string alias = "serial" + std::to_string(index);
    // ISA serial ports are numbered in the order they are created: COM1 is the first.
    if (const std::string port = chr.childAttr("target", "port"); !port.empty() && port != std::to_string(index)) {
        return unsupported("<" + chr.name + "><target port='" + port + "'>: serial ports are numbered in the order they "
                           "are defined (this one is port " + std::to_string(index) + ")");
    }
    const conf::XmlNode* target = chr.child("target");
    if (const std::string model = target != nullptr ? target->childAttr("model", "name") : std::string();
        !model.empty() && model != "isa-serial") {
        return unsupported("<" + chr.name + "><target><model name='" + model + "'>: only 'isa-serial' is supported");
    }
    CORRAL_ASSIGN_OR_RETURN(std::string backend, chardevBackend(chr, "char" + alias));
    add({"-chardev", backend});
    add("-device", QemuOpts("isa-serial").add("chardev", "char" + alias).add("id", alias));
    return {};
}

Result<void> CommandBuilder::addConsole(const conf::XmlNode& console, unsigned index) {
    std::string targetType = console.childAttr("target", "type");
    if (targetType.empty() || targetType == "serial") {
        // Paired with serial0 by post-parse: the same device, nothing more to add. Without a
        // <serial>, the console becomes the first serial port.
        if (serialCount_ == 0) {
            ++serialCount_;
            return addSerial(console, 0);
        }
        // libvirt's console on the first serial port is that port again: it must say the same.
        if (const std::string port = console.childAttr("target", "port"); !port.empty() && port != "0") {
            return unsupported("<console><target type='serial' port='" + port +
                               "'>: a serial console is the first serial port (port 0)");
        }
        for (const auto& dev : def_.devices) {
            if (dev.name == "serial") {
                if (console.attrOr("type", "pty") != dev.attrOr("type", "pty") ||
                    console.childAttr("source", "path") != dev.childAttr("source", "path") ||
                    console.childAttr("source", "mode") != dev.childAttr("source", "mode")) {
                    return unsupported("<console type='" + console.attrOr("type", "pty") +
                                       "'>: a console on the first serial port has that port's type and source");
                }
                break;
            }
        }
        return {};
    }
    if (targetType != "virtio") {
        return unsupported("<console><target type='" + targetType + "'>: not supported (serial, virtio)");
    }
    if (!virtioSerialAdded_) {
        virtioSerialAdded_ = true;
        QemuOpts serial(pciOrMmio("virtio-serial"));
        serial.add("id", "virtio-serial0");
        if (const std::string& addr = controllerAddress_["virtio-serial0"]; !addr.empty()) {
            serial.add("addr", addr);
        }
        add("-device", serial);
    }
    if (const std::string port = console.childAttr("target", "port");
        !port.empty() && port != std::to_string(virtioConsoles_)) {
        return unsupported("<console><target type='virtio' port='" + port +
                           "'>: virtio consoles are numbered in the order they are defined (this one is port " +
                           std::to_string(virtioConsoles_) + ")");
    }
    ++virtioConsoles_;
    std::string alias = "console" + std::to_string(index);
    CORRAL_ASSIGN_OR_RETURN(std::string backend, chardevBackend(console, "char" + alias));
    add({"-chardev", backend});
    add("-device", QemuOpts("virtconsole").add("chardev", "char" + alias).add("id", alias));
    return {};
}

Result<void> CommandBuilder::addGraphics(const conf::XmlNode& graphics) {
    const std::string type = graphics.attrOr("type");
    std::string listen = graphics.attrOr("listen");
    if (const conf::XmlNode* l = graphics.child("listen")) {
        const std::string listenType = l->attrOr("type", "address");
        if (listenType != "address") {
            return unsupported("<graphics type='" + type + "'><listen type='" + listenType +
                               "'>: only listen type 'address' is supported");
        }
        if (!l->attrOr("address").empty()) {
            listen = l->attrOr("address");
        }
    }
    if (listen.empty()) {
        listen = ctx_.vncListen;
    }
    if (!conf::isListenAddress(listen)) {
        // libvirt's schema (addrIPorName) has the same rule; a ',' would add QEMU options.
        return invalidXml("<graphics type='" + type + "'>: listen address '" + conf::printableText(listen) +
                          "' is not an IP address or host name");
    }
    // autoport='yes' (or no port): the backend picks a free port from 5900 before it builds
    // this command line (QemuBackend::allocateGraphicsPorts).
    const std::string autoport = graphics.attrOr("autoport", "no");
    if (autoport != "yes" && autoport != "no") {
        return unsupported("<graphics type='" + type + "' autoport='" + autoport + "'>: must be 'yes' or 'no'");
    }
    const std::string portText = graphics.attrOr("port", "-1");
    int port = -1;
    if (auto p = parseSigned(portText); p && *p > 0 && *p < 65536) {
        port = static_cast<int>(*p);
    }
    if (ctx_.planOnly && (autoport == "yes" || port < 0)) {
        port = 5900;  // a stand-in: the real one is chosen at start
    }
    if (type == "vnc") {
        if (hasGraphics_) {
            return unsupported("<graphics type='vnc'>: only one VNC display per guest");
        }
        if (port < 5900) {
            return unsupported("<graphics type='vnc'>: port " + portText + " was not allocated (5900 or above)");
        }
        std::string host = listen.find(':') != std::string::npos ? "[" + listen + "]" : listen;
        QemuOpts vnc(host + ":" + std::to_string(port - 5900));
        if (graphics.attr("passwd") != nullptr) {
            vnc.add("password", "on");
        }
        add("-vnc", vnc);
    } else if (type == "spice") {
        if (port <= 0) {
            return unsupported("<graphics type='spice'>: port " + portText + " was not allocated");
        }
        QemuOpts spice;
        spice.add("port", static_cast<unsigned>(port)).add("addr", listen);
        if (graphics.attr("passwd") == nullptr) {
            spice.add("disable-ticketing", "on");
        }
        add("-spice", spice);
    } else {
        return unsupported("<graphics type='" + type + "'>: not supported (vnc, spice)");
    }
    hasGraphics_ = true;
    return {};
}

Result<void> CommandBuilder::addVideo(const conf::XmlNode& video, unsigned index) {
    std::string model = video.childAttr("model", "type");
    if (const std::string heads = video.childAttr("model", "heads"); !heads.empty() && heads != "1") {
        return unsupported("<video><model heads='" + heads + "'>: only one head is supported");
    }
    // The first video device is the primary one; libvirt marks it so in its output.
    if (const std::string primary = video.childAttr("model", "primary"); !primary.empty() &&
        primary != (index == 0 ? "yes" : "no")) {
        return unsupported("<video><model primary='" + primary + "'>: the first video device is the primary one");
    }
    static const std::map<std::string, std::string, std::less<>> kModels = {
        {"vga", "VGA"}, {"cirrus", "cirrus-vga"}, {"virtio", "virtio-vga"}, {"qxl", "qxl-vga"}, {"bochs", "bochs-display"}};
    if (model == "none") {
        hasVideo_ = true;
        return {};
    }
    auto it = kModels.find(model.empty() ? "vga" : model);
    if (it == kModels.end()) {
        return unsupported("<video><model type='" + model + "'>: not supported (vga, cirrus, virtio, qxl, bochs, none)");
    }
    if (machine_.family == MachineFamily::Microvm) {
        return unsupported("<video>: machine 'microvm' has no PCI bus for a video card");
    }
    QemuOpts dev(it->second);
    dev.add("id", "video" + std::to_string(index));
    if (const std::string vram = video.childAttr("model", "vram"); !vram.empty()) {
        // VGA's and Cirrus's video memory (libvirt's vram, in KiB) is their vgamem_mb.
        unsigned kib = 0;
        if ((model != "" && model != "vga" && model != "cirrus") || !toUnsigned(vram, kib) || kib % 1024 != 0 ||
            kib < 1024) {
            return unsupported("<video><model type='" + model + "' vram='" + vram +
                               "'>: vram is supported for vga and cirrus, in whole MiB");
        }
        dev.add("vgamem_mb", kib / 1024);
    }
    CORRAL_TRY(addPciAddress(dev, video));
    hasVideo_ = true;
    add("-device", dev);
    return {};
}

Result<void> CommandBuilder::addController(const conf::XmlNode& controller) {
    const std::string type = controller.attrOr("type");
    const std::string model = controller.attrOr("model");
    const std::string index = controller.attrOr("index", "0");
    const std::string where = "<controller type='" + type + "' index='" + index + "'>";
    if (type == "usb") {
        if (index != "0") {
            return unsupported(where + ": only one USB controller (index 0) is supported");
        }
        if (model == "none" || (model.empty() && machine_.family == MachineFamily::Microvm)) {
            return {};
        }
        return ensureUsbController();
    }
    if (type == "scsi") {
        if (!model.empty() && model != "virtio-scsi") {
            return unsupported("<controller type='scsi' model='" + model + "'>: only virtio-scsi is supported");
        }
        unsigned number = 0;
        if (!toUnsigned(index, number)) {
            return unsupported(where + ": index is not a number");
        }
        ensureScsiController(number);
        return {};
    }
    if (type == "sata") {
        if (index != "0") {
            return unsupported(where + ": only one SATA controller (index 0) is supported");
        }
        ensureAhci();
        return {};
    }
    if (type == "pci") {
        // The root bus is the machine's own; bridges and root ports are not modelled.
        const std::string root = machine_.family == MachineFamily::Q35 ? "pcie-root" : "pci-root";
        if (index != "0" || (!model.empty() && model != root)) {
            return unsupported(where + (model.empty() ? "" : " model='" + model + "'") +
                               ": only the machine's root bus ('" + root + "', index 0) is supported");
        }
        return {};
    }
    if (type == "ide" || type == "virtio-serial") {
        if (index != "0") {
            return unsupported(where + ": only one " + type + " controller (index 0) is supported");
        }
        if (type == "ide" && machine_.family != MachineFamily::I440fx) {
            return unsupported(where + ": IDE controllers are unsupported for machine '" + machine_.qemuName + "'");
        }
        return {};  // built into the machine or added with the devices that need them
    }
    return unsupported("<controller type='" + type + "'>: not supported by this driver");
}

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
        if (pc && type == "usb" && (model.empty() || model == "piix3-uhci") && at(1, 2)) {
            controllerAddress_["usb0"] = "0x1.0x2";  // PIIX3's USB function, as libvirt places it
            continue;
        }
        if (type != "usb" && type != "scsi" && type != "virtio-serial") {
            return unsupported(where + ": the " + type + " controller is the machine's own and stays where it is");
        }
        CORRAL_ASSIGN_OR_RETURN(controllerAddress_[type + index], pciSlot(dev));
    }
    return {};
}

Result<std::string> CommandBuilder::pciSlot(const conf::XmlNode& device) const {
    const conf::XmlNode* address = device.child("address");
    if (address == nullptr) {
        return std::string();
    }
    const std::string where = "<" + device.name + "> <address type='" + address->attrOr("type") + "'>";
    if (address->attrOr("type") != "pci") {
        return unsupported(where + ": a PCI device takes a PCI address here");
    }
    CORRAL_ASSIGN_OR_RETURN(auto pci, conf::pciAddressOf(device));
    if (const std::string* mf = address->attr("multifunction"); mf != nullptr && *mf != "off") {
        return unsupported(where + ": multifunction='" + *mf + "' is not supported");
    }
    if (!pci || pci->unassigned()) {
        return std::string();  // libvirt's "put it where it goes": QEMU's next free slot
    }
    if (machine_.family == MachineFamily::Microvm) {
        return unsupported(where + ": machine 'microvm' has no PCI bus");
    }
    if (pci->domain != 0 || pci->bus != 0) {
        // Bridges and root ports are not modelled: a device is never put anywhere but where
        // the definition asks, so an address behind one is refused.
        return unsupported(where + ": bus " + std::to_string(pci->bus) +
                           " is not supported (devices go on the root bus, bus 0)");
    }
    if (pci->slot == 0 || pci->slot > 31 || pci->function != 0) {
        return unsupported(where + ": on the root bus only slots 1 to 31, function 0, are supported");
    }
    char slot[8];
    std::snprintf(slot, sizeof slot, "0x%x", pci->slot);
    return std::string(slot);
}

Result<void> CommandBuilder::addPciAddress(QemuOpts& opts, const conf::XmlNode& device) const {
    CORRAL_ASSIGN_OR_RETURN(std::string slot, pciSlot(device));
    if (!slot.empty()) {
        opts.add("addr", slot);
    }
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

Result<void> CommandBuilder::addWatchdog(const conf::XmlNode& watchdog) {
    if (!watchdogAction_.empty()) {
        return unsupported("<watchdog>: only one watchdog device per domain is supported");
    }
    std::string model = watchdog.attrOr("model");
    if (model != "i6300esb" && model != "ib700") {
        return unsupported("<watchdog model='" + model + "'>: only the i6300esb (PCI) and ib700 (ISA) watchdogs are "
                           "supported");
    }
    if (machine_.family == MachineFamily::Microvm) {
        return unsupported("<watchdog>: machine 'microvm' has neither a PCI nor an ISA bus for it");
    }
    if (model == "ib700" && machine_.family != MachineFamily::I440fx) {
        return unsupported("<watchdog model='ib700'>: the ISA watchdog needs an i440FX ('pc') machine");
    }
    // libvirt's actions are QEMU's, except 'dump' (a core dump first), which is not supported.
    std::string action = watchdog.attrOr("action", "reset");
    static const std::set<std::string> kActions = {"reset", "shutdown", "poweroff", "pause", "none", "inject-nmi"};
    if (kActions.count(action) == 0) {
        return unsupported("<watchdog action='" + action +
                           "'>: supported actions are reset, shutdown, poweroff, pause, none and inject-nmi");
    }
    QemuOpts dev(model);
    dev.add("id", "watchdog0");
    if (model == "i6300esb") {
        CORRAL_TRY(addPciAddress(dev, watchdog));
    }
    watchdogAction_ = action;
    add("-device", dev);
    return {};
}

Result<void> CommandBuilder::addRng(const conf::XmlNode& rng) {
    if (const std::string model = rng.attrOr("model", "virtio"); model != "virtio") {
        return unsupported("<rng model='" + model + "'>: only virtio is supported");
    }
    const conf::XmlNode* backendNode = rng.child("backend");
    if (backendNode != nullptr && backendNode->attrOr("model", "random") != "random") {
        return unsupported("<rng><backend model='" + backendNode->attrOr("model") +
                           "'>: only the 'random' backend (a host entropy device) is supported");
    }
    std::string backend = rng.childText("backend");
    if (backend.empty()) {
        backend = "/dev/urandom";
    }
    std::string id = std::to_string(rngCount_++);
    add("-object", QemuOpts("rng-random").add("id", "objrng" + id).add("filename", backend));
    QemuOpts dev(pciOrMmio("virtio-rng"));
    dev.add("rng", "objrng" + id).add("id", "rng" + id);
    CORRAL_TRY(addPciAddress(dev, rng));
    add("-device", dev);
    return {};
}

Result<void> CommandBuilder::addDevice(const conf::XmlNode& dev) {
    const std::string& kind = dev.name;
    if (kind == "disk") {
        return addDisk(dev);
    }
    if (kind == "interface") {
        return addInterface(dev, interfaceIndex_++);
    }
    if (kind == "serial") {
        if (const std::string target = dev.childAttr("target", "type"); !target.empty() && target != "isa-serial") {
            return unsupported("<serial><target type='" + target + "'>: not supported (isa-serial)");
        }
        return addSerial(dev, serialCount_++);
    }
    if (kind == "console") {
        return {};  // after the serial ports: see build()
    }
    if (kind == "graphics") {
        return addGraphics(dev);
    }
    if (kind == "video") {
        return addVideo(dev, videoCount_++);
    }
    if (kind == "controller") {
        return addController(dev);
    }
    if (kind == "memballoon") {
        std::string model = dev.attrOr("model", "virtio");
        if (model == "none") {
            return {};
        }
        if (model != "virtio") {
            return unsupported("<memballoon model='" + model + "'>: only virtio is supported");
        }
        QemuOpts balloon(pciOrMmio("virtio-balloon"));
        balloon.add("id", "balloon0");
        CORRAL_TRY(addPciAddress(balloon, dev));
        add("-device", balloon);
        return {};
    }
    if (kind == "rng") {
        return addRng(dev);
    }
    if (kind == "panic") {
        std::string model = dev.attrOr("model", "isa");
        if (model != "isa" && model != "pvpanic") {
            return unsupported("<panic model='" + model + "'>: only the ISA pvpanic device is supported");
        }
        if (machine_.family == MachineFamily::Microvm) {
            return unsupported("<panic>: machine 'microvm' has no pvpanic device");
        }
        if (const conf::XmlNode* address = dev.child("address")) {
            // The ISA pvpanic device answers at port 0x505, where libvirt's output places it.
            const std::string iobase = address->attrOr("iobase");
            if (address->attrOr("type") != "isa" || (!iobase.empty() && iobase != "0x505")) {
                return unsupported("<panic> <address type='" + address->attrOr("type") + "' iobase='" + iobase +
                                   "'>: the pvpanic device is at ISA port 0x505");
            }
        }
        hasPanic_ = true;
        add({"-device", "pvpanic"});
        return {};
    }
    if (kind == "watchdog") {
        return addWatchdog(dev);
    }
    if (kind == "audio" && dev.attrOr("type") == "none") {
        // libvirt's "no audio backend": with no sound device (<sound> is not supported) the
        // guest has no audio at all, which is what it asks for.
        dev.markAttrRead("id");
        return {};
    }
    if (kind == "input") {
        std::string type = dev.attrOr("type");
        std::string bus = dev.attrOr("bus", type == "tablet" ? "usb" : "ps2");
        if (bus == "ps2" && (type == "mouse" || type == "keyboard")) {
            if (machine_.family == MachineFamily::Microvm) {
                return unsupported("<input bus='ps2'>: machine 'microvm' has no PS/2 controller");
            }
            return {};  // the i8042 keyboard and mouse are part of the machine
        }
        if (bus == "usb" && (type == "tablet" || type == "mouse" || type == "keyboard")) {
            CORRAL_TRY(ensureUsbController());
            std::string model = type == "tablet" ? "usb-tablet" : type == "mouse" ? "usb-mouse" : "usb-kbd";
            QemuOpts input(model);
            input.add("id", "input" + std::to_string(inputCount_++)).add("bus", "usb.0");
            CORRAL_TRY(addUsbAddress(input, dev));
            add("-device", input);
            return {};
        }
        return unsupported("<input type='" + type + "' bus='" + bus + "'>: not supported");
    }
    return unsupported("<" + kind + ">: this device kind is not supported by the QEMU driver yet");
}

Result<std::vector<std::string>> CommandBuilder::build() {
    argv_.push_back(def_.emulator.empty() ? ctx_.emulator : def_.emulator);
    // The name is the definition's, so escaped: "x,process=evil" must stay one name.
    add("-name", QemuOpts().add("guest", def_.name).add("debug-threads", "on"));
    add({"-uuid", def_.uuid.toString()});
    add({"-no-user-config", "-nodefaults"});

    CORRAL_ASSIGN_OR_RETURN(QemuOpts machine, machineOption());
    add("-machine", machine);
    CORRAL_TRY(addCpuAndMemory());
    CORRAL_TRY(addBootOptions());

    add("-chardev", QemuOpts("socket")
                        .add("id", "charmonitor")
                        .add("fd", static_cast<unsigned>(ctx_.monitorFd))
                        .add("server", "on")
                        .add("wait", "off"));
    add("-mon", QemuOpts().add("chardev", "charmonitor").add("id", "monitor").add("mode", "control"));
    if (!ctx_.pidFile.empty()) {
        add({"-pidfile", ctx_.pidFile});
    }
    const conf::XmlNode* clock = def_.element("clock");
    std::string offset = clock != nullptr ? clock->attrOr("offset", "utc") : "utc";
    if (offset != "utc" && offset != "localtime") {
        return unsupported("<clock offset='" + offset + "'>: not supported (utc, localtime)");
    }
    add("-rtc", QemuOpts().add("base", offset));
    // QEMU stops the vCPUs instead of exiting when the guest powers off: the daemon applies
    // on_poweroff itself, and an ACPI reboot (power off, then reset) needs the process to stay.
    add({"-no-shutdown"});
    if (def_.onReboot == "destroy") {
        add({"-no-reboot"});
    }

    CORRAL_TRY(planControllerAddresses());
    for (const auto& dev : def_.devices) {
        CORRAL_TRY(addDevice(dev));
    }
    unsigned consoles = 0;
    for (const auto& dev : def_.devices) {
        if (dev.name == "console") {
            CORRAL_TRY(addConsole(dev, consoles++));
        }
    }
    if (hasGraphics_ && !hasVideo_ && machine_.family != MachineFamily::Microvm) {
        add("-device", QemuOpts("VGA").add("id", "video0"));
    }
    if (!hasGraphics_) {
        add({"-display", "none"});
    }
    if (hasPanic_) {
        add({"-action", "panic=pause"});  // the daemon applies on_crash when GUEST_PANICKED arrives
    }
    if (!watchdogAction_.empty()) {
        add("-action", QemuOpts().add("watchdog", watchdogAction_));  // QEMU acts and reports WATCHDOG
    }
    if (ctx_.seccompSandbox) {
        add({"-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"});
    }
    if (ctx_.startPaused || !ctx_.incoming.empty()) {
        add({"-S"});
    }
    if (!ctx_.incoming.empty()) {
        add({"-incoming", ctx_.incoming});
    }
    add({"-msg", "timestamp=on"});
    return std::move(argv_);
}

}  // namespace

Result<std::vector<std::string>> buildQemuCommandLine(const conf::DomainDef& def, const QemuLaunchContext& ctx) {
    if (def.type != "qemu" && def.type != "kvm") {
        return unsupported("domain type '" + def.type + "' is not supported by the QEMU driver (qemu, kvm)");
    }
    if (!def.os.type.empty() && def.os.type != "hvm") {
        return unsupported("<os><type>" + def.os.type + "</type>: the QEMU driver runs 'hvm' guests only");
    }
    CORRAL_ASSIGN_OR_RETURN(Machine machine, resolveMachine(def));
    for (const char* action : {"coredump-destroy", "coredump-restart"}) {
        if (def.onPoweroff == action || def.onReboot == action) {
            return unsupported("<on_poweroff>/<on_reboot>" + std::string(action) + ": only <on_crash> takes it");
        }
    }
    for (const char* action : {"coredump-destroy", "coredump-restart"}) {
        if (def.onCrash == action) {
            return unsupported("<on_crash>" + std::string(action) + "</on_crash>: core dumps are not supported by this driver");
        }
    }
    CommandBuilder builder(def, ctx, std::move(machine));
    return builder.build();
}

Result<void> checkQemuDefinition(const conf::DomainDef& def) {
    QemuLaunchContext ctx;
    ctx.monitorFd = 3;
    ctx.planOnly = true;
    CORRAL_TRY(buildQemuCommandLine(def, ctx));
    return {};
}

}  // namespace corral::drivers::qemu
