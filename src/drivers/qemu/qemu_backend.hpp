// SPDX-License-Identifier: LGPL-2.1-or-later
// QemuBackend: the GuestBackend that runs QEMU processes. Each guest is started from the command
// line buildQemuCommandLine makes, watched through its QMP monitor (events, and the end of the
// connection when QEMU exits), and found again after a daemon restart through the pid file and
// monitor socket kept under the run directory.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "drivers/common/guest_backend.hpp"
#include "drivers/interfaces/secret.hpp"
#include "drivers/qemu/qemu_config.hpp"
#include "drivers/qemu/qemu_probe.hpp"
#include "host/kvm_probe.hpp"
#include "host/confinement.hpp"
#include "objects/store.hpp"
#include "security/security_manager.hpp"
#include "util/json_value.hpp"
#include "util/unique_fd.hpp"

namespace corral::drivers::qemu {

struct QemuPaths {
    std::string runDir;    ///< run/corral/qemu: pid files and monitor sockets
    std::string logDir;    ///< log/corral/qemu: one log per guest (QEMU's stderr)
    std::string stateDir;  ///< lib/corral/qemu: managed save images
};

class QmpMonitor;

class QemuBackend final : public GuestBackend, private GuestAgentBackend {
public:
    /// Resolves qemu.conf's identity and security settings (an unknown user, a security driver
    /// the host lacks: errors naming them). `store` keeps the file-owner journal (may be null).
    static Result<std::unique_ptr<QemuBackend>> create(QemuPaths paths, QemuDriverConfig config, objects::Store* store);
    QemuBackend(QemuPaths paths, QemuDriverConfig config, std::unique_ptr<security::OwnerJournal> journal,
                std::unique_ptr<security::SecurityManager> security);
    ~QemuBackend() override;

