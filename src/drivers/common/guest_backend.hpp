// SPDX-License-Identifier: LGPL-2.1-or-later
// GuestBackend: the part of a hypervisor driver that touches real guests (processes, cgroups,
// monitors). DomainManager owns everything else: the registry, the store, state and events.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "conf/domain_tuning.hpp"
#include "conf/host_caps.hpp"
#include "drivers/interfaces/domain_stats.hpp"
#include "drivers/interfaces/guest_agent.hpp"
#include "drivers/interfaces/hypervisor.hpp"
#include "host/node_info.hpp"
#include "objects/domain_obj.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::conf {
struct DomainDef;
}

namespace corral::drivers {

/// Whether an on_poweroff/on_reboot/on_crash action starts the guest again. "rename-restart"
/// restarts it under its own name, as libvirt's libxl and test drivers do (a domain keeps one
/// name and UUID here; libvirt's QEMU driver refuses the action).
inline bool restartsGuest(const std::string& action) { return action == "restart" || action == "rename-restart"; }

/// What a backend reports about its guests between calls (a guest powered itself off, QEMU
/// died, the guest panicked). Implemented by DomainManager; may be called from any thread.
class GuestEventSink {
public:
    virtual ~GuestEventSink() = default;
    /// The guest stopped on its own. With `restart`, the manager starts it again (on_poweroff,
    /// on_crash = restart).
    virtual void guestStopped(const Uuid& uuid, objects::ShutoffReason reason, objects::StoppedDetail detail,
                              bool restart) = 0;
    /// The running guest changed state on its own (paused by QEMU, panicked and preserved).
    virtual void guestStateChanged(const Uuid& uuid, objects::DomainState state, int reason,
                                   objects::LifecycleEvent event, int detail) = 0;
    /// The guest reset itself or was reset for a reboot: the reboot event.
    virtual void guestRebooted(const Uuid& uuid) = 0;
    /// Any other event the guest raised (RTC change, watchdog, I/O error, graphics client,
    /// balloon): `event.dom` is filled in by the sink; dropped if the guest is no longer running.
    virtual void guestEvent(const Uuid& uuid, DomainEvent event) = 0;
    /// The guest let go of the device with this alias (after detachDevice, maybe much later):
    /// it leaves the live definition and device-removed is raised.
    virtual void guestDeviceRemoved(const Uuid& uuid, const std::string& alias) = 0;
};

/// Every method is called with the domain's job held and its mutex NOT held, so a backend may
/// block (spawn, wait for a monitor) without stalling queries of the same domain.
class GuestBackend {
public:
    virtual ~GuestBackend() = default;

    /// Called once by the manager that owns this backend, before any other method.
    virtual void attach(GuestEventSink& sink) { (void)sink; }

    /// Accepts or refuses a parsed, post-parsed definition for this driver (domain type, devices
    /// the backend cannot run). Called at define and create time. Errors: ConfigUnsupported
    /// naming the element.
    virtual Result<void> checkDefinition(const conf::DomainDef& def) = 0;

    /// Writes into a definition what this driver decides for it once and keeps (QEMU: PCI
    /// addresses, libvirt's way), before checkDefinition: at define and create, and for a
    /// device added to a definition. `running`: `def` is a running guest's live definition, so
    /// nothing the guest lacks (a new bus) may be added. Errors refuse the definition.
    virtual Result<void> completeDefinition(conf::DomainDef& def, bool running) {
        (void)def;
        (void)running;
        return {};
    }

    /// Starts the guest. `liveDef` is the domain's private live copy: the backend records runtime
    /// facts in it (allocated ports, aliases). `paused` leaves the vCPUs stopped.
    virtual Result<void> start(objects::DomainObj& dom, conf::DomainDef& liveDef, bool paused) = 0;

    /// start() handing `files` to the guest's first process as descriptors 3, 4, ...
    /// (virDomainCreateWithFiles, virsh start --pass-fds). Only containers take them; the
    /// manager asks takesPassedFiles() before it calls this.
    virtual bool takesPassedFiles() const { return false; }
    virtual Result<void> startWithFiles(objects::DomainObj& dom, conf::DomainDef& liveDef, bool paused,
                                        std::span<const int> files) {
        (void)dom;
        (void)liveDef;
        (void)paused;
        (void)files;
        return fail(ErrorCode::NoSupport, "virDomainCreateWithFiles", ErrorDomain::Domain);
    }

