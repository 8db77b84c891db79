// SPDX-License-Identifier: LGPL-2.1-or-later
// buildQemuCommandLine: libvirt's domain XML to a QEMU 7.2 command line (-blockdev era): the
// machine, CPU, memory, boot, disks and interfaces; the other devices are in
// qemu_command_devices.cpp, device placement in qemu_command_addresses.cpp.
#include "drivers/qemu/qemu_command.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "conf/object_name.hpp"
#include "drivers/qemu/qemu_command_builder.hpp"
#include "util/json.hpp"
#include "util/strings.hpp"

namespace corral::drivers::qemu {

namespace detail {

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

std::optional<MachineFamily> machineFamilyOf(std::string_view m) {
    if (m == "pc" || startsWith(m, "pc-i440fx-") || m == "pc-1.0") {
        return MachineFamily::I440fx;
    }
    if (m == "q35" || startsWith(m, "pc-q35-")) {
        return MachineFamily::Q35;
    }
    if (m == "microvm") {
        return MachineFamily::Microvm;
    }
    return std::nullopt;
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
    if (auto family = machineFamilyOf(m)) {
        return Machine{*family, m};
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
    CORRAL_ASSIGN_OR_RETURN(std::optional<bool> hpet, hpetState());
    if (hpet) {
        machine.add("hpet", *hpet ? "on" : "off");
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

void CommandBuilder::ensureScsiController(unsigned index) {
    if (scsiControllers_.insert(index).second) {
        QemuOpts scsi(pciOrMmio("virtio-scsi"));
        scsi.add("id", "scsi" + std::to_string(index));
        addControllerPlacement(scsi, "scsi" + std::to_string(index));
        add("-device", scsi);
    }
}

void CommandBuilder::ensureAhci() {
    if (!ahciAdded_ && machine_.family == MachineFamily::I440fx) {
        ahciAdded_ = true;
        QemuOpts ahci("ahci");
        ahci.add("id", "sata0");
        addControllerPlacement(ahci, "sata0");
        add("-device", ahci);
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
    if (nodes.secret) {
        // The passphrase never appears here: QEMU reads it from the descriptor it inherits.
        auto fd = ctx_.diskSecretFds.find(target);
        if (!ctx_.planOnly && fd == ctx_.diskSecretFds.end()) {
            return fail(ErrorCode::InternalError, where + ": no passphrase descriptor was prepared", ErrorDomain::Qemu);
        }
        QemuOpts secret("secret");
        secret.add("id", nodes.secret->objectId)
            .add("format", "raw")
            .add("file", "/proc/self/fd/" + std::to_string(ctx_.planOnly ? 3 : fd->second));
        add("-object", secret);
    }
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
        // The identifier the guest reads from the disk's VPD page (its /dev/disk/by-id name),
        // as libvirt sets it: the serial, or the name QEMU's -drive gave before -blockdev.
        dev.add("device_id", serial.empty() ? "drive-" + alias : serial);
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
    // <link state='down'>: the backend takes the link down (set_link) before the guest runs.
    if (const std::string link = iface.childAttr("link", "state"); !link.empty() && link != "up" && link != "down") {
        return unsupported(where + ": <link state='" + link + "'> is not a link state (up, down)");
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
    CORRAL_TRY(addClockAndPower());
    // QEMU stops the vCPUs instead of exiting when the guest powers off: the daemon applies
    // on_poweroff itself, and an ACPI reboot (power off, then reset) needs the process to stay.
    add({"-no-shutdown"});
    if (def_.onReboot == "destroy") {
        add({"-no-reboot"});
    }
    // As libvirt: the firmware boots only the devices given a bootindex (post-parse gives the
    // first disk one when the definition names no boot device), never falls through to others.
    add({"-boot", "strict=on"});
    for (const auto& dev : def_.devices) {
        hasSpice_ = hasSpice_ || (dev.name == "graphics" && dev.attrOr("type") == "spice");
    }
    // As libvirt: one audio backend on every guest, SPICE's or one that plays and records
    // nothing. Without it a VNC client asking for the guest's audio would make QEMU open a host
    // audio system (PulseAudio, ALSA) of its own choosing; sound devices play through it.
    CORRAL_TRY(ensureAudiodev());

    CORRAL_TRY(planControllerAddresses());
    // PCI controllers first, as libvirt orders them: a device on a root port's bus needs the
    // port to exist when QEMU creates it, whatever the order of the definition.
    for (const auto& dev : def_.devices) {
        if (dev.name == "controller" && dev.attrOr("type") == "pci") {
            CORRAL_TRY(addPciController(dev));
        }
    }
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
    // As libvirt: the vCPUs wait for the daemon's `cont`, so the guest's first instruction runs
    // inside its vCPU groups and pinning, with its VNC password and balloon target set.
    add({"-S"});
    if (!ctx_.incoming.empty()) {
        add({"-incoming", ctx_.incoming});
    }
    add({"-msg", "timestamp=on"});
    return std::move(argv_);
}

}  // namespace detail

Result<std::vector<std::string>> buildQemuCommandLine(const conf::DomainDef& def, const QemuLaunchContext& ctx) {
    if (def.type != "qemu" && def.type != "kvm") {
        return detail::unsupported("domain type '" + def.type + "' is not supported by the QEMU driver (qemu, kvm)");
    }
    if (!def.os.type.empty() && def.os.type != "hvm") {
        return detail::unsupported("<os><type>" + def.os.type + "</type>: the QEMU driver runs 'hvm' guests only");
    }
    CORRAL_ASSIGN_OR_RETURN(detail::Machine machine, detail::resolveMachine(def));
    for (const char* action : {"coredump-destroy", "coredump-restart"}) {
        if (def.onPoweroff == action || def.onReboot == action) {
            return detail::unsupported("<on_poweroff>/<on_reboot>" + std::string(action) + ": only <on_crash> takes it");
        }
    }
    for (const char* action : {"coredump-destroy", "coredump-restart"}) {
        if (def.onCrash == action) {
            return detail::unsupported("<on_crash>" + std::string(action) + "</on_crash>: core dumps are not supported by this driver");
        }
    }
    detail::CommandBuilder builder(def, ctx, std::move(machine));
    return builder.build();
}

bool driverBuildsMachine(std::string_view machine) { return detail::machineFamilyOf(machine).has_value(); }

Result<void> checkQemuDefinition(const conf::DomainDef& def, bool spiceTls) {
    QemuLaunchContext ctx;
    ctx.monitorFd = 3;
    ctx.planOnly = true;
    if (spiceTls) {
        ctx.spiceTlsDirFd = 4;  // a stand-in: the copy of the certificates is made at start
    }
    CORRAL_TRY(buildQemuCommandLine(def, ctx));
    return {};
}

}  // namespace corral::drivers::qemu
