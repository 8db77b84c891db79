// SPDX-License-Identifier: LGPL-2.1-or-later
// The hypervisor driver interface, split into facets the way the wire groups its calls.
//
// Every method may be called from any worker thread at any time after the driver was created;
// drivers do their own locking (per-domain mutex plus job slot, see docs/internals/locking.md).
// Failures are libvirt errors (code + domain + message) that the daemon copies onto the wire.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "objects/domain_state.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"
#include "util/uuid.hpp"

namespace corral::drivers {

/// What the wire calls remote_nonnull_domain: enough to find the domain again.
/// `id` is -1 while the domain is inactive (virsh relies on that).
struct DomainRef {
    std::string name;
    Uuid uuid;
    int id = -1;
};

/// One typed parameter (virTypedParameter): stats records, tunables, job statistics.
struct TypedValue {
    std::string field;
    std::variant<int, unsigned, std::int64_t, std::uint64_t, double, bool, std::string> value;
};

/// virDomainInfo.
struct DomainInfo {
    objects::DomainState state = objects::DomainState::Shutoff;
    std::uint64_t maxMemKiB = 0;
    std::uint64_t memoryKiB = 0;
    unsigned vcpus = 0;
    std::uint64_t cpuTimeNs = 0;
};

/// virNodeInfo.
struct NodeInfo {
    std::string model;
    std::uint64_t memoryKiB = 0;
    unsigned cpus = 0;
    unsigned mhz = 0;
    unsigned nodes = 1;
    unsigned sockets = 1;
    unsigned cores = 1;
    unsigned threads = 1;
};

/// Flags of virConnectListAllDomains (the public bit values).
namespace list_flags {
inline constexpr unsigned kActive = 1u << 0;
inline constexpr unsigned kInactive = 1u << 1;
inline constexpr unsigned kPersistent = 1u << 2;
inline constexpr unsigned kTransient = 1u << 3;
inline constexpr unsigned kRunning = 1u << 4;
inline constexpr unsigned kPaused = 1u << 5;
inline constexpr unsigned kShutoff = 1u << 6;
inline constexpr unsigned kOther = 1u << 7;
inline constexpr unsigned kManagedSave = 1u << 8;
inline constexpr unsigned kNoManagedSave = 1u << 9;
inline constexpr unsigned kAutostart = 1u << 10;
inline constexpr unsigned kNoAutostart = 1u << 11;
inline constexpr unsigned kHasSnapshot = 1u << 12;
inline constexpr unsigned kNoSnapshot = 1u << 13;
inline constexpr unsigned kHasCheckpoint = 1u << 14;
inline constexpr unsigned kNoCheckpoint = 1u << 15;
inline constexpr unsigned kAll = (1u << 16) - 1;
}  // namespace list_flags

/// Flags of virDomainGetXMLDesc.
namespace xml_flags {
inline constexpr unsigned kSecure = 1u << 0;
inline constexpr unsigned kInactive = 1u << 1;
inline constexpr unsigned kUpdateCpu = 1u << 2;
inline constexpr unsigned kMigratable = 1u << 3;
}  // namespace xml_flags

/// Flags of virDomainDefineXMLFlags / virDomainCreateXML.
namespace define_flags {
inline constexpr unsigned kValidate = 1u << 0;
}
namespace create_flags {
inline constexpr unsigned kPaused = 1u << 0;
inline constexpr unsigned kAutodestroy = 1u << 1;
inline constexpr unsigned kBypassCache = 1u << 2;
inline constexpr unsigned kForceBoot = 1u << 3;
inline constexpr unsigned kValidate = 1u << 4;
inline constexpr unsigned kResetNvram = 1u << 5;
}  // namespace create_flags

/// Flags of virDomainSaveFlags / virDomainRestoreFlags / virDomainManagedSave.
namespace save_flags {
inline constexpr unsigned kBypassCache = 1u << 0;
inline constexpr unsigned kRunning = 1u << 1;
inline constexpr unsigned kPaused = 1u << 2;
}  // namespace save_flags

/// Flags of virDomainUndefineFlags.
namespace undefine_flags {
inline constexpr unsigned kManagedSave = 1u << 0;
}

/// Facet: finding domains.
class DomainLookup {
public:
    virtual ~DomainLookup() = default;
    /// Errors: NoDomain "no domain with matching name 'NAME'".
    virtual Result<DomainRef> lookupByName(const std::string& name) = 0;
    /// Errors: NoDomain "no domain with matching uuid 'UUID'".
    virtual Result<DomainRef> lookupByUuid(const Uuid& uuid) = 0;
    /// Errors: NoDomain "no domain with matching id N".
    virtual Result<DomainRef> lookupById(int id) = 0;
    /// Domains matching virConnectListAllDomains `flags`; a snapshot, no per-domain locks.
    /// Errors: InvalidArg for unknown flag bits.
    virtual Result<std::vector<DomainRef>> listAll(unsigned flags) = 0;
};

/// Facet: persistent configuration.
class DomainConfig {
public:
    virtual ~DomainConfig() = default;
    /// Parses, post-parses, validates and stores a persistent definition, or updates the
    /// existing one with the same name and UUID. Committed to the store before it returns.
    /// Errors: XmlError/XmlDetail (naming line and element), OperationFailed for a name or UUID
    /// clash.
    virtual Result<DomainRef> defineXml(const std::string& xml, unsigned flags) = 0;
    /// Removes the persistent definition; a running domain becomes transient.
    virtual Result<void> undefine(const DomainRef& dom, unsigned flags) = 0;
    /// The live (or, with xml_flags::kInactive, the persistent) definition as XML.
    virtual Result<std::string> getXmlDesc(const DomainRef& dom, unsigned flags) = 0;
    virtual Result<bool> getAutostart(const DomainRef& dom) = 0;
    /// Errors: OperationInvalid "cannot set autostart for transient domain".
    virtual Result<void> setAutostart(const DomainRef& dom, bool autostart) = 0;
    /// virDomainSetMetadata: `type` 0 is <description>, 1 is <title> (one line); an empty `text`
    /// removes it. flags: affect_flags. Type 2 (an element in a namespace of its own) is
    /// refused naming it. Raises a metadata-change event.
    virtual Result<void> setMetadata(const DomainRef& dom, int type, const std::string& text, unsigned flags) = 0;
    /// virDomainGetMetadata. Errors: NoDomainMetadata when the domain has none of that type.
    virtual Result<std::string> getMetadata(const DomainRef& dom, int type, unsigned flags) = 0;
    /// virDomainRename: a persistent, inactive domain without a managed-save image takes
    /// `newName` (the rules of new names, and no '/', ',' or a name of "." or ".."). Raises
    /// undefined (renamed) for the old name and defined (renamed) for the new one. Errors:
    /// OperationInvalid for an active or transient domain, the same name, or a name in use.
    virtual Result<DomainRef> rename(const DomainRef& dom, const std::string& newName, unsigned flags) = 0;
};

/// Facet: devices added to and removed from a domain (virsh attach-device, detach-device,
/// attach-disk, detach-disk). flags: affect_flags (live, config, or current: whichever the
/// domain is).
class DomainDevices {
public:
    virtual ~DomainDevices() = default;
    /// Adds the device `xml` describes (one element, <disk> today). A live attach raises
    /// device-added with the device's alias. Errors: OperationInvalid when its target is taken,
    /// ConfigUnsupported for a device the driver cannot add to a running guest.
    virtual Result<void> attachDevice(const DomainRef& dom, const std::string& xml, unsigned flags) = 0;
    /// Removes the device `xml` names (a disk by its target). Live, the guest is asked to let
    /// go of it and given up to 5 s; the device leaves the live definition, and device-removed
    /// is raised, when it has (libvirt's semantics: a guest that takes longer still completes
    /// later). Errors: DeviceMissing when no such device exists.
    virtual Result<void> detachDevice(const DomainRef& dom, const std::string& xml, unsigned flags) = 0;
    /// Changes a device in place (virDomainUpdateDeviceFlags, virt-xml --update): an <interface>
    /// found by its MAC, a cdrom or floppy <disk> by its target. The persistent definition takes
    /// the new element; a running guest only what its driver can change live (an interface's
    /// link state). Errors: DeviceMissing, OperationUnsupported naming what cannot change.
    virtual Result<void> updateDevice(const DomainRef& dom, const std::string& xml, unsigned flags) = 0;
};

/// Facet: starting, stopping, pausing.
class DomainLifecycle {
public:
    virtual ~DomainLifecycle() = default;
    /// Starts a defined, inactive domain. Errors: OperationInvalid "domain is already running".
    virtual Result<DomainRef> create(const DomainRef& dom, unsigned flags) = 0;
    /// Defines a transient domain and starts it.
    virtual Result<DomainRef> createXml(const std::string& xml, unsigned flags) = 0;
    virtual Result<void> destroy(const DomainRef& dom, unsigned flags) = 0;
    virtual Result<void> shutdown(const DomainRef& dom, unsigned flags) = 0;
    virtual Result<void> reboot(const DomainRef& dom, unsigned flags) = 0;
    virtual Result<void> suspend(const DomainRef& dom) = 0;
    virtual Result<void> resume(const DomainRef& dom) = 0;
    /// virDomainPMWakeup: wakes a guest that suspended itself to RAM (state pmsuspended); the
    /// guest's own wake-up is reported as it happens (pmwakeup, Started Wakeup).
    virtual Result<void> pmWakeup(const DomainRef& dom, unsigned flags) = 0;
    /// virDomainSendKey: presses `keycodes` (of libvirt's keycode set `codeset`, at most 16)
    /// together for `holdtimeMs` (0: the hypervisor's default). Errors: InvalidArg for a set or
    /// a code the driver cannot translate, OperationInvalid when the guest is not running.
    virtual Result<void> sendKey(const DomainRef& dom, unsigned codeset, unsigned holdtimeMs,
                                 const std::vector<unsigned>& keycodes, unsigned flags) = 0;
    /// virDomainAbortJob. Errors: OperationInvalid "no job is active on the domain".
    virtual Result<void> abortJob(const DomainRef& dom) = 0;
};

/// Facet: saving a running guest's memory to a file and starting it again from there.
class DomainSaveRestore {
public:
    virtual ~DomainSaveRestore() = default;
    /// Saves the running domain to `path` (on the server) and stops it. `dxml`, when not empty,
    /// replaces the definition stored in the image (same name and UUID required).
    virtual Result<void> save(const DomainRef& dom, const std::string& path, const std::string& dxml,
                              unsigned flags) = 0;
    /// Starts a domain from an image save() wrote; defines it transiently when it does not exist.
    virtual Result<void> restore(const std::string& path, const std::string& dxml, unsigned flags) = 0;
    /// save() to the driver's own file for the domain; the next start resumes from it.
    virtual Result<void> managedSave(const DomainRef& dom, unsigned flags) = 0;
    virtual Result<void> managedSaveRemove(const DomainRef& dom, unsigned flags) = 0;
    /// The definition inside a save image (virsh save-image-dumpxml); flags as getXmlDesc.
    virtual Result<std::string> saveImageXml(const std::string& path, unsigned flags) = 0;
};

/// virDomainGetBlockInfo: the sizes of a disk's image, in bytes.
struct BlockInfo {
    std::uint64_t capacity = 0;    ///< what the guest sees
    std::uint64_t allocation = 0;  ///< host bytes in use (st_blocks * 512)
    std::uint64_t physical = 0;    ///< the image file's size
};

/// virDomainGetJobInfo: `type` is virDomainJobType (0 none, 1 bounded, 2 unbounded, 3 completed,
/// 4 failed, 5 cancelled); the counters are libvirt's, zero when not known.
struct JobInfo {
    int type = 0;
    std::uint64_t timeElapsedMs = 0;
};

/// Facet: queries that never modify.
class DomainQueries {
public:
    virtual ~DomainQueries() = default;
    virtual Result<DomainInfo> getInfo(const DomainRef& dom) = 0;
    /// getInfo only if it needs no wait: nullopt while another thread holds the domain (a job
    /// writing its status, say). corrald's I/O thread asks this and leaves a busy domain's call
    /// to a worker rather than stall every client behind one domain.
    virtual std::optional<Result<DomainInfo>> tryGetInfo(const DomainRef& /*dom*/) { return std::nullopt; }
    virtual Result<objects::StateAndReason> getState(const DomainRef& dom) = 0;
    virtual Result<std::string> getOsType(const DomainRef& dom) = 0;
    virtual Result<bool> isActive(const DomainRef& dom) = 0;
    virtual Result<bool> isPersistent(const DomainRef& dom) = 0;
    /// Whether a managed-save image exists (false for drivers without managed save).
    virtual Result<bool> hasManagedSaveImage(const DomainRef& dom) = 0;
    /// Live or configured vCPU count per virDomainGetVcpusFlags flags.
    virtual Result<int> getVcpusFlags(const DomainRef& dom, unsigned flags) = 0;
    virtual Result<std::uint64_t> getMaxMemory(const DomainRef& dom) = 0;
    /// virDomainGetBlockInfo for the disk whose target or source is `path`.
    virtual Result<BlockInfo> blockInfo(const DomainRef& dom, const std::string& path, unsigned flags) = 0;
    /// virDomainGetJobInfo of a running domain.
    virtual Result<JobInfo> jobInfo(const DomainRef& dom) = 0;
};

/// One counter of virNodeGetCPUStats ("kernel", "user", "idle", "iowait", in ns) or
/// virNodeGetMemoryStats ("total", "free", "buffers", "cached", in KiB).
struct NodeCounter {
    std::string field;
    std::uint64_t value = 0;
};

/// virNodeGetCPUMap: CPUs present, and which are online as a libvirt cpumap.
struct NodeCpuMap {
    unsigned present = 0;
    std::vector<std::uint8_t> online;
    unsigned onlineCount = 0;
};

/// The arguments of virConnectGetDomainCapabilities; empty means "the driver's default".
struct DomainCapsQuery {
    std::string emulator, arch, machine, virtType;
};

/// Facet: host facts.
class HostInfo {
public:
    virtual ~HostInfo() = default;
    /// "QEMU", "LXC" or "TEST", as virConnectGetType.
    virtual std::string type() const = 0;
    /// Hypervisor version, major * 1,000,000 + minor * 1,000 + micro.
    virtual std::uint64_t version() const = 0;
    /// The canonical URI of the driver ("qemu:///system").
    virtual std::string uri() const = 0;
    virtual Result<std::string> capabilitiesXml() = 0;
    virtual Result<NodeInfo> nodeInfo() = 0;
    /// Maximum vCPUs for a domain type (virConnectGetMaxVcpus).
    virtual Result<int> maxVcpus(const std::string& type) = 0;
    /// (model, doi) of the security drivers confining guests, primary first; empty = none.
    virtual std::vector<std::pair<std::string, std::string>> securityModels() { return {}; }