    /// The <cputune> groups whose period/quota this driver's guests have, in schedinfo's order:
    /// a VM's vcpu, emulator, global and iothread threads; a container's one group ("vcpu",
    /// as libvirt's LXC names it).
    virtual std::vector<std::string> cpuBandwidthGroups() const { return {"vcpu", "emulator", "global", "iothread"}; }

    /// The id of the guest that start() just started; nullopt lets the manager number it. LXC
    /// answers its controller's pid, as libvirt does: virsh lxc-enter-namespace joins the
    /// cgroup of the process whose pid is the domain id. Called with the domain's mutex held.
    virtual std::optional<int> runningId(const objects::DomainObj& dom) {
        (void)dom;
        return std::nullopt;
    }

    /// The namespaces of the running guest's first process, for virsh lxc-enter-namespace:
    /// user, ipc, uts, net, pid, mnt (those that exist). Only containers have them.
    virtual Result<std::vector<UniqueFd>> openNamespaces(objects::DomainObj& dom) {
        (void)dom;
        return fail(ErrorCode::NoSupport, "virDomainLxcOpenNamespace", ErrorDomain::Domain);
    }

    /// Stops the guest at once (virsh destroy); `graceful` allows only a polite SIGTERM.
    virtual Result<void> destroy(objects::DomainObj& dom, bool graceful) = 0;

    /// Asks the guest to power off. Returns true when the guest is already gone on return (the
    /// manager then records the stop itself); false when the stop arrives later through
    /// DomainManager::guestStopped().
    virtual Result<bool> shutdown(objects::DomainObj& dom, unsigned flags) = 0;

    /// Asks the guest to reboot.
    virtual Result<void> reboot(objects::DomainObj& dom, unsigned flags) = 0;

    virtual Result<void> suspend(objects::DomainObj& dom) = 0;
    virtual Result<void> resume(objects::DomainObj& dom) = 0;
    /// Wakes a guest suspended to RAM; the backend reports the wake-up as a state change.
    virtual Result<void> pmWakeup(objects::DomainObj& dom) {
        return fail(ErrorCode::OperationUnsupported,
                    "waking up domain '" + dom.name() + "' is not supported by this driver", ErrorDomain::Domain);
    }

    /// Writes the running guest's state to `fd` (positioned where the state belongs) and stops
    /// the guest. On failure the guest keeps running as before. Drivers without it: NoSupport.
    virtual Result<void> saveState(objects::DomainObj& dom, int fd) {
        (void)dom;
        (void)fd;
        return fail(ErrorCode::NoSupport, "this driver cannot save a guest's state", ErrorDomain::Domain);
    }

    /// Like start(), from a state saveState() wrote, read from `fd`; the guest is left paused.
    virtual Result<void> startFromState(objects::DomainObj& dom, conf::DomainDef& liveDef, int fd) {
        (void)dom;
        (void)liveDef;
        (void)fd;
        return fail(ErrorCode::NoSupport, "this driver cannot restore a guest's state", ErrorDomain::Domain);
    }

    // Statistics of a running guest, read when asked. Drivers without them: NoSupport.
    virtual Result<std::vector<VcpuStats>> vcpuStats(objects::DomainObj& dom) { return noStats(dom, "vCPU"); }
    /// Every disk of the live definition, in document order.
    virtual Result<std::vector<BlockStats>> blockStats(objects::DomainObj& dom) { return noStats(dom, "block"); }
    /// Every interface that has a host device, in document order.
    virtual Result<std::vector<InterfaceStats>> interfaceStats(objects::DomainObj& dom) {
        return noStats(dom, "interface");
    }
    virtual Result<std::vector<MemoryStat>> memoryStats(objects::DomainObj& dom) { return noStats(dom, "memory"); }
    virtual Result<std::vector<IothreadStats>> iothreadStats(objects::DomainObj& dom) {
        return noStats(dom, "IOThread");
    }

