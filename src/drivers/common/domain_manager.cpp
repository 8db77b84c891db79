// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainManager: registry, persistence, state machine and events shared by every driver.
#include "drivers/common/domain_manager.hpp"

#include <strings.h>

#include <unistd.h>

#include <cerrno>

#include "conf/domain_def.hpp"
#include "conf/object_name.hpp"
#include "drivers/common/domain_manager_errors.hpp"
#include "objects/store.hpp"
#include "util/logging.hpp"

namespace corral::drivers {

using objects::DomainObjPtr;
using objects::DomainState;
using objects::LifecycleEvent;

namespace {

constexpr unsigned kUndefineKnownFlags = 1 | 2 | 4 | 8 | 16 | 32 | 64;
}  // namespace

DomainManager::DomainManager(DomainManagerOptions options, std::unique_ptr<GuestBackend> backend)
    : options_(std::move(options)), backend_(std::move(backend)) {
    backend_->attach(*this);
}

DomainRef DomainManager::refOf(const objects::DomainObj& dom) {
    return DomainRef{dom.name(), dom.uuid(), dom.id()};
}

bool DomainManager::admitGuestEvent(const objects::DomainObj& dom) {
    auto verdict = guestEvents_.admit(dom.uuid(), EventRateLimiter::Clock::now());
    if (verdict.dropsToReport > 0) {
        logWarning("domain '" + dom.name() + "' raises events faster than 20 a second: " +
                   std::to_string(verdict.dropsToReport) + " dropped");
    }
    return verdict.pass;
}

void DomainManager::emit(const DomainObjPtr& dom, LifecycleEvent event, int detail) {
    DomainEvent ev;
    ev.dom = refOf(*dom);
    ev.event = event;
    ev.detail = detail;
    events_.emit(ev);
}

Result<DomainObjPtr> DomainManager::find(const DomainRef& ref) const {
    // The handle's UUID is authoritative, as in libvirt; the name is only for the message.
    DomainObjPtr dom = domains_.findByUuid(ref.uuid);
    if (!dom) {
        return fail(ErrorCode::NoDomain,
                    "no domain with matching uuid '" + ref.uuid.toString() + "' (" + ref.name + ")",
                    ErrorDomain::Domain);
    }
    return dom;
}

Result<DomainObjPtr> DomainManager::claimForDefinition(const std::shared_ptr<conf::DomainDef>& def, bool persistent,
                                                       const std::string& job, std::unique_lock<std::mutex>& lock,
                                                       bool& created) {
    // Every failure unlocks first: `lock` must not outlive the object whose mutex it holds.
    while (true) {
        CORRAL_ASSIGN_OR_RETURN(DomainObjPtr existing, domains_.checkIdentity(def->uuid, def->name));
        if (existing) {
            lock = std::unique_lock(existing->mutex());
            auto claimed = existing->beginJob(lock, job);
            if (claimed) {
                created = false;
                return existing;
            }
            const bool gone = existing->removed;
            lock.unlock();
            if (gone) {
                continue;  // undefined or stopped for good meanwhile: the identity is free again
            }
            return unexpected(std::move(claimed).error());
        }
        auto fresh = std::make_shared<objects::DomainObj>(def->uuid, def->name);
        lock = std::unique_lock(fresh->mutex());
        fresh->def = def;
        fresh->setPersistent(persistent);
        fresh->setState(DomainState::Shutoff, static_cast<int>(objects::ShutoffReason::Unknown));
        (void)fresh->beginJob(lock, job);  // nobody else knows it: it neither waits nor fails
        auto published = domains_.add(fresh);
        if (published && *published == fresh) {
            created = true;
            return fresh;
        }
        fresh->endJob();
        lock.unlock();
        if (!published) {
            return unexpected(std::move(published).error());
        }
        // Another call published this identity first (or it went again): look it up anew.
    }
}

void DomainManager::forgetLocked(const DomainObjPtr& dom) {
    dom->removed = true;
    domains_.remove(dom);
}

bool DomainManager::usesMac(const std::string& mac) const {
    for (const auto& dom : domains_.snapshot()) {
        std::lock_guard lock(dom->mutex());
        for (const auto* def : {dom->def.get(), dom->newDef.get()}) {
            if (def == nullptr) {
                continue;
            }
            for (const auto& used : def->macAddresses()) {
                if (used == mac) {
                    return true;
                }
            }
        }
    }
    return false;
}

std::string DomainManager::domainUsingMac(const std::string& mac, const Uuid& except) const {
    for (const auto& dom : domains_.snapshot()) {
        std::lock_guard lock(dom->mutex());
        if (dom->def->uuid == except) {
            continue;
        }
        for (const auto* def : {dom->def.get(), dom->newDef.get()}) {
            if (def == nullptr) {
                continue;
            }
            for (const auto& used : def->macAddresses()) {
                if (strcasecmp(used.c_str(), mac.c_str()) == 0) {
                    return dom->name();
                }
            }
        }
    }
    return "";
}

std::vector<std::string> DomainManager::runningDomainsUsingPath(const std::string& path) const {
    std::vector<std::string> out;
    for (const auto& dom : domains_.snapshot()) {
        std::lock_guard lock(dom->mutex());
        if (!dom->isActive() || dom->def == nullptr) {
            continue;
        }
        for (const auto& dev : dom->def->devices) {
            if (dev.name == "disk" && conf::diskSourcePath(dev) == path) {
                out.push_back(dom->def->name);
                break;
            }
        }
    }
    return out;
}

conf::PostParseContext DomainManager::postParseContext() const {
    conf::PostParseContext ctx;
    ctx.generateUuid = [] { return Uuid::generate(); };
    ctx.macInUse = [this](const std::string& mac) {
        return options_.macInUseOnHost ? options_.macInUseOnHost(mac) : usesMac(mac);
    };
    ctx.random32 = [] {
        Uuid u = Uuid::generate();
        return static_cast<std::uint32_t>(u.bytes[0]) << 24 | static_cast<std::uint32_t>(u.bytes[1]) << 16 |
               static_cast<std::uint32_t>(u.bytes[2]) << 8 | u.bytes[3];
    };
    return ctx;
}

Result<std::shared_ptr<conf::DomainDef>> DomainManager::parseForDriver(const std::string& xml, bool strict,
                                                                       bool newName) {
    conf::ParseOptions parseOptions;
    parseOptions.validateSchemaStrict = strict;
    CORRAL_ASSIGN_OR_RETURN(std::unique_ptr<conf::DomainDef> def,
                            conf::parseDomainXml(xml, parseOptions));
    if (newName) {
        CORRAL_TRY(conf::validateNewName(def->name, ErrorDomain::Domain));
    }
    CORRAL_TRY(conf::postParseDomainDef(*def, postParseContext()));
    CORRAL_TRY(conf::validateDomainDef(*def));
    CORRAL_TRY(backend_->completeDefinition(*def, false));
    CORRAL_TRY(backend_->checkDefinition(*def));
    for (const auto& note : conf::describeUnknownElements(*def)) {
        logWarning("domain '" + def->name + "': kept unmodelled XML verbatim: " + note);
    }
    return std::shared_ptr<conf::DomainDef>(std::move(def));
}

Result<DomainRef> DomainManager::seedDomain(const std::string& xml, bool persistent, bool running) {
    CORRAL_ASSIGN_OR_RETURN(auto def, parseForDriver(xml, false));
    std::unique_lock<std::mutex> lock;
    bool created = false;
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, claimForDefinition(def, persistent, "seed", lock, created));
    objects::JobGuard guard(*dom);
    if (!created && !dom->isActive()) {
        dom->def = def;
        dom->setPersistent(persistent);
    }
    if (running) {
        CORRAL_TRY(startLocked(dom, lock, false));
        // A fixture was found running, not booted (libvirt's test driver: "running (unknown)").
        dom->setState(objects::DomainState::Running, static_cast<int>(objects::RunningReason::Unknown));
    }
    return refOf(*dom);
}

