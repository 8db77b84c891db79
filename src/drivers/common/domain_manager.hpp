// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainManager: the driver-independent half of a hypervisor driver. It implements the lookup,
// config, lifecycle and query facets over a DomainObjList, an optional persistent Store and a
// GuestBackend that does the hypervisor-specific work.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "conf/domain_tuning.hpp"
#include "drivers/common/event_bus.hpp"
#include "drivers/common/event_rate_limit.hpp"
#include "drivers/common/guest_backend.hpp"
#include "drivers/interfaces/domain_stats.hpp"
#include "drivers/interfaces/domain_tuning.hpp"
#include "drivers/interfaces/guest_agent.hpp"
#include "drivers/interfaces/hypervisor.hpp"
#include "drivers/interfaces/network.hpp"
#include "objects/domain_obj_list.hpp"

namespace corral::objects {
class Store;
struct StatusRecord;
}

namespace corral::drivers {

struct DomainManagerOptions {
    /// Name under which definitions are stored ("qemu", "lxc"); also used in messages.
    std::string driverName;
    /// Persistent store; nullptr keeps everything in memory (the test driver).
    objects::Store* store = nullptr;
    /// True when `mac` is used by an interface of any domain on the host (all drivers).
    std::function<bool(const std::string& mac)> macInUseOnHost;
    /// Where managed-save images live (NAME.save); empty: no managed save.
    std::string managedSaveDir;
    /// The most vCPUs setvcpus --maximum may give a domain (virConnectGetMaxVcpus); 0: no limit.
    unsigned maxVcpus = 0;
    /// The name of a domain other than `except` (of any driver) with an interface using `mac`,
    /// "" when none: a MAC given to an interface attached to a running guest must be free.
    std::function<std::string(const std::string& mac, const Uuid& except)> macOwnerOnHost = nullptr;
};

class DomainManager final : public DomainLookup,
                            public DomainConfig,
                            public DomainLifecycle,
                            public DomainQueries,
                            public DomainSaveRestore,
                            public DomainStatsQueries,
                            public DomainTuningControl,
                            public DomainMonitorPassthrough,
                            public DomainGuestAgent,
                            public DomainSecurity,
                            public DomainConsole,
                            public DomainContainers,
                            public DomainDevices,
                            private GuestEventSink {
public:
    DomainManager(DomainManagerOptions options, std::unique_ptr<GuestBackend> backend);

    /// Loads persistent definitions from the store, then the runtime status of guests that were
    /// running when the daemon stopped, asking the backend to reconnect to each: a live guest is
    /// running again with its id and state; a vanished one is marked shut off (reason daemon).
    /// Definitions that no longer parse are left in the store untouched and logged.
    Result<void> loadFromStore();

    /// Starts every inactive persistent domain marked autostart (at daemon start). Failures are
    /// logged per domain and do not stop the others.
    void autostartAll();

    /// Adds a domain from already-trusted XML (driver fixtures) and optionally starts it; a
    /// started one is running for an unknown reason, as a domain found running.
    Result<DomainRef> seedDomain(const std::string& xml, bool persistent, bool running);

    /// For backends: the guest stopped on its own (shutdown finished, crash). Records the state,
    /// emits the event, applies a pending definition, drops transient domains; with `restart`
    /// starts the domain again.
    void guestStopped(const Uuid& uuid, objects::ShutoffReason reason, objects::StoppedDetail detail,
                      bool restart = false) override;
    void guestStateChanged(const Uuid& uuid, objects::DomainState state, int reason,
                           objects::LifecycleEvent event, int detail) override;
    void guestRebooted(const Uuid& uuid) override;
    void guestEvent(const Uuid& uuid, DomainEvent event) override;
    void guestDeviceRemoved(const Uuid& uuid, const std::string& alias) override;

    /// True when an interface of a domain of this driver uses `mac`.
    bool usesMac(const std::string& mac) const;
    /// The name of a domain of this driver other than `except` using `mac` ("" when none).
    std::string domainUsingMac(const std::string& mac, const Uuid& except) const;
    /// Names of the running domains of this driver with a <disk> whose source is `path`.
    std::vector<std::string> runningDomainsUsingPath(const std::string& path) const;

    EventBus& events() { return events_; }
    objects::DomainObjList& domains() { return domains_; }

    // DomainLookup
    Result<DomainRef> lookupByName(const std::string& name) override;
    Result<DomainRef> lookupByUuid(const Uuid& uuid) override;
    Result<DomainRef> lookupById(int id) override;
    Result<std::vector<DomainRef>> listAll(unsigned flags) override;

    // DomainConfig
    Result<DomainRef> defineXml(const std::string& xml, unsigned flags) override;
    Result<void> undefine(const DomainRef& dom, unsigned flags) override;
    Result<std::string> getXmlDesc(const DomainRef& dom, unsigned flags) override;
    Result<bool> getAutostart(const DomainRef& dom) override;
    Result<void> setAutostart(const DomainRef& dom, bool autostart) override;
    Result<void> setMetadata(const DomainRef& dom, int type, const std::string& text, unsigned flags) override;
    Result<std::string> getMetadata(const DomainRef& dom, int type, unsigned flags) override;
    Result<DomainRef> rename(const DomainRef& dom, const std::string& newName, unsigned flags) override;

    // DomainLifecycle
    Result<DomainRef> create(const DomainRef& dom, unsigned flags) override;
    Result<DomainRef> createXml(const std::string& xml, unsigned flags) override;
    Result<void> destroy(const DomainRef& dom, unsigned flags) override;
    Result<void> shutdown(const DomainRef& dom, unsigned flags) override;
    Result<void> reboot(const DomainRef& dom, unsigned flags) override;
    Result<void> suspend(const DomainRef& dom) override;
    Result<void> resume(const DomainRef& dom) override;
    Result<void> pmWakeup(const DomainRef& dom, unsigned flags) override;
    Result<void> sendKey(const DomainRef& dom, unsigned codeset, unsigned holdtimeMs, const std::vector<unsigned>& keycodes,
                         unsigned flags) override;
    Result<void> abortJob(const DomainRef& dom) override;

    // DomainQueries
    Result<DomainInfo> getInfo(const DomainRef& dom) override;
    std::optional<Result<DomainInfo>> tryGetInfo(const DomainRef& dom) override;
    Result<objects::StateAndReason> getState(const DomainRef& dom) override;
    Result<std::string> getOsType(const DomainRef& dom) override;
    Result<bool> isActive(const DomainRef& dom) override;
    Result<bool> isPersistent(const DomainRef& dom) override;
    Result<bool> hasManagedSaveImage(const DomainRef& dom) override;
    Result<int> getVcpusFlags(const DomainRef& dom, unsigned flags) override;
    Result<std::uint64_t> getMaxMemory(const DomainRef& dom) override;
    Result<BlockInfo> blockInfo(const DomainRef& dom, const std::string& path, unsigned flags) override;
    Result<JobInfo> jobInfo(const DomainRef& dom) override;

    // DomainSaveRestore (domain_manager_save.cpp)
    Result<void> save(const DomainRef& dom, const std::string& path, const std::string& dxml, unsigned flags) override;
    Result<void> restore(const std::string& path, const std::string& dxml, unsigned flags) override;
    Result<void> managedSave(const DomainRef& dom, unsigned flags) override;
    Result<void> managedSaveRemove(const DomainRef& dom, unsigned flags) override;
    Result<std::string> saveImageXml(const std::string& path, unsigned flags) override;

    // DomainStatsQueries (domain_manager_stats.cpp)
    Result<std::vector<VcpuStats>> getVcpus(const DomainRef& dom) override;
    Result<std::vector<std::vector<std::uint8_t>>> vcpuPinInfo(const DomainRef& dom, unsigned flags) override;
    Result<BlockStats> blockStats(const DomainRef& dom, const std::string& path) override;
    Result<InterfaceStats> interfaceStats(const DomainRef& dom, const std::string& device) override;
    Result<std::vector<MemoryStat>> memoryStats(const DomainRef& dom, unsigned maxStats) override;
    Result<std::vector<IothreadStats>> iothreadInfo(const DomainRef& dom, unsigned flags) override;
    Result<std::vector<DomainStatsRecord>> allDomainStats(const std::vector<DomainRef>& doms, unsigned groups,
                                                          unsigned flags) override;

    // DomainTuningControl (domain_manager_tuning.cpp)
    Result<std::pair<std::string, int>> schedulerType(const DomainRef& dom) override;
    Result<std::vector<TypedValue>> schedulerParameters(const DomainRef& dom, unsigned flags) override;
    Result<void> setSchedulerParameters(const DomainRef& dom, const std::vector<TypedValue>& params,
                                        unsigned flags) override;
    Result<std::vector<TypedValue>> memoryParameters(const DomainRef& dom, unsigned flags) override;
    Result<void> setMemoryParameters(const DomainRef& dom, const std::vector<TypedValue>& params,
                                     unsigned flags) override;
    Result<std::vector<TypedValue>> blkioParameters(const DomainRef& dom, unsigned flags) override;
    Result<void> setBlkioParameters(const DomainRef& dom, const std::vector<TypedValue>& params,
                                    unsigned flags) override;
    Result<void> pinVcpu(const DomainRef& dom, unsigned vcpu, const std::vector<std::uint8_t>& cpumap,
                         unsigned flags) override;
    Result<void> pinEmulator(const DomainRef& dom, const std::vector<std::uint8_t>& cpumap, unsigned flags) override;
    Result<std::vector<std::uint8_t>> emulatorPinInfo(const DomainRef& dom, unsigned flags) override;
    Result<void> pinIothread(const DomainRef& dom, unsigned iothread, const std::vector<std::uint8_t>& cpumap,
                             unsigned flags) override;
    // Memory, vCPUs and renaming (domain_manager_resize.cpp)
    Result<void> setMemory(const DomainRef& dom, std::uint64_t kib, unsigned flags) override;
    Result<void> setVcpus(const DomainRef& dom, unsigned count, unsigned flags) override;

    // DomainDevices (domain_manager_devices.cpp)
    Result<void> attachDevice(const DomainRef& dom, const std::string& xml, unsigned flags) override;
    Result<void> detachDevice(const DomainRef& dom, const std::string& xml, unsigned flags) override;
    Result<void> updateDevice(const DomainRef& dom, const std::string& xml, unsigned flags) override;

    // DomainConsole
    Result<UniqueFd> openConsole(const DomainRef& dom, const std::string& devName, unsigned flags) override;
    Result<std::pair<std::string, UniqueFd>> screenshot(const DomainRef& dom, unsigned screen, unsigned flags) override;

    // DomainContainers
    Result<DomainRef> createWithFiles(const DomainRef& dom, std::span<const int> files, unsigned flags) override;
    Result<DomainRef> createXmlWithFiles(const std::string& xml, std::span<const int> files, unsigned flags) override;
    Result<std::vector<UniqueFd>> openNamespaces(const DomainRef& dom, unsigned flags) override;

    // DomainMonitorPassthrough
    Result<std::string> monitorCommand(const DomainRef& dom, const std::string& command, bool hmp) override;

    // DomainGuestAgent (domain_manager_agent.cpp)
    Result<GuestTime> getTime(const DomainRef& dom, unsigned flags) override;
    Result<void> setTime(const DomainRef& dom, GuestTime time, unsigned flags) override;
    Result<std::string> getHostname(const DomainRef& dom, unsigned flags) override;
    Result<std::vector<GuestInterface>> interfaceAddresses(const DomainRef& dom, unsigned source,
                                                           unsigned flags) override;
    Result<std::vector<GuestFsInfo>> getFsInfo(const DomainRef& dom, unsigned flags) override;
    Result<int> fsFreeze(const DomainRef& dom, const std::vector<std::string>& mountpoints, unsigned flags) override;
    Result<int> fsThaw(const DomainRef& dom, const std::vector<std::string>& mountpoints, unsigned flags) override;
    Result<void> setUserPassword(const DomainRef& dom, const std::string& user, const std::string& password,
                                 unsigned flags) override;
    Result<std::vector<TypedValue>> getGuestInfo(const DomainRef& dom, unsigned types, unsigned flags) override;
    Result<std::string> agentCommand(const DomainRef& dom, const std::string& command, int timeout,
                                     unsigned flags) override;
    Result<void> setAgentResponseTimeout(const DomainRef& dom, int timeout, unsigned flags) override;
    /// Where domifaddr --source lease reads a network's DHCP leases (the network driver's).
    using LeaseSource =
        std::function<Result<std::vector<NetworkDhcpLease>>(const std::string& network, const std::string& mac)>;
    void setLeaseSource(LeaseSource source) { leases_ = std::move(source); }
    /// (model, doi) of the backend's security drivers, primary first.
    std::vector<std::pair<std::string, std::string>> securityModels() const { return backend_->securityModels(); }
    /// The backend, for the host facts only it knows (emulators, machine types).
    GuestBackend& backend() { return *backend_; }
    /// The <seclabel> labels of a running domain's live definition, primary model first.
    Result<std::vector<std::pair<std::string, std::string>>> securityLabels(const DomainRef& dom) override;

private:
    /// Changes the tuning of the definition(s) `flags` selects; `live` tells which one is given.
    using TuningChange = std::function<Result<void>(conf::DomainTuning&, const conf::DomainDef&, bool live)>;
    Result<void> changeTuning(const DomainRef& ref, unsigned flags, const char* function, const TuningChange& change);
    /// Edits copies of the definition(s) `flags` selects (live, persistent or both), validates
    /// them, has `applyLive` make the running guest follow the new live one (unlocked; none
    /// when the guest needs nothing), stores the persistent one, and only then swaps them in.
    /// `after` runs with the domain locked once both are in, given the definitions from before
    /// and after the live change.
    using DefinitionEdit = std::function<Result<void>(conf::DomainDef&, bool live)>;
    /// May record runtime facts in `newLive` (an address QEMU was given), as a start does.
    using LiveApply = std::function<Result<void>(objects::DomainObj&, conf::DomainDef& newLive)>;
    using AfterLiveEdit = std::function<void(const objects::DomainObjPtr&, const conf::DomainDef& before,
                                             const conf::DomainDef& after)>;
    Result<void> changeDefinition(const DomainRef& ref, unsigned flags, const char* function, const DefinitionEdit& edit,
                                  const LiveApply& applyLive, const AfterLiveEdit& after = nullptr);
    Result<conf::DomainTuning> readTuningFor(const DomainRef& ref, unsigned flags, const char* function);
    Result<objects::DomainObjPtr> findRunning(const DomainRef& ref) const;
    DomainStatsRecord statsRecord(const objects::DomainObjPtr& dom, unsigned groups);
    /// A saved state to start from instead of booting: the open image, positioned at the state.
    struct RestoreSource {
        int fd = -1;
    };
    Result<objects::DomainObjPtr> find(const DomainRef& ref) const;
    /// The domain with `def`'s UUID and name, its mutex held in `lock` and its job claimed as
    /// `job` (waiting for one in flight, as every call that changes a domain does). A domain
    /// that does not exist yet is made from `def` (shut off, `persistent` as given) and
    /// published with the job already claimed, so that no call finds it half made; `created`
    /// says which. One removed while we waited is looked up again.
    Result<objects::DomainObjPtr> claimForDefinition(const std::shared_ptr<conf::DomainDef>& def, bool persistent,
                                                     const std::string& job, std::unique_lock<std::mutex>& lock,
                                                     bool& created);
    /// Drops `dom` from the registry, with its mutex held: a call waiting for its job then
    /// fails with "no domain" instead of acting on an object nobody can find any more.
    void forgetLocked(const objects::DomainObjPtr& dom);
    /// Parses, post-parses and validates `xml` for this driver. `newName`: the definition comes
    /// from a client (define, create), so its name must follow the rules for new names.
    Result<std::shared_ptr<conf::DomainDef>> parseForDriver(const std::string& xml, bool strict, bool newName = false);
    /// What post-parse needs from this driver: UUIDs, random numbers, the host's MACs in use.
    conf::PostParseContext postParseContext() const;
    /// An <interface> to attach: a MAC made for it as at define when it has none; one that
    /// another domain on the host uses is refused. Takes the domains' locks: call unlocked.
    Result<void> prepareAttachedInterface(const DomainRef& ref, conf::XmlNode& iface);
    /// Boots the guest (or restores it `from` a saved state); `files` go to its first process.
    Result<void> startLocked(const objects::DomainObjPtr& dom, std::unique_lock<std::mutex>& lock,
                             bool paused, const RestoreSource* from = nullptr, std::span<const int> files = {});
    /// createXml() and restore(): runs `def` once, as a new transient domain or over the defined
    /// one of the same name and UUID (a different UUID is refused).
    Result<DomainRef> startDefinition(std::shared_ptr<conf::DomainDef> def, bool paused, const RestoreSource* from,
                                      std::span<const int> files = {});
    /// create() of a domain with a managed-save image: starts from the image and removes it.
    Result<void> startFromManagedSaveLocked(const objects::DomainObjPtr& dom, std::unique_lock<std::mutex>& lock,
                                            bool paused);
    Result<void> saveLocked(const objects::DomainObjPtr& dom, std::unique_lock<std::mutex>& lock,
                            const std::string& path, const std::string& dxml, unsigned flags);
    /// The definition a save image carries, or `dxml` checked against it.
    Result<std::shared_ptr<conf::DomainDef>> imageDefinition(const std::string& imageXml, const std::string& dxml,
                                                              const std::string& path);
    std::string managedSavePath(const std::string& name) const;
    /// Records a stop with the lock held: state, id, events, pending definition, transient removal.
    void markStoppedLocked(const objects::DomainObjPtr& dom, objects::ShutoffReason reason,
                           objects::StoppedDetail detail);
    void saveStatusLocked(const objects::DomainObjPtr& dom);
    /// virDomainGetInfo's figures; the caller holds the domain's mutex.
    DomainInfo infoLocked(const objects::DomainObj& dom);
    /// Whether a query with virDomainModificationImpact `flags` (current, live or config) is
    /// about the running guest; --live with --config, and --live on a guest that is not
    /// running, are refused as libvirt refuses them.
    static Result<bool> queryIsLive(const objects::DomainObj& dom, unsigned flags);
    /// Which definitions a change with virDomainModificationImpact `flags` edits: current means
    /// the live one of a running guest, else the persistent one. A live change of a guest that
    /// is not running, and a persistent one of a transient domain, are refused.
    struct ChangeTargets {
        bool live = false;
        bool config = false;
    };
    static Result<ChangeTargets> changeTargets(const objects::DomainObj& dom, unsigned flags);
    /// The definition such a query reads: the live one, or the persistent one (the pending
    /// newDef while the guest runs). The caller holds the domain's mutex.
    static const conf::DomainDef& definitionFor(const objects::DomainObj& dom, bool live);
    /// Records the running guest's security labels for the audit trail (store and kernel).
    void auditMachineIdLocked(const objects::DomainObjPtr& dom);
    /// The store's status record of a running domain: "id state reason" then the live XML.
    static std::string encodeStatus(const objects::DomainObj& dom);
    void restoreStatus(const objects::StatusRecord& rec);
    void emit(const objects::DomainObjPtr& dom, objects::LifecycleEvent event, int detail);
    /// Whether an event the guest raised on its own may go out (guestEvents_); logs drops.
    bool admitGuestEvent(const objects::DomainObj& dom);
    static DomainRef refOf(const objects::DomainObj& dom);

    /// The running guest's agent calls, or libvirt's error for a driver without an agent.
    Result<std::pair<objects::DomainObjPtr, GuestAgentBackend*>> agentOf(const DomainRef& ref);
    Result<std::vector<GuestInterface>> leaseAddresses(const objects::DomainObj& dom);
    Result<std::vector<GuestInterface>> arpAddresses(const objects::DomainObj& dom);

    DomainManagerOptions options_;
    std::unique_ptr<GuestBackend> backend_;
    LeaseSource leases_;
    objects::DomainObjList domains_;
    EventBus events_;
    /// Events a guest raises on its own: a burst of 100, then 20 a second per guest. Far above
    /// what a guest does in normal life (QEMU itself sends RTC and balloon changes at most once
    /// a second), far below what fills memory or saturates the clients listening.
    EventRateLimiter guestEvents_{20, 100};
};

}  // namespace corral::drivers