    void attach(GuestEventSink& sink) override { sink_ = &sink; }
    /// How <interface type='network'> finds its bridge (the network driver's bridgeFor).
    void setNetworkResolver(std::function<Result<std::string>(const std::string&)> resolver) {
        networkBridge_ = std::move(resolver);
    }
    /// How an encrypted disk's passphrase is found (the secret driver, wired by the registry):
    /// by the secret's UUID or, when that is "", by its volume usage id. Errors name the secret.
    using DiskSecretResolver = std::function<Result<SecretBytes>(const std::string& uuid, const std::string& usage)>;
    void setDiskSecretResolver(DiskSecretResolver resolver) { diskSecret_ = std::move(resolver); }
    /// How <disk type='volume'> finds its file at start (the storage facet's volumePathFor).
    void setVolumeResolver(std::function<Result<std::string>(const std::string&, const std::string&)> resolver) {
        volumePath_ = std::move(resolver);
    }
    Result<void> checkDefinition(const conf::DomainDef& def) override;
    Result<void> completeDefinition(conf::DomainDef& def, bool running) override;
    Result<void> start(objects::DomainObj& dom, conf::DomainDef& liveDef, bool paused) override;
    Result<void> destroy(objects::DomainObj& dom, bool graceful) override;
    Result<bool> shutdown(objects::DomainObj& dom, unsigned flags) override;
    Result<void> reboot(objects::DomainObj& dom, unsigned flags) override;
    Result<void> suspend(objects::DomainObj& dom) override;
    Result<void> resume(objects::DomainObj& dom) override;
    Result<void> pmWakeup(objects::DomainObj& dom) override;
    Result<void> saveState(objects::DomainObj& dom, int fd) override;
    Result<void> startFromState(objects::DomainObj& dom, conf::DomainDef& liveDef, int fd) override;
    Result<std::vector<VcpuStats>> vcpuStats(objects::DomainObj& dom) override;
    Result<std::vector<BlockStats>> blockStats(objects::DomainObj& dom) override;
    Result<std::vector<InterfaceStats>> interfaceStats(objects::DomainObj& dom) override;
    Result<std::vector<MemoryStat>> memoryStats(objects::DomainObj& dom) override;
    Result<std::vector<IothreadStats>> iothreadStats(objects::DomainObj& dom) override;
    std::uint64_t cpuTimeNs(const objects::DomainObj& dom) override;
    Result<bool> reconnect(objects::DomainObj& dom, conf::DomainDef& liveDef) override;
    std::optional<std::pair<objects::DomainState, int>> stateAfterReconnect(objects::DomainObj& dom) override;
    std::string osType(const conf::DomainDef&) override { return "hvm"; }
    Result<void> applyTuning(objects::DomainObj& dom, const conf::DomainDef& liveDef) override;
    Result<conf::DomainTuning> readLiveTuning(objects::DomainObj& dom) override;
    // Memory through the balloon and vCPU hotplug (qemu_resize.cpp).
    Result<void> setMemoryLive(objects::DomainObj& dom, const conf::DomainDef& newLive) override;
    Result<void> setVcpusLive(objects::DomainObj& dom, const conf::DomainDef& newLive, unsigned previous) override;
    // Disk hotplug (qemu_hotplug.cpp): file disks on bus virtio, the image opened by the daemon
    // and passed in through an fdset.
    std::string deviceAlias(const conf::XmlNode& device) override;
    Result<void> attachDevice(objects::DomainObj& dom, conf::XmlNode& device,
                              const conf::DomainDef& liveDef) override;
    Result<void> detachDevice(objects::DomainObj& dom, const conf::XmlNode& device, const std::string& alias,
                              std::chrono::milliseconds wait) override;
    // Devices changed in place and keys pressed (qemu_input.cpp).
    Result<void> updateDevice(objects::DomainObj& dom, const conf::XmlNode& device,
                              const conf::XmlNode& previous) override;
    Result<void> sendKey(objects::DomainObj& dom, const std::vector<unsigned>& qnums, unsigned holdtimeMs) override;
    Result<std::pair<std::string, UniqueFd>> screenshot(objects::DomainObj& dom, unsigned screen) override;
    void reconnectsDone(const std::vector<Uuid>& running) override;
    Result<std::string> monitorCommand(objects::DomainObj& dom, const std::string& command, bool hmp) override;
    // The guest agent (qemu_agent_calls.cpp, qemu_agent_info.cpp).
    GuestAgentBackend* guestAgent() override { return this; }
    // Consoles (qemu_console.cpp).
    Result<UniqueFd> openConsole(objects::DomainObj& dom, const std::string& devName, bool force) override;
    std::vector<std::pair<std::string, std::string>> securityModels() const override;
    // What this host's QEMU offers (qemu_domain_caps.cpp).
    std::optional<Result<std::vector<conf::CapsGuest>>> guestCapabilities() override;
    Result<std::string> domainCapabilitiesXml(const DomainCapsQuery& query) override;
    Result<std::vector<std::string>> cpuModelNames(const std::string& arch) override;