// --- lookup -------------------------------------------------------------------------------------

Result<DomainRef> DomainManager::lookupByName(const std::string& name) {
    DomainObjPtr dom = domains_.findByName(name);
    if (!dom) {
        return fail(ErrorCode::NoDomain, "no domain with matching name '" + name + "'",
                    ErrorDomain::Domain);
    }
    return refOf(*dom);
}

Result<DomainRef> DomainManager::lookupByUuid(const Uuid& uuid) {
    DomainObjPtr dom = domains_.findByUuid(uuid);
    if (!dom) {
        return fail(ErrorCode::NoDomain, "no domain with matching uuid '" + uuid.toString() + "'",
                    ErrorDomain::Domain);
    }
    return refOf(*dom);
}

Result<DomainRef> DomainManager::lookupById(int id) {
    DomainObjPtr dom = id >= 0 ? domains_.findById(id) : nullptr;
    if (!dom) {
        return fail(ErrorCode::NoDomain, "no domain with matching id " + std::to_string(id),
                    ErrorDomain::Domain);
    }
    return refOf(*dom);
}

Result<std::vector<DomainRef>> DomainManager::listAll(unsigned flags) {
    using namespace list_flags;
    if ((flags & ~kAll) != 0) {
        return unsupportedFlags(flags, "listAllDomains");
    }
    auto wants = [flags](unsigned yes, unsigned no, bool value) {
        // A filter group applies only when one of its two bits is set; both set = no filter.
        if ((flags & (yes | no)) == 0 || (flags & (yes | no)) == (yes | no)) {
            return true;
        }
        return value ? (flags & yes) != 0 : (flags & no) != 0;
    };
    std::vector<DomainRef> out;
    for (const auto& dom : domains_.snapshot()) {
        // Summary fields are atomics: no per-domain lock, as DESIGN.md asks of list.
        DomainState state = dom->state();
        if (!wants(kActive, kInactive, dom->isActive()) ||
            !wants(kPersistent, kTransient, dom->persistent()) ||
            !wants(kManagedSave, kNoManagedSave, dom->hasManagedSave()) ||
            !wants(kAutostart, kNoAutostart, dom->autostart()) ||
            !wants(kHasSnapshot, kNoSnapshot, false) || !wants(kHasCheckpoint, kNoCheckpoint, false)) {
            continue;
        }
        unsigned stateBits = flags & (kRunning | kPaused | kShutoff | kOther);
        if (stateBits != 0) {
            bool match = (state == DomainState::Running && (flags & kRunning)) ||
                         (state == DomainState::Paused && (flags & kPaused)) ||
                         (state == DomainState::Shutoff && (flags & kShutoff)) ||
                         (state != DomainState::Running && state != DomainState::Paused &&
                          state != DomainState::Shutoff && (flags & kOther));
            if (!match) {
                continue;
            }
        }
        out.push_back(refOf(*dom));
    }
    return out;
}

