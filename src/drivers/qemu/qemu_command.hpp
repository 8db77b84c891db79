// SPDX-License-Identifier: LGPL-2.1-or-later
// The QEMU command line for a domain definition. Pure: no I/O, so that tests/golden can check
// XML in, argv out. Everything that needs the host (descriptors, ports, tap devices) is decided
// by the caller and passed in QemuLaunchContext.
#pragma once

#include <string>
#include <vector>

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
    /// Descriptors of the tap devices, one per <interface> of type bridge/ethernet/network in
    /// document order (-1 for interfaces that need none).
    std::vector<int> tapFds;
    /// The incoming migration source for restore ("defer" or "fd:N"); "" for a normal start.
    std::string incoming;
    bool startPaused = false;  ///< -S
};

/// Builds argv (argv[0] is the emulator). Errors: ConfigUnsupported naming the element QEMU
/// cannot run (bad machine type, unknown disk bus, a device kind this driver does not drive).
Result<std::vector<std::string>> buildQemuCommandLine(const conf::DomainDef& def, const QemuLaunchContext& ctx);

/// The checks buildQemuCommandLine makes, without descriptors: used at define time so a broken
/// definition is refused before anything runs.
Result<void> checkQemuDefinition(const conf::DomainDef& def);

/// The block node QEMU knows the `position`-th <disk> of the definition by (document order,
/// counting every <disk>): where query-blockstats puts its counters.
std::string diskFormatNodeName(unsigned position);

/// "vda" -> 0, "sdb" -> 1, "hdc" -> 2, "vdaa" -> 26; -1 when malformed.
int diskNameToIndex(const std::string& name);

/// The id the disk's -device gets, which is libvirt's alias for it ("virtio-disk0",
/// "scsi0-0-0-1", "sata0-0-2", "ide0-1-0"): what events such as io-error name the disk by.
/// `bus` is the target's bus, or empty to derive it from the name as a definition does.
std::string diskDeviceAlias(const std::string& target, std::string bus);

}  // namespace corral::drivers::qemu