    struct Runtime;

private:
    std::shared_ptr<Runtime> runtimeOf(const objects::DomainObj& dom) const;
    Result<std::shared_ptr<Runtime>> requireRuntime(const objects::DomainObj& dom) const;
    Result<void> runStateCommand(objects::DomainObj& dom, const char* command);
    /// At start: the interfaces whose <link state='down'> lose their link before the guest runs.
    static Result<void> applyLinkStates(QmpMonitor& monitor, const conf::DomainDef& liveDef);
    /// start() and startFromState(): with `incomingFd` >= 0 QEMU reads a saved state from it.
    Result<void> launch(objects::DomainObj& dom, conf::DomainDef& liveDef, bool paused, int incomingFd);
    /// launch, again with another port while QEMU finds the chosen graphics port taken.
    Result<void> launchRetryingLostPorts(objects::DomainObj& dom, conf::DomainDef& liveDef, bool paused,
                                         int incomingFd);
    std::shared_ptr<Runtime> newRuntime(const conf::DomainDef& liveDef) const;
    void setRuntime(objects::DomainObj& dom, std::shared_ptr<Runtime> rt);
    Result<void> openMonitor(const std::shared_ptr<Runtime>& rt, int connectedFd, std::chrono::milliseconds timeout);
    Result<void> allocateGraphicsPorts(const std::shared_ptr<Runtime>& rt, conf::DomainDef& liveDef);
    void releasePorts(Runtime& rt);
    // Interfaces on the host side (qemu_interfaces.cpp).
    /// One descriptor per <interface> (invalid for user networking): tap devices created,
    /// attached to their bridge and named in the live definition's <target dev=...>; each
    /// interface gets its QEMU id as <alias name='netN'/>.
    Result<std::vector<UniqueFd>> prepareTaps(conf::DomainDef& liveDef);
    /// The tap of one interface (invalid for user networking), made as prepareTaps makes it.
    Result<UniqueFd> prepareTap(conf::XmlNode& iface);
    /// Gives each interface its id in document order, as the command line numbers them: all of
    /// them (`renumber`, at start) or those without one.
    static void nameInterfaces(conf::DomainDef& liveDef, bool renumber);
    /// Adds `iface` (the element of `liveDef`) to the running guest: tap, getfd, netdev_add,
    /// device_add; each step undone when a later one fails. Records its address and alias.
    Result<void> attachInterface(Runtime& rt, conf::XmlNode& iface, const conf::DomainDef& liveDef);
    /// The guest let go of interface `alias`: its netdev (and so its tap) goes.
    void finishInterfaceUnplug(Runtime& rt, const std::string& alias);
    /// One sealed memfd per disk with <encryption> (qemu_disk_secrets.cpp), holding its
    /// passphrase from the secret driver, by target. A secret that is missing, has no value or
    /// is not a volume's is refused here, before QEMU runs.
    Result<std::map<std::string, UniqueFd>> prepareDiskSecrets(const conf::DomainDef& liveDef);
    /// Stops the process: SIGTERM, then SIGKILL after the grace period (none with `graceful`
    /// false and grace 0). True when it is gone.
    bool killProcess(Runtime& rt, bool allowKill);
    /// Gives back everything a stopped guest held on the host, once: sockets and pid file, its
    /// cgroup, the files the security drivers gave it, its labels.
    void releaseGuestResources(Runtime& rt);
    // Confinement (qemu_confinement.cpp) and cgroups (qemu_cgroup.cpp).
    Result<std::unique_ptr<host::ChildConfinement>> confine(Runtime& rt, conf::DomainDef& liveDef);
    Result<void> createCgroup(Runtime& rt, const conf::DomainDef& liveDef);
    /// Moves the emulator, vCPU and IOThread threads into their groups and applies the tuning.
    Result<void> placeThreads(Runtime& rt, const conf::DomainDef& liveDef);
    Result<void> applyGroupTuning(Runtime& rt, const conf::DomainDef& liveDef);
    /// After a vCPU hotplug: the threads without a group yet get theirs, then the tuning.
    Result<void> placeNewThreads(Runtime& rt, const conf::DomainDef& liveDef);
    /// After a daemon restart: the running guest's labels, files and cgroup are its again.
    void adoptConfinement(Runtime& rt, const conf::DomainDef& liveDef);
    void onEvent(const std::shared_ptr<Runtime>& rt, const std::string& event, const JsonValue& data);
    void onMonitorClosed(const std::shared_ptr<Runtime>& rt);
    /// DEVICE_DELETED: wakes the detach waiting for it, or finishes the removal itself.
    void onDeviceDeleted(const std::shared_ptr<Runtime>& rt, const std::string& alias);
    /// The guest let go of the disk: its block nodes and fdset go, the manager hears of it.
    void finishUnplug(const std::shared_ptr<Runtime>& rt, const std::string& alias, const std::string& target);
    /// Runs `action` on the backend's action thread (monitor commands cannot run on the
    /// monitor's own event thread).
    void post(std::function<void()> action);
    void actionLoop();

    /// Whether KVM guests can run here (host::probeKvm), probed again when /dev/kvm changes.
    host::KvmVerdict kvmVerdict();
    /// Refuses more vCPUs than the machine type takes (query-machines' cpu-max).
    Result<void> checkMachineLimits(const conf::DomainDef& def);
    /// Accepts or refuses a sample definition the way define does (domain capabilities).
    Result<void> checkSample(const std::string& xml);
    /// The <features> of a capabilities <guest>: those the checks take on `machine`.
    std::vector<conf::CapsGuestFeature> guestFeatures(const std::string& arch, const std::string& machine,
                                                      const std::string& emulator);