// --- config -------------------------------------------------------------------------------------

Result<DomainRef> DomainManager::defineXml(const std::string& xml, unsigned flags) {
    if ((flags & ~define_flags::kValidate) != 0) {
        return unsupportedFlags(flags, "domainDefineXMLFlags");
    }
    CORRAL_ASSIGN_OR_RETURN(auto def, parseForDriver(xml, (flags & define_flags::kValidate) != 0, true));
    // A define waits for a job in flight: a start that dropped the lock copied the definition
    // it runs, and records the persistent one it knew when it comes back.
    std::unique_lock<std::mutex> lock;
    bool created = false;
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, claimForDefinition(def, true, "define", lock, created));
    objects::JobGuard guard(*dom);
    if (options_.store != nullptr) {
        // Durable before the reply, so an acknowledged define survives kill -9; written under
        // the job, so an undefine cannot remove it between the write and the registry.
        auto stored = options_.store->putDefinition(options_.driverName, def->uuid, def->name,
                                                    conf::formatDomainXml(*def, {.secure = true, .inactive = true}));
        if (!stored) {
            if (created) {
                forgetLocked(dom);
            }
            return unexpected(std::move(stored).error());
        }
    }
    const bool wasPersistent = !created && dom->persistent();
    if (dom->isActive()) {
        dom->newDef = def;
    } else {
        dom->def = def;
    }
    dom->setPersistent(true);
    emit(dom, LifecycleEvent::Defined,
         static_cast<int>(wasPersistent ? objects::DefinedDetail::Updated : objects::DefinedDetail::Added));
    return refOf(*dom);
}

