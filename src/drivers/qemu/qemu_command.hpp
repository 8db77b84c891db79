// SPDX-License-Identifier: LGPL-2.1-or-later
// The QEMU command line for a domain definition. Pure: no I/O, so that tests/golden can check
// XML in, argv out. Everything that needs the host (descriptors, ports, tap devices) is decided
// by the caller and passed in QemuLaunchContext.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conf/xml_node.hpp"
#include "util/result.hpp"

namespace corral::conf {
struct DomainDef;
}

namespace corral::drivers::qemu {

struct QemuLaunchContext {
    std::string emulator = "/usr/bin/qemu-system-x86_64";  ///< when the XML names none
    int monitorFd = -1;          ///< listening QMP socket handed to QEMU
    std::string pidFile;         ///< QEMU writes its pid here
    bool seccompSandbox = true;  ///< qemu.conf seccomp_sandbox
    std::string vncListen = "127.0.0.1";  ///< qemu.conf vnc_listen (graphics without listen=)
    /// qemu.conf vnc_tls: a directory descriptor QEMU inherits, holding this guest's copy of the
    /// certificates (QemuBackend stages it); -1 = VNC without TLS. With planOnly any value >= 0.
    int vncTlsDirFd = -1;
    bool vncTlsVerify = true;  ///< qemu.conf vnc_tls_x509_verify: clients need a certificate
    bool vncDefaultPassword = false;  ///< qemu.conf vnc_password is set: VNC asks for a password
    /// qemu.conf spice_tls: the descriptor of this guest's SPICE certificates, as vncTlsDirFd.
    int spiceTlsDirFd = -1;
    /// Descriptors of the tap devices, one per <interface> of type bridge/ethernet/network in
    /// document order (-1 for interfaces that need none).
    std::vector<int> tapFds;
    /// For each disk with <encryption format='luks'>, by target ("vda"): a descriptor QEMU
    /// inherits holding the passphrase (a sealed memfd QemuBackend makes), which its secret
    /// object reads once as /proc/self/fd/N. Unused with planOnly.
    std::map<std::string, int> diskSecretFds;
    /// The incoming migration source for restore ("defer" or "fd:N"); "" for a normal start.
    std::string incoming;
    /// A check before start (checkQemuDefinition): tap descriptors and graphics ports do not
    /// exist yet, and stand-ins take their place.
    bool planOnly = false;
    /// For each character device of type 'pty', and each bound unix channel without a path, by
    /// chardev id ("charserial0", "charchannel0"): a listening unix socket the daemon made for
    /// QEMU to serve the device on, where only the daemon connects (virsh console goes through
    /// it). Returns the descriptor QEMU inherits. Unused with planOnly.
    std::function<Result<int>(const std::string& chardevId)> chardevSocket;
};

/// The ports a <graphics type='spice'> listens on, from its defaultMode and <channel mode>s and
/// qemu.conf's spice_tls: a plain one unless every channel is secure, a TLS one with spice_tls
/// unless every channel is insecure. Refused: a secure channel or a tlsPort without spice_tls.
struct SpicePorts {
    bool plain = true;
    bool tls = false;
    std::vector<std::pair<std::string, std::string>> channelModes;  ///< ("default"|NAME, mode)
};
Result<SpicePorts> spicePortsNeeded(const conf::XmlNode& graphics, bool spiceTls);

/// <graphics passwdValidTo='2030-01-01T00:00:00'> (UTC, libvirt's format) as seconds since the
/// epoch; nullopt without it; an XML error naming the value when it is not such a time.
Result<std::optional<std::int64_t>> graphicsPasswordExpiry(const conf::XmlNode& graphics);

/// Builds argv (argv[0] is the emulator). Errors: ConfigUnsupported naming the element QEMU
/// cannot run (bad machine type, unknown disk bus, a device kind this driver does not drive).
Result<std::vector<std::string>> buildQemuCommandLine(const conf::DomainDef& def, const QemuLaunchContext& ctx);

/// The checks buildQemuCommandLine makes, without descriptors: used at define time so a broken
/// definition is refused before anything runs. Run under an XmlReadTracker, it reads every part
/// of the definition the command line acts on (QemuBackend::checkDefinition refuses the rest).
/// `spiceTls`: qemu.conf's spice_tls, which decides whether a SPICE TLS port can be offered.
Result<void> checkQemuDefinition(const conf::DomainDef& def, bool spiceTls = false);

/// Whether the command builder knows machine type `machine` (pc, pc-i440fx-*, q35, pc-q35-*,
/// microvm): the capabilities list only QEMU's machines that pass this.
bool driverBuildsMachine(std::string_view machine);
/// A serial port or console as virsh console names it, and the QEMU character device behind
/// it. A console on the first serial port (target type 'serial') is that port's device again.
struct ConsoleDevice {
    std::string alias;         ///< libvirt's alias, virsh console's devname: "serial0", "console1"
    std::string chardevId;     ///< "charserial0", "charconsole1"
    std::size_t deviceIndex;   ///< the <serial>, <console> or <channel> in def.devices
    std::string type;          ///< the character device's type ('pty' is the one consoles reach)
};
/// Every serial port, console and channel of `def`, in that order, named as
/// buildQemuCommandLine names them.
std::vector<ConsoleDevice> consoleDevices(const conf::DomainDef& def);

/// The block nodes of the <disk> with target `target` ("vda"): its format node (what the
/// device uses, where query-blockstats puts its counters and BLOCK_IO_ERROR names) and the
/// storage node under it. Named by target, which is unique in a domain and does not move when
/// another disk is attached or detached.
std::string diskFormatNodeName(const std::string& target);
std::string diskStorageNodeName(const std::string& target);

/// The secret an encrypted <disk> is opened with: QEMU's secret object `objectId`, whose value
/// the daemon looks up by `uuid` or by `usage` (a volume secret's usage id) at start.
struct DiskSecret {
    std::string objectId;  ///< "corral-secret-vda"
    std::string uuid;      ///< one of uuid and usage is set
    std::string usage;
};

/// A <disk>'s block nodes as QEMU takes them, the same JSON for -blockdev and blockdev-add,
/// and what its device needs to use them.
struct DiskNodes {
    std::string storageJson, formatJson;  ///< empty for a cdrom without media
    std::string formatNode;               ///< empty likewise
    bool shareable = false;
    std::optional<bool> writeCache;       ///< set by an explicit <driver cache>
    /// <encryption format='luks'>: the format node (luks, or qcow2's encrypt) names this
    /// secret object, which must exist before the node is added.
    std::optional<DiskSecret> secret;
};
/// Checks the disk (type, source, format, cache, discard) as a start does and plans its nodes.
/// `passedImage` ("/dev/fdset/N"), when given, is where QEMU finds the image the daemon opened
/// for it (a hotplug: a confined QEMU cannot open new paths); the storage node then keeps the
/// descriptor's access mode instead of reopening.
Result<DiskNodes> planDiskNodes(const conf::XmlNode& disk, const std::string& passedImage = {});

/// The bus a <target> without one gets from its name, as libvirt derives it ("vda" virtio,
/// "sda" scsi, "hda" ide; "" for others).
std::string defaultDiskBus(const std::string& target);

/// "vda" -> 0, "sdb" -> 1, "hdc" -> 2, "vdaa" -> 26; -1 when malformed.
int diskNameToIndex(const std::string& name);

/// The id the disk's -device gets, which is libvirt's alias for it ("virtio-disk0",
/// "scsi0-0-0-1", "sata0-0-2", "ide0-1-0"): what events such as io-error name the disk by.
/// `bus` is the target's bus, or empty to derive it from the name as a definition does.
std::string diskDeviceAlias(const std::string& target, std::string bus);

}  // namespace corral::drivers::qemu