    /// Applies the resource control of `liveDef` (cputune, memtune, blkiotune, pinning) to the
    /// running guest; called for live schedinfo/memtune/blkiotune/pin changes. On failure the
    /// guest keeps its previous values where the kernel allows it.
    virtual Result<void> applyTuning(objects::DomainObj& dom, const conf::DomainDef& liveDef) {
        (void)liveDef;
        return fail(ErrorCode::OperationUnsupported,
                    "resource control of running guests is not available for domain '" + dom.name() + "' in this driver",
                    ErrorDomain::Domain);
    }
    /// The name events and the guest's hardware know `device` by (libvirt's alias:
    /// "virtio-disk1"); by default its target ("vdb").
    virtual std::string deviceAlias(const conf::XmlNode& device) { return device.childAttr("target", "dev"); }
    /// Plugs `device` (the element in `liveDef`, the definition the guest will have) into the
    /// running guest; the backend may record where it went in it (<address>) so a restart of
    /// the same state finds it there. The manager has checked that no device has its target.
    virtual Result<void> attachDevice(objects::DomainObj& dom, conf::XmlNode& device,
                                      const conf::DomainDef& liveDef) {
        (void)device;
        (void)liveDef;
        return fail(ErrorCode::OperationUnsupported,
                    "devices cannot be added to running domain '" + dom.name() + "' in this driver", ErrorDomain::Domain);
    }
    /// Asks the running guest to let go of the device with `alias` and waits up to `wait` for
    /// it; the backend reports the removal through GuestEventSink::guestDeviceRemoved (before it
    /// returns, or later for a slow guest).
    virtual Result<void> detachDevice(objects::DomainObj& dom, const conf::XmlNode& device, const std::string& alias,
                                      std::chrono::milliseconds wait) {
        (void)device;
        (void)alias;
        (void)wait;
        return fail(ErrorCode::OperationUnsupported,
                    "devices cannot be removed from running domain '" + dom.name() + "' in this driver",
                    ErrorDomain::Domain);
    }

    /// Makes the running guest's device `device` (the element in the new live definition) what
    /// `previous` was with the changes the manager found allowed (an interface's link state).
    virtual Result<void> updateDevice(objects::DomainObj& dom, const conf::XmlNode& device,
                                      const conf::XmlNode& previous) {
        (void)device;
        (void)previous;
        return fail(ErrorCode::OperationUnsupported,
                    "devices of running domain '" + dom.name() + "' cannot be changed in this driver",
                    ErrorDomain::Domain);
    }
    /// Presses `qnums` (QEMU's qnum codes, translated by the manager) together for
    /// `holdtimeMs` (0: the hypervisor's default).
    virtual Result<void> sendKey(objects::DomainObj& dom, const std::vector<unsigned>& qnums, unsigned holdtimeMs) {
        (void)qnums;
        (void)holdtimeMs;
        return fail(ErrorCode::OperationUnsupported,
                    "keys cannot be sent to domain '" + dom.name() + "' in this driver", ErrorDomain::Domain);
    }

    /// Makes the running guest's memory follow `newLive.currentMemoryKiB` (its balloon target;
    /// at most newLive.memoryKiB, checked by the manager).
    virtual Result<void> setMemoryLive(objects::DomainObj& dom, const conf::DomainDef& newLive) {
        (void)newLive;
        return fail(ErrorCode::OperationUnsupported,
                    "the memory of running domain '" + dom.name() + "' cannot be changed in this driver",
                    ErrorDomain::Domain);
    }
    /// Brings the running guest from `previous` online vCPUs to newLive's current count (at most
    /// its maximum, checked by the manager).
    virtual Result<void> setVcpusLive(objects::DomainObj& dom, const conf::DomainDef& newLive, unsigned previous) {
        (void)newLive;
        (void)previous;
        return fail(ErrorCode::OperationUnsupported,
                    "the vCPUs of running domain '" + dom.name() + "' cannot be changed in this driver",
                    ErrorDomain::Domain);
    }

    /// The resource control in force for the running guest, read from the host (cgroups).
    virtual Result<conf::DomainTuning> readLiveTuning(objects::DomainObj& dom) {
        return fail(ErrorCode::OperationUnsupported,
                    "resource control of running guests is not available for domain '" + dom.name() + "' in this driver",
                    ErrorDomain::Domain);
    }

    /// CPU time the guest consumed, in nanoseconds; called with the mutex held, must be quick.
    virtual std::uint64_t cpuTimeNs(const objects::DomainObj& dom) = 0;

    /// After a daemon restart: finds the guest described by `liveDef` (pid, sockets recorded in
    /// it at start) and takes it over. True when it is still running; false when it is gone.
    virtual Result<bool> reconnect(objects::DomainObj& dom, conf::DomainDef& liveDef) = 0;

    /// After a reconnect that found the guest alive: the state it is in now, when the backend
    /// can tell and it may differ from the recorded one (it woke, paused or resumed while no
    /// daemon watched); nullopt keeps the recorded state. Called without the domain's lock.
    virtual std::optional<std::pair<objects::DomainState, int>> stateAfterReconnect(objects::DomainObj& dom) {
        (void)dom;
        return std::nullopt;
    }

