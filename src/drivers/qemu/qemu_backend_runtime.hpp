// SPDX-License-Identifier: LGPL-2.1-or-later
// What QemuBackend keeps for one running guest (private to the backend's files).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <vector>

#include "conf/domain_def.hpp"
#include "drivers/qemu/qemu_backend.hpp"
#include "host/cgroup.hpp"
#include "security/security_driver.hpp"
#include "drivers/qemu/qemu_agent.hpp"
#include "drivers/qemu/qmp_monitor.hpp"
#include "util/unique_fd.hpp"
#include "util/uuid.hpp"

namespace corral::drivers::qemu {

/// One running QEMU. Shared by the domain object (privateData) and the monitor callbacks.
struct QemuBackend::Runtime {
    Uuid uuid;
    std::string name;
    std::string onPoweroff, onReboot, onCrash;
    pid_t pid = -1;
    bool ourChild = false;
    UniqueFd pidFd;
    std::unique_ptr<QmpMonitor> monitor;
    std::string pidFile, monitorSocket;
    std::vector<int> ports;  // graphics ports to release at stop
    host::Cgroup cgroup;     // PARTITION/qemu/NAME, invalid when cgroups are off
    // The live definition the security drivers labelled and the files they gave the guest:
    // what to undo at stop.
    std::shared_ptr<const conf::DomainDef> securedDef;
    std::vector<security::GuestFile> securedFiles;
    std::string devStagingDir;
    // Each console's copy of its TLS certificates (qemu_graphics_tls.hpp), removed at stop; the
    // descriptor QEMU inherits is valid while it starts.
    struct TlsCopy {
        std::string dir;
        int fd = -1;
    };
    std::vector<TlsCopy> tlsCopies;
    // The encrypted disks' passphrase descriptors (sealed memfds) while QEMU starts: confine()
    // gives them to the guest's identity. Closed once QEMU holds its copies.
    std::vector<int> diskSecretFds;
    std::vector<std::string> chardevSockets;  // the 'pty' devices' sockets, removed at stop
    // The guest agent (qemu_agent_calls.cpp): its client, made at start when the guest has an
    // org.qemu.guest_agent.0 channel (immutable after), whether the guest's agent has the port
    // open (VSERPORT_CHANGE), and the wait of its calls (virDomainAgentSetResponseTimeout).
    std::unique_ptr<QemuAgent> agent;
    std::string agentChannelId;  // "channel0"
    std::atomic<bool> agentConnected{false};
    std::atomic<int> agentTimeout{AgentWait::kDefault};
    // The connection of each console's client, by chardev id: a second client is refused (or
    // takes over with force) while it is open.
    std::mutex consoleMutex;
    std::map<std::string, UniqueFd> consoleSessions;
    std::atomic<bool> released{false};  // host resources given back (once)
    std::string runStateAtReconnect;    // QEMU's run state when a restarted daemon took it over

    // Written by jobs, read on the monitor thread.
    std::atomic<bool> destroying{false};   // destroy() owns the stop: report nothing
    std::atomic<bool> fakeReboot{false};   // reboot by ACPI: reset when the guest powers off
    std::atomic<bool> guestShutdown{false};  // SHUTDOWN seen: the exit is a normal power-off
    std::atomic<bool> panicked{false};
    /// Why QEMU is about to pause the guest on its own (an I/O error with action stop, a
    /// watchdog with action pause): the STOP that follows is reported with this reason.
    enum class PauseCause { None, IoError, Watchdog };
    std::atomic<PauseCause> pauseCause{PauseCause::None};
    std::atomic<int> ownStateChanges{0};     // STOP/RESUME events caused by our own commands

    // Disk hotplug (qemu_hotplug.cpp). A detach asks the guest with device_del and waits for
    // DEVICE_DELETED; a guest slower than the wait finishes it from the event.
    struct Unplug {
        std::string target;
        bool deleted = false;     // DEVICE_DELETED arrived
        bool waiterGone = false;  // detachDevice stopped waiting: the event finishes the removal
    };
    std::mutex unplugMutex;
    std::condition_variable unplugged;
    std::map<std::string, Unplug> unplugs;  // by device alias
    std::map<std::string, std::int64_t> hotplugFdsets;  // target -> fdset of a disk attached live
    // The live definition as QEMU's events are read against (a hotplugged disk's I/O error
    // names it too); null until a hotplug, when securedDef, the start's, is it.
    std::shared_ptr<const conf::DomainDef> hotplugDef;

    /// The definition to read QEMU's events against.
    std::shared_ptr<const conf::DomainDef> eventDefinition() {
        std::lock_guard lock(unplugMutex);
        return hotplugDef ? hotplugDef : securedDef;
    }
};

/// Where a device added to a running guest goes: the bus (0, or a q35 pcie-root-port's index)
/// and the slot on it (qemu_hotplug.cpp).
struct HotplugPlace {
    unsigned bus = 0, slot = 0;
};
/// The place for `device` (named `what` in messages): the one its <address> asks for when free,
/// else the lowest free slot of the root bus (query-pci).
Result<HotplugPlace> hotplugPciSlot(QmpMonitor& monitor, const conf::XmlNode& device, const std::string& what);
/// QEMU's name of the bus of `place` ("pci.0", "pcie.0", a root port's "pci.N").
std::string hotplugBus(const HotplugPlace& place, const conf::DomainDef& liveDef);
/// Writes `place` into `device` as libvirt's full <address type='pci'>.
void recordPciAddress(conf::XmlNode& device, const HotplugPlace& place);
/// A monitor command's failure with what was being done in front.
Unexpected failedTo(const std::string& what, const Error& error);

}  // namespace corral::drivers::qemu