    // The calls below answer NoSupport (naming the API) in drivers that do not offer them.

    /// virNodeGetCPUStats for CPU `cpuNum` (-1: all). `nparams` is how many counters the caller
    /// has room for; 0 asks only how many there are (the values may then be zero). Errors:
    /// InvalidArg for a CPU the host does not have or an `nparams` the driver does not take.
    virtual Result<std::vector<NodeCounter>> nodeCpuStats(int cpuNum, int nparams) {
        (void)cpuNum;
        (void)nparams;
        return fail(ErrorCode::NoSupport, "virNodeGetCPUStats", ErrorDomain::Domain);
    }
    /// virNodeGetMemoryStats for NUMA cell `cellNum` (-1: the whole host); `nparams` as above.
    virtual Result<std::vector<NodeCounter>> nodeMemoryStats(int cellNum, int nparams) {
        (void)cellNum;
        (void)nparams;
        return fail(ErrorCode::NoSupport, "virNodeGetMemoryStats", ErrorDomain::Domain);
    }
    /// virNodeGetCellsFreeMemory: free bytes of cells startCell .. startCell + maxCells - 1
    /// (fewer when the host has fewer).
    virtual Result<std::vector<std::uint64_t>> cellsFreeMemory(int startCell, int maxCells) {
        (void)startCell;
        (void)maxCells;
        return fail(ErrorCode::NoSupport, "virNodeGetCellsFreeMemory", ErrorDomain::Domain);
    }
    /// virNodeGetFreeMemory, in bytes.
    virtual Result<std::uint64_t> freeMemory() {
        return fail(ErrorCode::NoSupport, "virNodeGetFreeMemory", ErrorDomain::Domain);
    }
    /// virNodeGetCPUMap.
    virtual Result<NodeCpuMap> cpuMap() { return fail(ErrorCode::NoSupport, "virNodeGetCPUMap", ErrorDomain::Domain); }
    /// virConnectGetSysinfo: the host's SMBIOS data as <sysinfo> XML.
    virtual Result<std::string> sysinfoXml() {
        return fail(ErrorCode::NoSupport, "virConnectGetSysinfo", ErrorDomain::Domain);
    }
    /// virConnectGetDomainCapabilities: what a definition for this emulator, arch, machine and
    /// domain type may contain, as this driver enforces it.
    virtual Result<std::string> domainCapabilitiesXml(const DomainCapsQuery& query) {
        (void)query;
        return fail(ErrorCode::NoSupport, "virConnectGetDomainCapabilities", ErrorDomain::Domain);
    }
    /// virConnectGetCPUModelNames: the CPU models a guest of `arch` may name.
    virtual Result<std::vector<std::string>> cpuModelNames(const std::string& arch) {
        (void)arch;
        return fail(ErrorCode::NoSupport, "virConnectGetCPUModelNames", ErrorDomain::Domain);
    }
};

/// virDomainEventID: the kinds of domain event libvirt's clients can register for. The ones our
/// drivers raise are named; the others are accepted at registration and never fire.
namespace event_id {
inline constexpr int kLifecycle = 0;
inline constexpr int kReboot = 1;
inline constexpr int kRtcChange = 2;
inline constexpr int kWatchdog = 3;
inline constexpr int kIoError = 4;
inline constexpr int kGraphics = 5;
inline constexpr int kIoErrorReason = 6;
inline constexpr int kControlError = 7;
inline constexpr int kPmWakeup = 11;
inline constexpr int kPmSuspend = 12;
inline constexpr int kBalloonChange = 13;
inline constexpr int kDeviceRemoved = 15;
inline constexpr int kTunable = 17;
inline constexpr int kAgentLifecycle = 18;  ///< detail: state, number: reason
inline constexpr int kDeviceAdded = 19;
inline constexpr int kJobCompleted = 21;
inline constexpr int kMetadataChange = 23;
inline constexpr int kLast = 26;  ///< MEMORY_DEVICE_SIZE_CHANGE, the last one libvirt 9.0 knows
}  // namespace event_id

/// One end of a graphics connection as a graphics event reports it.
struct GraphicsAddress {
    int family = 0;  ///< 0 IPv4, 1 IPv6, 2 unix
    std::string node, service;
};

/// A domain event as it leaves a driver; the daemon fans it out to registered clients. Which
/// members mean something depends on `eventId`.
struct DomainEvent {
    DomainRef dom;
    int eventId = event_id::kLifecycle;
    objects::LifecycleEvent event = objects::LifecycleEvent::Defined;  ///< lifecycle
    int detail = 0;  ///< lifecycle detail; watchdog/io-error action; graphics phase; metadata type
    std::int64_t number = 0;  ///< rtc-change: offset (s); balloon-change: actual KiB
    std::string srcPath, devAlias, reason;  ///< io-error(-reason), device-added/removed (devAlias); metadata-change: reason = URI
    GraphicsAddress local, remote;          ///< graphics
    std::string authScheme;                 ///< graphics
    std::vector<std::pair<std::string, std::string>> subject;  ///< graphics: (type, name)
    std::vector<TypedValue> params;         ///< tunable, job-completed
};

/// Receives every event a driver emits, in order, from whatever thread caused it.
/// Must not block and must not call back into the driver.
using DomainEventSink = std::function<void(const DomainEvent&)>;

class DomainStatsQueries;
class DomainTuningControl;
class DomainGuestAgent;

/// Facet: a running guest's console (virsh console).
class DomainConsole {
public:
    virtual ~DomainConsole() = default;
    /// A connected descriptor: what the guest writes to its console can be read from it, what
    /// is written to it is typed on the console. `devName` "" is the first console.
    virtual Result<UniqueFd> openConsole(const DomainRef& dom, const std::string& devName, unsigned flags) = 0;
    /// virDomainScreenshot: the image of screen `screen` of the running guest, read from the
    /// returned descriptor to its end, and its MIME type. Errors: OperationInvalid for a guest
    /// with no screen.
    virtual Result<std::pair<std::string, UniqueFd>> screenshot(const DomainRef& dom, unsigned screen,
                                                                unsigned flags) = 0;
};

/// Facet: security labels of running guests (virsh dominfo's Security label).
class DomainSecurity {
public:
    virtual ~DomainSecurity() = default;
    /// (model, label) of each security driver confining the running domain, primary first;
    /// empty for an inactive domain.
    virtual Result<std::vector<std::pair<std::string, std::string>>> securityLabels(const DomainRef& dom) = 0;
};

/// Facet: the hypervisor's own monitor, for administrators (virsh qemu-monitor-command).
class DomainMonitorPassthrough {
public:
    virtual ~DomainMonitorPassthrough() = default;
    /// `command` is a QMP command object, or with `hmp` a human monitor command line. Returns
    /// the reply as libvirt does: QMP's reply object as JSON, or the human monitor's text.
    virtual Result<std::string> monitorCommand(const DomainRef& dom, const std::string& command, bool hmp) = 0;
};
/// Facet: what only containers offer (libvirt's LXC extras).
class DomainContainers {
public:
    virtual ~DomainContainers() = default;
    /// virDomainCreateWithFiles: starts the defined domain; `files` become descriptors 3, 4, ...
    /// of its first process. Drivers whose guests cannot take them: NoSupport.
    virtual Result<DomainRef> createWithFiles(const DomainRef& dom, std::span<const int> files, unsigned flags) = 0;
    /// virDomainCreateXMLWithFiles: the same for a transient domain.
    virtual Result<DomainRef> createXmlWithFiles(const std::string& xml, std::span<const int> files,
                                                 unsigned flags) = 0;
    /// virDomainLxcOpenNamespace: descriptors of the running container's namespaces.
    virtual Result<std::vector<UniqueFd>> openNamespaces(const DomainRef& dom, unsigned flags) = 0;
};

class NetworkFacet;
class SecretFacet;
class StorageFacet;
class NodeDeviceFacet;
class InterfaceFacet;

/// A hypervisor driver: each facet it does not support is nullptr, which the daemon's
/// dispatcher turns into VIR_ERR_NO_SUPPORT in one place.
class HypervisorDriver {
public:
    virtual ~HypervisorDriver() = default;
    /// Short name: "qemu", "lxc", "test".
    virtual std::string name() const = 0;