    /// Where the character device `chardevId` ("charserial0") of a 'pty' serial port or console
    /// listens for the daemon.
    std::string chardevSocketPath(const std::string& name, const std::string& chardevId) const;
    /// Writes each 'pty' device's socket into the live <source path> (virsh dumpxml shows where
    /// the console is, as libvirt shows its pty) and remembers the sockets to remove at stop.
    /// `existingOnly` (a reconnect): only the sockets that are there.
    void recordConsoles(Runtime& rt, conf::DomainDef& liveDef, bool existingOnly = false) const;
    // GuestAgentBackend
    Result<GuestTime> agentGetTime(objects::DomainObj& dom) override;
    Result<void> agentSetTime(objects::DomainObj& dom, std::optional<GuestTime> time) override;
    Result<std::string> agentHostname(objects::DomainObj& dom) override;
    Result<std::vector<GuestInterface>> agentInterfaces(objects::DomainObj& dom) override;
    Result<std::vector<GuestFsInfo>> agentFsInfo(objects::DomainObj& dom) override;
    Result<int> agentFsFreeze(objects::DomainObj& dom, const std::vector<std::string>& mountpoints) override;
    Result<int> agentFsThaw(objects::DomainObj& dom) override;
    Result<void> agentSetUserPassword(objects::DomainObj& dom, const std::string& user, const std::string& password,
                                      bool crypted) override;
    Result<std::vector<TypedValue>> agentGuestInfo(objects::DomainObj& dom, unsigned types) override;
    Result<std::string> agentRawCommand(objects::DomainObj& dom, const std::string& command,
                                        int timeoutSeconds) override;
    Result<void> setAgentTimeout(objects::DomainObj& dom, int timeoutSeconds) override;
    /// Finds the live definition's org.qemu.guest_agent.0 channel and makes its client.
    void prepareAgent(Runtime& rt, const conf::DomainDef& liveDef) const;
    /// After a reconnect: whether the guest's agent has its port open (query-chardev).
    static void refreshAgentState(Runtime& rt);
    /// VSERPORT_CHANGE of the agent's port: connected or not, and the agent-lifecycle event.
    void onAgentPort(const std::shared_ptr<Runtime>& rt, const JsonValue& data);
    /// Runs one agent command for the running guest `dom`, after libvirt's checks (running,
    /// agent configured and connected); `timeout` overrides the guest's agent timeout.
    Result<JsonValue> agentCall(objects::DomainObj& dom, std::string_view command, std::string_view argumentsJson,
                                std::optional<int> timeout = std::nullopt);
    /// The target ("vda") of the live definition's disk at the PCI address the agent reports.
    static std::optional<std::string> diskForAgentAddress(const conf::DomainDef& def, const JsonValue& disk);

    std::string pidFilePath(const std::string& name) const;
    std::string monitorPath(const std::string& name) const;
    std::string logPath(const std::string& name) const;

    QemuPaths paths_;
    QemuDriverConfig config_;
    std::unique_ptr<security::OwnerJournal> journal_;
    std::unique_ptr<security::SecurityManager> security_;
    GuestEventSink* sink_ = nullptr;
    std::function<Result<std::string>(const std::string&)> networkBridge_;
    DiskSecretResolver diskSecret_;
    std::function<Result<std::string>(const std::string&, const std::string&)> volumePath_;
    /// Turns each <disk type='volume'> of the live definition into the file disk it names in
    /// its pool (qemu_volume_disks.cpp): what follows (the command line, DAC hand-over and
    /// restore, cgroup rules, the storage driver's in-use checks) sees an ordinary file disk.
    Result<void> resolveVolumeDisks(conf::DomainDef& liveDef) const;

    QemuCapsCache capsCache_;
    std::mutex kvmMutex_;
    std::string kvmDeviceKey_;     // guarded by kvmMutex_: what /dev/kvm was when probed
    host::KvmVerdict kvmVerdict_;  // guarded by kvmMutex_

    std::mutex portsMutex_;
    std::set<int> portsInUse_;

    std::mutex actionsMutex_;
    std::condition_variable actionsReady_;
    std::deque<std::function<void()>> actions_;
    bool stopping_ = false;
    std::thread actionThread_;
};

}  // namespace corral::drivers::qemu