Result<void> DomainManager::undefine(const DomainRef& ref, unsigned flags) {
    if ((flags & ~kUndefineKnownFlags) != 0) {
        return unsupportedFlags(flags, "domainUndefineFlags");
    }
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::unique_lock lock(dom->mutex());
    // Waits for a job in flight: a start drops the lock while the guest comes up, and must find
    // its domain still registered when it records the running guest (else the guest would run
    // with no domain the API could list or destroy).
    CORRAL_TRY(dom->beginJob(lock, "undefine"));
    objects::JobGuard guard(*dom);
    if (!dom->persistent()) {
        return fail(ErrorCode::OperationInvalid, "cannot undefine transient domain",
                    ErrorDomain::Domain);
    }
    if (dom->hasManagedSave()) {
        if ((flags & undefine_flags::kManagedSave) == 0) {
            return fail(ErrorCode::OperationInvalid,
                        "Refusing to undefine while domain managed save image exists", ErrorDomain::Domain);
        }
        if (::unlink(managedSavePath(dom->name()).c_str()) != 0 && errno != ENOENT) {
            return failErrno(errno, "cannot remove managed save image of domain '" + dom->name() + "'");
        }
        dom->setManagedSave(false);
    }
    if (options_.store != nullptr) {
        CORRAL_TRY(options_.store->removeDefinition(options_.driverName, dom->uuid()));
    }
    dom->setPersistent(false);
    dom->setAutostart(false);
    dom->newDef.reset();
    emit(dom, LifecycleEvent::Undefined, static_cast<int>(objects::UndefinedDetail::Removed));
    if (!dom->isActive()) {
        forgetLocked(dom);
    }
    return {};
}

Result<std::string> DomainManager::getXmlDesc(const DomainRef& ref, unsigned flags) {
    constexpr unsigned kKnown =
        xml_flags::kSecure | xml_flags::kInactive | xml_flags::kUpdateCpu | xml_flags::kMigratable;
    if ((flags & ~kKnown) != 0) {
        return unsupportedFlags(flags, "domainGetXMLDesc");
    }
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::lock_guard lock(dom->mutex());
    bool inactive = (flags & xml_flags::kInactive) != 0 || (flags & xml_flags::kMigratable) != 0;
    const conf::DomainDef* def = dom->def.get();
    if (inactive && dom->newDef) {
        def = dom->newDef.get();
    }
    conf::FormatOptions options;
    options.secure = (flags & xml_flags::kSecure) != 0;
    options.inactive = inactive;
    return conf::formatDomainXml(*def, options, (!inactive && dom->isActive()) ? dom->id() : -1);
}

Result<bool> DomainManager::getAutostart(const DomainRef& ref) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    return dom->autostart();
}

Result<void> DomainManager::setAutostart(const DomainRef& ref, bool autostart) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::lock_guard lock(dom->mutex());
    if (!dom->persistent()) {
        return fail(ErrorCode::OperationInvalid, "cannot set autostart for transient domain",
                    ErrorDomain::Domain);
    }
    if (dom->autostart() == autostart) {
        return {};
    }
    if (options_.store != nullptr) {
        CORRAL_TRY(options_.store->setAutostart(options_.driverName, dom->uuid(), autostart));
    }
    dom->setAutostart(autostart);
    return {};
}

// --- queries ------------------------------------------------------------------------------------

DomainInfo DomainManager::infoLocked(const objects::DomainObj& dom) {
    DomainInfo info;
    info.state = dom.state();
    info.maxMemKiB = dom.def->memoryKiB;
    info.memoryKiB = dom.def->currentMemoryKiB;
    info.vcpus = dom.def->vcpuCurrent != 0 ? dom.def->vcpuCurrent : dom.def->vcpus;
    info.cpuTimeNs = dom.isActive() ? backend_->cpuTimeNs(dom) : 0;
    return info;
}

Result<DomainInfo> DomainManager::getInfo(const DomainRef& ref) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::lock_guard lock(dom->mutex());
    return infoLocked(*dom);
}

