// SPDX-License-Identifier: LGPL-2.1-or-later
// <channel> devices: virtio-serial ports the guest sees by name (the QEMU guest agent's
// org.qemu.guest_agent.0, SPICE's agent com.redhat.spice.0), each carried by a QEMU chardev.
#include "drivers/qemu/qemu_command_builder.hpp"

namespace corral::drivers::qemu::detail {

void CommandBuilder::ensureVirtioSerial() {
    if (virtioSerialAdded_) {
        return;
    }
    virtioSerialAdded_ = true;
    QemuOpts serial(pciOrMmio("virtio-serial"));
    serial.add("id", "virtio-serial0");
    addControllerPlacement(serial, "virtio-serial0");
    add("-device", serial);
}

Result<void> CommandBuilder::addChannel(const conf::XmlNode& channel, unsigned index) {
    const std::string type = channel.attrOr("type", "pty");
    const std::string targetType = channel.childAttr("target", "type");
    const std::string name = channel.childAttr("target", "name");
    const std::string where = "<channel type='" + type + "'>";
    if (targetType != "virtio") {
        return unsupported(where + ": <target type='" + targetType + "'> is not supported (virtio)");
    }
    if (name.empty()) {
        return unsupported(where + ": a virtio channel needs <target name=...> (the port name the guest sees)");
    }
    const std::string id = "channel" + std::to_string(index);
    std::string backend;
    if (type == "spicevmc") {
        // SPICE's agent channel: the guest's vdagent talks to the SPICE client through it.
        if (!hasSpice_) {
            return unsupported(where + ": a spicevmc channel needs <graphics type='spice'>");
        }
        if (name != "com.redhat.spice.0") {
            return unsupported(where + ": <target name='" + name + "'>: a spicevmc channel is SPICE's agent port "
                               "'com.redhat.spice.0'");
        }
        backend = QemuOpts("spicevmc").add("id", "char" + id).add("name", "vdagent").str();
    } else if (type == "unix" && channel.childAttr("source", "path").empty()) {
        // libvirt chooses the path of a bound unix channel (the guest agent's): here a socket
        // the daemon makes in its run directory and passes in, like a pty console's.
        if (const std::string mode = channel.childAttr("source", "mode"); !mode.empty() && mode != "bind") {
            return unsupported(where + ": <source mode='" + mode + "'> needs a <source path>");
        }
        int fd = 5;  // a stand-in when only planning
        if (!ctx_.planOnly) {
            if (!ctx_.chardevSocket) {
                return unsupported(where + ": no socket was prepared for it");
            }
            CORRAL_ASSIGN_OR_RETURN(fd, ctx_.chardevSocket("char" + id));
        }
        backend = QemuOpts("socket")
                      .add("id", "char" + id)
                      .add("fd", static_cast<unsigned>(fd))
                      .add("server", "on")
                      .add("wait", "off")
                      .str();
    } else {
        CORRAL_ASSIGN_OR_RETURN(backend, chardevBackend(channel, "char" + id));
    }
    ensureVirtioSerial();
    QemuOpts port("virtserialport");
    port.add("bus", "virtio-serial0.0");
    if (const conf::XmlNode* address = channel.child("address")) {
        // libvirt's own record of the port: controller 0, bus 0, port N.
        unsigned nr = 0;
        if (address->attrOr("type") != "virtio-serial" || address->attrOr("controller", "0") != "0" ||
            address->attrOr("bus", "0") != "0" || !toUnsigned(address->attrOr("port"), nr) || nr == 0) {
            return unsupported(where + " <address>: only type 'virtio-serial' on controller 0, bus 0, port 1 or "
                               "above is supported");
        }
        port.add("nr", nr);
    }
    add({"-chardev", backend});
    port.add("chardev", "char" + id).add("id", id).add("name", name);
    add("-device", port);
    return {};
}

}  // namespace corral::drivers::qemu::detail
