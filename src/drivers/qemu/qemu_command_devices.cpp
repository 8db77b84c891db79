// SPDX-License-Identifier: LGPL-2.1-or-later
// The devices of a QEMU command line other than disks and interfaces: character devices,
// graphics, video, controllers, watchdog, entropy, panic, input.
#include <cstdio>

#include "conf/object_name.hpp"
#include "drivers/qemu/qemu_command_builder.hpp"
#include "util/strings.hpp"

namespace corral::drivers::qemu::detail {

Result<std::string> CommandBuilder::chardevBackend(const conf::XmlNode& chr, const std::string& id) {
    const std::string type = chr.attrOr("type", "pty");
    const std::string path = chr.childAttr("source", "path");
    if (type == "pty") {
        // The daemon serves the console: QEMU listens on a socket the daemon made in its own
        // directory and passed in (a pty of QEMU's would be open to the host's tty group), and
        // virsh console connects through the daemon. <source path> and the console's tty= are
        // the live record of where that is; a start chooses them anew.
        chr.markAttrRead("tty");
        int fd = 5;  // a stand-in when only planning
        if (!ctx_.planOnly) {
            if (!ctx_.chardevSocket) {
                return unsupported("<" + chr.name + " type='pty'>: no console socket was prepared for it");
            }
            CORRAL_ASSIGN_OR_RETURN(fd, ctx_.chardevSocket(id));
        }
        return QemuOpts("socket")
            .add("id", id)
            .add("fd", static_cast<unsigned>(fd))
            .add("server", "on")
            .add("wait", "off")
            .str();
    }
    if (type == "null") {
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
                // A pty's path is the record of a start (a new one is chosen at each).
                const bool pty = console.attrOr("type", "pty") == "pty";
                console.markChildAttrRead("source", "path");
                console.markAttrRead("tty");
                if (console.attrOr("type", "pty") != dev.attrOr("type", "pty") ||
                    (!pty && console.childAttr("source", "path") != dev.childAttr("source", "path")) ||
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
    ensureVirtioSerial();
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

Result<void> CommandBuilder::addKeymap(const conf::XmlNode& graphics) {
    const std::string* keymap = graphics.attr("keymap");
    if (keymap == nullptr) {
        return {};
    }
    // QEMU reads the file of that name from its keymaps directory: a name, never a path.
    if (!isQemuTypeName(*keymap) || keymap->find("..") != std::string::npos) {
        return invalidXml("<graphics keymap='" + conf::printableText(*keymap) + "'>: not a keymap name");
    }
    if (!keymap_.empty() && keymap_ != *keymap) {
        return unsupported("<graphics keymap='" + *keymap + "'>: another display of this guest has keymap '" +
                           keymap_ + "' (QEMU has one keymap)");
    }
    if (keymap_.empty()) {
        keymap_ = *keymap;
        add({"-k", *keymap});
    }
    return {};
}

Result<void> CommandBuilder::addGraphics(const conf::XmlNode& graphics) {
    const std::string type = graphics.attrOr("type");
    std::string listen = graphics.attrOr("listen");
    bool listensNowhere = false;
    if (const conf::XmlNode* l = graphics.child("listen")) {
        const std::string listenType = l->attrOr("type", "address");
        listensNowhere = listenType == "none" && type == "vnc";
        if (listenType != "address" && !listensNowhere) {
            return unsupported("<graphics type='" + type + "'><listen type='" + listenType +
                               "'>: not supported (address" + (type == "vnc" ? ", none" : "") + ")");
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
    CORRAL_TRY(addKeymap(graphics));
    CORRAL_ASSIGN_OR_RETURN(auto expiry, graphicsPasswordExpiry(graphics));
    const bool hasPassword = graphics.attr("passwd") != nullptr || (type == "vnc" && ctx_.vncDefaultPassword);
    if (expiry && !hasPassword) {
        // An expiry promises a console that closes; without a password it never was closed.
        return unsupported("<graphics type='" + type + "' passwdValidTo>: needs a password (passwd=" +
                           (type == "vnc" ? ", or qemu.conf's vnc_password)" : ")"));
    }
    if (type == "vnc") {
        if (hasGraphics_) {
            return unsupported("<graphics type='vnc'>: only one VNC display per guest");
        }
        if (port < 5900 && !listensNowhere) {
            return unsupported("<graphics type='vnc'>: port " + portText + " was not allocated (5900 or above)");
        }
        std::string host = listen.find(':') != std::string::npos ? "[" + listen + "]" : listen;
        // <listen type='none'>: QEMU keeps the display and listens nowhere (screenshots only).
        QemuOpts vnc(listensNowhere ? std::string("none") : host + ":" + std::to_string(port - 5900));
        if (hasPassword) {
            vnc.add("password", "on");  // the password itself goes through QMP set_password
        }
        if (const std::string* websocket = graphics.attr("websocket")) {
            // VNC over a websocket (noVNC in a browser), on the display's address, with the
            // display's password and TLS. -1: a port from qemu.conf's websocket range at start.
            int ws = -1;
            if (auto p = parseSigned(*websocket); p && *p > 0 && *p < 65536) {
                ws = static_cast<int>(*p);
            } else if (*websocket == "-1" && ctx_.planOnly) {
                ws = 5700;  // a stand-in: the real one is chosen at start
            }
            if (ws < 0 || listensNowhere) {
                return unsupported("<graphics type='vnc' websocket='" + conf::printableText(*websocket) + "'>: " +
                                   (listensNowhere ? "a display that listens nowhere has no websocket"
                                                   : "not a port (1-65535, or -1 for one chosen at start)"));
            }
            vnc.add("websocket", host + ":" + std::to_string(ws));
        }
        if (const std::string* share = graphics.attr("sharePolicy")) {
            if (*share != "allow-exclusive" && *share != "force-shared" && *share != "ignore") {
                return unsupported("<graphics type='vnc' sharePolicy='" + conf::printableText(*share) +
                                   "'>: not a share policy (allow-exclusive, force-shared, ignore)");
            }
            vnc.add("share", *share);
        }
        if (ctx_.vncTlsDirFd >= 0) {
            // The directory is reached through the inherited descriptor: QEMU, as the guest's
            // identity, could not walk the daemon's run directory to it by name.
            QemuOpts creds("tls-creds-x509");
            creds.add("id", "vnc-tls-creds0")
                .add("dir", "/proc/self/fd/" + std::to_string(ctx_.vncTlsDirFd))
                .add("endpoint", "server")
                .add("verify-peer", ctx_.vncTlsVerify ? "on" : "off");
            add("-object", creds);
            vnc.add("tls-creds", "vnc-tls-creds0");
        }
        vnc.add("audiodev", "audio1");  // build() adds it: the client hears nothing
        add("-vnc", vnc);
    } else if (type == "spice") {
        const bool tlsOn = ctx_.spiceTlsDirFd >= 0;
        CORRAL_ASSIGN_OR_RETURN(SpicePorts needs, spicePortsNeeded(graphics, tlsOn));
        QemuOpts spice;
        if (needs.plain) {
            if (port <= 0) {
                return unsupported("<graphics type='spice'>: port " + portText + " was not allocated");
            }
            spice.add("port", static_cast<unsigned>(port));
        }
        if (needs.tls) {
            const std::string tlsText = graphics.attrOr("tlsPort", "-1");
            auto tlsPort = parseSigned(tlsText);
            int tls = tlsPort && *tlsPort > 0 && *tlsPort < 65536 ? static_cast<int>(*tlsPort) : -1;
            if (ctx_.planOnly && tls < 0) {
                tls = 5901;  // a stand-in: the real one is chosen at start
            }
            if (tls < 0) {
                return unsupported("<graphics type='spice'>: tlsPort " + tlsText + " was not allocated");
            }
            spice.add("tls-port", static_cast<unsigned>(tls));
        }
        spice.add("addr", listen);
        if (graphics.attr("passwd") == nullptr) {
            spice.add("disable-ticketing", "on");
        }
        if (needs.tls) {
            // Reached through the inherited descriptor, as VNC's (see above).
            spice.add("x509-dir", "/proc/self/fd/" + std::to_string(ctx_.spiceTlsDirFd));
        }
        for (const auto& [channel, mode] : needs.channelModes) {
            if (mode != "any") {
                spice.add(mode == "secure" ? "tls-channel" : "plaintext-channel", channel);
            }
        }
        if (const conf::XmlNode* image = graphics.child("image")) {
            static const std::set<std::string, std::less<>> kCompression = {"auto_glz", "auto_lz", "quic",
                                                                            "glz",      "lz",      "off"};
            const std::string compression = image->attrOr("compression");
            if (kCompression.count(compression) == 0) {
                return unsupported("<graphics type='spice'><image compression='" + compression +
                                   "'>: not supported (auto_glz, auto_lz, quic, glz, lz, off)");
            }
            spice.add("image-compression", compression);
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
    if (model == "qxl") {
        // The one head allowed above, told to QXL as libvirt does (its default, 0, sets no
        // limit: a SPICE client could configure more displays than the definition has).
        dev.add("max_outputs", 1u);
    }
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
        return {};  // build() adds them before any device
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

Result<void> CommandBuilder::addPciController(const conf::XmlNode& controller) {
    const std::string model = controller.attrOr("model");
    const std::string index = controller.attrOr("index", "0");
    const std::string where = "<controller type='pci' index='" + index + "'" + (model.empty() ? "" : " model='" + model + "'") + ">";
    const bool q35 = machine_.family == MachineFamily::Q35;
    const std::string root = q35 ? "pcie-root" : "pci-root";
    if (index == "0") {
        if (!model.empty() && model != root) {
            return unsupported(where + ": index 0 is the machine's root bus ('" + root + "')");
        }
        return {};  // the machine's own
    }
    // PCIe root ports, which virt-install gives every q35 guest (libvirt's way to leave room for
    // hotplug: the root bus itself takes none). Devices are still placed on the root bus; a
    // device addressed to a port's bus is refused where its address is read. Other bridges are
    // not modelled.
    if (model != "pcie-root-port" || !q35) {
        return unsupported(where + ": only the machine's root bus and, on q35, pcie-root-port controllers are supported");
    }
    unsigned number = 0;
    if (!toUnsigned(index, number) || number == 0 || number > 255) {
        return unsupported(where + ": expected an index from 1 to 255");
    }
    // libvirt writes the QEMU device's name back as <model name>: the only one is the port itself.
    if (const std::string name = controller.childAttr("model", "name"); !name.empty() && name != "pcie-root-port") {
        return unsupported(where + " <model name='" + name + "'>: only QEMU's pcie-root-port is supported");
    }
    // libvirt's defaults: chassis = index, port 0x10 + index - 1 (it numbers ports from 0x10).
    unsigned chassis = number, port = 0x10 + number - 1;
    if (const conf::XmlNode* target = controller.child("target")) {
        if (const std::string* c = target->attr("chassis"); c != nullptr && (!toUnsigned(*c, chassis) || chassis > 255)) {
            return unsupported(where + " <target chassis='" + *c + "'>: expected 0 to 255");
        }
        if (const std::string* p = target->attr("port"); p != nullptr && (!toUnsigned(*p, port) || port > 255)) {
            return unsupported(where + " <target port='" + *p + "'>: expected 0 to 0xff");
        }
    }
    QemuOpts dev("pcie-root-port");
    dev.add("port", port).add("chassis", chassis).add("id", "pci." + index);
    if (auto place = controllerPlace_.find("pci" + index); place != controllerPlace_.end() && !place->second.empty()) {
        if (place->second.front().second != "pcie.0") {
            return unsupported(where + " <address>: a root port goes on the root bus (bus 0)");
        }
        addPlacement(dev, place->second);
    } else {
        dev.add("bus", "pcie.0");
    }
    add("-device", dev);
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

Result<std::string> CommandBuilder::ensureAudiodev() {
    if (!audiodev_.empty()) {
        return audiodev_;
    }
    std::string driver = hasSpice_ ? "spice" : "none";
    for (const auto& dev : def_.devices) {
        if (dev.name == "audio") {
            driver = dev.attrOr("type");  // checked where addDevice meets it
        }
    }
    audiodev_ = "audio1";
    add("-audiodev", QemuOpts(driver).add("id", audiodev_));
    return audiodev_;
}

Result<void> CommandBuilder::addSound(const conf::XmlNode& sound, unsigned index) {
    const std::string model = sound.attrOr("model");
    if (machine_.family == MachineFamily::Microvm) {
        return unsupported("<sound>: machine 'microvm' has no PCI bus for a sound card");
    }
    static const std::map<std::string, std::string, std::less<>> kModels = {
        {"ich6", "intel-hda"}, {"ich9", "ich9-intel-hda"}, {"ac97", "AC97"}};
    auto it = kModels.find(model);
    if (it == kModels.end()) {
        return unsupported("<sound model='" + model + "'>: not supported (ich6, ich9, ac97)");
    }
    CORRAL_ASSIGN_OR_RETURN(std::string audiodev, ensureAudiodev());
    const std::string id = "sound" + std::to_string(index);
    QemuOpts dev(it->second);
    dev.add("id", id);
    if (model == "ac97") {
        dev.add("audiodev", audiodev);
    }
    CORRAL_TRY(addPciAddress(dev, sound));
    add("-device", dev);
    if (model != "ac97") {
        // An HD Audio controller plays through a codec on its bus: libvirt's default, duplex.
        add("-device", QemuOpts("hda-duplex")
                           .add("id", id + "-codec0")
                           .add("bus", id + ".0")
                           .add("cad", 0u)
                           .add("audiodev", audiodev));
    }
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
    if (kind == "audio") {
        // The backend of the sound devices (ensureAudiodev): none, or SPICE's, one per domain.
        const std::string type = dev.attrOr("type");
        if (type != "none" && type != "spice") {
            return unsupported("<audio type='" + type + "'>: not supported (none, spice)");
        }
        if (type == "spice" && !hasSpice_) {
            return unsupported("<audio type='spice'> needs <graphics type='spice'>");
        }
        if (const std::string id = dev.attrOr("id", "1"); id != "1") {
            return unsupported("<audio id='" + id + "'>: only one audio backend (id 1) is supported");
        }
        return {};
    }
    if (kind == "sound") {
        return addSound(dev, soundCount_++);
    }
    if (kind == "channel") {
        return addChannel(dev, channelCount_++);
    }
    if (kind == "redirdev") {
        return addRedirdev(dev, redirCount_++);
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

}  // namespace corral::drivers::qemu::detail

namespace corral::drivers::qemu {

// The names addSerial, addConsole and addChannel give: serial ports by their order among
// <serial>, consoles and channels likewise; a console on the first serial port shares its device.
std::vector<ConsoleDevice> consoleDevices(const conf::DomainDef& def) {
    std::vector<ConsoleDevice> out;
    std::optional<std::size_t> firstSerial;
    unsigned serials = 0, consoles = 0;
    for (std::size_t i = 0; i < def.devices.size(); ++i) {
        const auto& dev = def.devices[i];
        if (dev.name == "serial") {
            firstSerial = firstSerial.value_or(i);
            const std::string n = std::to_string(serials++);
            out.push_back({"serial" + n, "charserial" + n, i, dev.attrOr("type", "pty")});
        }
    }
    for (std::size_t i = 0; i < def.devices.size(); ++i) {
        const auto& dev = def.devices[i];
        if (dev.name != "console") {
            continue;
        }
        const std::string n = std::to_string(consoles++);
        const std::string target = dev.childAttr("target", "type");
        if (target.empty() || target == "serial") {
            const auto& port = firstSerial ? def.devices[*firstSerial] : dev;
            out.push_back({"console" + n, "charserial0", i, port.attrOr("type", "pty")});
        } else {
            out.push_back({"console" + n, "charconsole" + n, i, dev.attrOr("type", "pty")});
        }
    }
    unsigned channels = 0;
    for (std::size_t i = 0; i < def.devices.size(); ++i) {
        if (def.devices[i].name == "channel") {
            const std::string n = std::to_string(channels++);
            out.push_back({"channel" + n, "charchannel" + n, i, def.devices[i].attrOr("type", "pty")});
        }
    }
    return out;
}


Result<SpicePorts> spicePortsNeeded(const conf::XmlNode& graphics, bool spiceTls) {
    static const std::set<std::string, std::less<>> kModes = {"any", "secure", "insecure"};
    static const std::set<std::string, std::less<>> kChannels = {"main",     "display", "inputs",    "cursor",
                                                                 "playback", "record",  "smartcard", "usbredir"};
    SpicePorts needs;
    const std::string defaultMode = graphics.attrOr("defaultMode", "any");
    if (kModes.count(defaultMode) == 0) {
        return detail::unsupported("<graphics type='spice' defaultMode='" + defaultMode + "'>: must be any, secure or insecure");
    }
    needs.channelModes.emplace_back("default", defaultMode);
    bool secureChannel = false, insecureChannel = false;
    for (const auto& c : graphics.children) {
        if (c.name != "channel") {
            continue;
        }
        const std::string name = c.attrOr("name"), mode = c.attrOr("mode", "any");
        if (kChannels.count(name) == 0 || kModes.count(mode) == 0) {
            return detail::unsupported("<graphics type='spice'><channel name='" + name + "' mode='" + mode +
                               "'>: not a SPICE channel and mode (any, secure, insecure)");
        }
        secureChannel = secureChannel || mode == "secure";
        insecureChannel = insecureChannel || mode == "insecure";
        needs.channelModes.emplace_back(name, mode);
    }
    const std::string* tlsPort = graphics.attr("tlsPort");
    if (!spiceTls) {
        // Without TLS nothing may ask for it: it would be offered in the clear.
        if (defaultMode == "secure" || secureChannel) {
            return detail::unsupported("<graphics type='spice'>: a secure channel needs spice_tls = 1 in qemu.conf");
        }
        if (tlsPort != nullptr && *tlsPort != "-1") {
            return detail::unsupported("<graphics type='spice' tlsPort='" + *tlsPort + "'>: needs spice_tls = 1 in qemu.conf");
        }
    }
    needs.plain = !(defaultMode == "secure" && !insecureChannel);
    needs.tls = spiceTls && !(defaultMode == "insecure" && !secureChannel);
    return needs;
}

}  // namespace corral::drivers::qemu