    /// After every reconnect of a daemon start: `running` are the guests taken over. Host
    /// resources held for any other guest (files given to it) are released.
    virtual void reconnectsDone(const std::vector<Uuid>& running) { (void)running; }

    /// Connects to the running guest's console `devName` ("" = the first). With `force` the
    /// console is taken from a client that has it open (where the driver keeps one client).
    virtual Result<UniqueFd> openConsole(objects::DomainObj& dom, const std::string& devName, bool force) {
        (void)devName;
        (void)force;
        return fail(ErrorCode::OperationUnsupported,
                    "consoles of domain '" + dom.name() + "' are not available in this driver", ErrorDomain::Domain);
    }

    /// The running guest's screen `screen` as an image in a descriptor positioned at its start,
    /// and the image's MIME type.
    virtual Result<std::pair<std::string, UniqueFd>> screenshot(objects::DomainObj& dom, unsigned screen) {
        (void)screen;
        return fail(ErrorCode::OperationUnsupported,
                    "screenshots of domain '" + dom.name() + "' are not available in this driver", ErrorDomain::Domain);
    }

    /// Passes a command to the guest's hypervisor monitor as it is (administrators only).
    virtual Result<std::string> monitorCommand(objects::DomainObj& dom, const std::string& command, bool hmp) {
        (void)command;
        (void)hmp;
        return fail(ErrorCode::NoSupport, "domain '" + dom.name() + "' has no hypervisor monitor in this driver",
                    ErrorDomain::Domain);
    }

    /// virDomainGetBlockInfo of a disk of the definition, when the backend answers it without
    /// reading the image (a test guest's images are not files of the host); nullopt: the
    /// manager reads the image.
    virtual std::optional<BlockInfo> blockInfoWithoutImage(const conf::XmlNode& disk) const {
        (void)disk;
        return std::nullopt;
    }

    /// The host CPUs its guests may be pinned to (one bit each, libvirt's cpumap bytes): the
    /// host's online ones, or the test driver's sixteen.
    virtual std::vector<std::uint8_t> onlineHostCpus() const { return host::readHostCpuMap().online; }

    /// A scheduler of the backend's own, with one fixed unsigned parameter, instead of the cgroup
    /// one (cpu_shares and the bandwidth groups): libvirt's test driver has "fair", whose
    /// "weight" is always 50 and which accepts and forgets a new weight.
    struct FixedScheduler {
        std::string type, parameter;
        unsigned value = 0;  ///< a VIR_TYPED_PARAM_UINT
    };
    virtual std::optional<FixedScheduler> fixedScheduler() const { return std::nullopt; }
    /// The calls the guests' agent answers; nullptr when this driver's guests have none.
    virtual GuestAgentBackend* guestAgent() { return nullptr; }

    /// (model, doi) of the security drivers confining this backend's guests, primary first.
    virtual std::vector<std::pair<std::string, std::string>> securityModels() const { return {}; }
    /// The (model, label) pairs of a running guest when the backend gives every guest the same
    /// ones (libvirt's test driver); nullopt to read them from the <seclabel> elements.
    virtual std::optional<std::vector<std::pair<std::string, std::string>>> fixedSecurityLabels() const {
        return std::nullopt;
    }

    /// The OS type virDomainGetOSType reports ("hvm", "exe"; libvirt's test driver says "linux").
    virtual std::string osType(const conf::DomainDef& def) = 0;

    /// The <guest> entries of the capabilities, when this backend knows more than its driver's
    /// traits (emulator, machine types, whether KVM works); nullopt: built from the traits.
    virtual std::optional<Result<std::vector<conf::CapsGuest>>> guestCapabilities() { return std::nullopt; }

    /// virConnectGetDomainCapabilities as this backend enforces definitions.
    virtual Result<std::string> domainCapabilitiesXml(const DomainCapsQuery& query) {
        (void)query;
        return fail(ErrorCode::NoSupport, "virConnectGetDomainCapabilities", ErrorDomain::Domain);
    }

    /// virConnectGetCPUModelNames: the models a definition's <cpu><model> may name.
    virtual Result<std::vector<std::string>> cpuModelNames(const std::string& arch) {
        (void)arch;
        return fail(ErrorCode::NoSupport, "virConnectGetCPUModelNames", ErrorDomain::Domain);
    }

protected:
    static Unexpected noStats(const objects::DomainObj& dom, const char* kind) {
        return fail(ErrorCode::NoSupport,
                    std::string(kind) + " statistics are not available for domain '" + dom.name() + "' in this driver",
                    ErrorDomain::Domain);
    }
};

}  // namespace corral::drivers