std::optional<Result<DomainInfo>> DomainManager::tryGetInfo(const DomainRef& ref) {
    auto dom = find(ref);
    if (!dom) {
        return Result<DomainInfo>(unexpected(std::move(dom).error()));
    }
    std::unique_lock lock((*dom)->mutex(), std::try_to_lock);
    if (!lock.owns_lock()) {
        return std::nullopt;
    }
    return Result<DomainInfo>(infoLocked(**dom));
}

Result<bool> DomainManager::queryIsLive(const objects::DomainObj& dom, unsigned flags) {
    if ((flags & affect_flags::kLive) != 0 && (flags & affect_flags::kConfig) != 0) {
        return fail(ErrorCode::InvalidArg, "--live and --config are mutually exclusive", ErrorDomain::Domain);
    }
    const bool live = (flags & affect_flags::kLive) != 0 || (flags == affect_flags::kCurrent && dom.isActive());
    if (live && !dom.isActive()) {
        return notRunning();
    }
    return live;
}

const conf::DomainDef& DomainManager::definitionFor(const objects::DomainObj& dom, bool live) {
    return !live && dom.isActive() && dom.newDef ? *dom.newDef : *dom.def;
}

Result<DomainManager::ChangeTargets> DomainManager::changeTargets(const objects::DomainObj& dom, unsigned flags) {
    ChangeTargets t;
    t.live = (flags & affect_flags::kLive) != 0 || (flags == affect_flags::kCurrent && dom.isActive());
    t.config = (flags & affect_flags::kConfig) != 0 || (flags == affect_flags::kCurrent && !dom.isActive());
    if (t.live && !dom.isActive()) {
        return notRunning();
    }
    if (t.config && !dom.persistent()) {
        return fail(ErrorCode::OperationInvalid, "transient domains do not have any persistent config",
                    ErrorDomain::Domain);
    }
    return t;
}

Result<objects::StateAndReason> DomainManager::getState(const DomainRef& ref) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    return objects::StateAndReason{dom->state(), dom->reason()};
}

Result<std::string> DomainManager::getOsType(const DomainRef& ref) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::lock_guard lock(dom->mutex());
    return backend_->osType(*dom->def);
}

Result<bool> DomainManager::isActive(const DomainRef& ref) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    return dom->isActive();
}

Result<bool> DomainManager::isPersistent(const DomainRef& ref) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    return dom->persistent();
}

Result<bool> DomainManager::hasManagedSaveImage(const DomainRef& ref) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    return dom->hasManagedSave();
}

Result<int> DomainManager::getVcpusFlags(const DomainRef& ref, unsigned flags) {
    // virDomainVcpuFlags: LIVE 1, CONFIG 2, MAXIMUM 4, GUEST 8, HOTPLUGGABLE 16.
    constexpr unsigned kLive = 1, kConfig = 2, kMaximum = 4;
    if ((flags & ~(kLive | kConfig | kMaximum)) != 0) {
        return unsupportedFlags(flags, "domainGetVcpusFlags");
    }
    if ((flags & kLive) && (flags & kConfig)) {
        return fail(ErrorCode::InvalidArg, "flags 'live' and 'config' are mutually exclusive",
                    ErrorDomain::Domain);
    }
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::lock_guard lock(dom->mutex());
    const conf::DomainDef* def = dom->def.get();
    if (flags & kLive) {
        if (!dom->isActive()) {
            return notRunning();
        }
    } else if (flags & kConfig) {
        if (!dom->persistent()) {
            return fail(ErrorCode::OperationInvalid, "transient domains do not have any persistent config",
                        ErrorDomain::Domain);
        }
        if (dom->newDef) {
            def = dom->newDef.get();
        }
    }
    if (flags & kMaximum) {
        return static_cast<int>(def->vcpus);
    }
    return static_cast<int>(def->vcpuCurrent != 0 ? def->vcpuCurrent : def->vcpus);
}

Result<std::uint64_t> DomainManager::getMaxMemory(const DomainRef& ref) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::lock_guard lock(dom->mutex());
    return dom->def->memoryKiB;
}

}  // namespace corral::drivers