    virtual HostInfo* host() = 0;
    virtual DomainLookup* lookup() = 0;
    virtual DomainConfig* config() { return nullptr; }
    virtual DomainLifecycle* lifecycle() { return nullptr; }
    virtual DomainQueries* queries() { return nullptr; }
    virtual DomainSaveRestore* saveRestore() { return nullptr; }
    virtual DomainStatsQueries* stats() { return nullptr; }
    virtual DomainTuningControl* tuning() { return nullptr; }
    virtual DomainMonitorPassthrough* monitor() { return nullptr; }
    /// The calls a guest agent answers, and domifaddr's lease and ARP sources.
    virtual DomainGuestAgent* guestAgent() { return nullptr; }
    virtual DomainSecurity* security() { return nullptr; }
    virtual DomainConsole* console() { return nullptr; }
    virtual DomainDevices* devices() { return nullptr; }
    virtual DomainContainers* containers() { return nullptr; }
    /// Virtual networks; the host drivers share one network driver.
    virtual NetworkFacet* networks() { return nullptr; }
    /// Secrets; the host drivers share one secret driver.
    virtual SecretFacet* secrets() { return nullptr; }
    /// Storage pools and volumes; the host drivers share one storage driver.
    virtual StorageFacet* storage() { return nullptr; }
    /// Host devices and interfaces of the driver's own; nullptr for the host's (shared by the
    /// host drivers, read from sysfs).
    virtual NodeDeviceFacet* ownNodeDevices() { return nullptr; }
    virtual InterfaceFacet* ownInterfaces() { return nullptr; }

    /// A connection's hold on the driver, taken when it opens and released when it is gone (no
    /// call of it still running). nullptr where the driver's state does not depend on its
    /// connections; the test driver resets test:///default when the last hold goes, as libvirt's.
    virtual std::shared_ptr<void> holdConnection() { return nullptr; }

    /// Adds a subscriber; returns an id for removeEventSink. Thread-safe.
    virtual int addEventSink(DomainEventSink sink) = 0;
    virtual void removeEventSink(int id) = 0;
};

}  // namespace corral::drivers
