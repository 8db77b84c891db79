// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainManager's lifecycle: start, create, destroy, shutdown, reboot, suspend, resume, and the
// bookkeeping of a stop.
#include <unistd.h>

#include <thread>

#include "conf/domain_def.hpp"
#include "drivers/common/domain_manager.hpp"
#include "drivers/common/domain_manager_errors.hpp"
#include "objects/store.hpp"
#include "util/logging.hpp"

namespace corral::drivers {

using objects::DomainObjPtr;
using objects::DomainState;
using objects::LifecycleEvent;

namespace {
/// libvirt's drivers that cannot hand descriptors to a guest do not implement the call at all.
Result<void> requireFilesSupport(const GuestBackend& backend, std::span<const int> files, const char* api) {
    if (!files.empty() && !backend.takesPassedFiles()) {
        return fail(ErrorCode::NoSupport, api, ErrorDomain::Domain);
    }
    return {};
}

constexpr unsigned kCreateKnownFlags = create_flags::kPaused | create_flags::kAutodestroy |
                                       create_flags::kBypassCache | create_flags::kForceBoot |
                                       create_flags::kValidate | create_flags::kResetNvram;

/// Flags libvirt knows that would change how a guest lives, refused rather than ignored:
/// AUTODESTROY asks for the guest to die with the client's connection, BYPASS_CACHE for a
/// restore that does not go through the page cache. (RESET_NVRAM is accepted: there is no
/// NVRAM to keep, <os><nvram> being refused.)
Result<void> refuseUnenforcedCreateFlags(unsigned flags) {
    if ((flags & create_flags::kAutodestroy) != 0) {
        return fail(ErrorCode::ArgumentUnsupported,
                    "VIR_DOMAIN_START_AUTODESTROY is not supported: the guest would outlive the connection that "
                    "asked it to end with it",
                    ErrorDomain::Domain);
    }
    if ((flags & create_flags::kBypassCache) != 0) {
        return fail(ErrorCode::ArgumentUnsupported, "VIR_DOMAIN_START_BYPASS_CACHE is not supported",
                    ErrorDomain::Domain);
    }
    return {};
}
}  // namespace

// --- lifecycle ----------------------------------------------------------------------------------

Result<void> DomainManager::startLocked(const DomainObjPtr& dom, std::unique_lock<std::mutex>& lock,
                                        bool paused, const RestoreSource* from, std::span<const int> files) {
    if (dom->isActive()) {
        return fail(ErrorCode::OperationInvalid, "domain is already running", ErrorDomain::Domain);
    }
    // The live definition is a private copy: runtime facts (ports, aliases) go into it, never
    // into the persistent definition.
    auto persistentDef = dom->def;
    // Checked again, not only at define: a definition stored by an older version may ask for
    // what this one refuses, and must not start without it.
    if (auto accepted = backend_->checkDefinition(*persistentDef); !accepted) {
        return std::move(accepted).withContext("starting domain '" + dom->name() + "'");
    }
    auto liveDef = std::make_shared<conf::DomainDef>(*persistentDef);
    lock.unlock();
    Result<void> started;
    if (!files.empty()) {
        started = backend_->startWithFiles(*dom, *liveDef, paused, files);
    } else if (from == nullptr) {
        started = backend_->start(*dom, *liveDef, paused);
    } else {
        // A restored guest comes up paused; it runs only once it is fully registered below.
        started = backend_->startFromState(*dom, *liveDef, from->fd);
    }
    lock.lock();
    if (!started) {
        // As libvirt: a start that got nowhere leaves the domain shut off (failed).
        dom->setState(DomainState::Shutoff, static_cast<int>(objects::ShutoffReason::Failed));
        return std::move(started).withContext("starting domain '" + dom->name() + "'");
    }

    int id = backend_->runningId(*dom).value_or(0);
    if (id <= 0) {
        id = domains_.allocateId();
    }
    domains_.setRunningId(dom, id);
    dom->def = liveDef;
    if (dom->persistent() && !dom->newDef) {
        dom->newDef = persistentDef;
    }
    dom->startedAt = std::chrono::steady_clock::now();
    auditMachineIdLocked(dom);
    if (from == nullptr) {
        dom->setState(paused ? DomainState::Paused : DomainState::Running,
                      paused ? static_cast<int>(objects::PausedReason::User)
                             : static_cast<int>(objects::RunningReason::Booted));
        saveStatusLocked(dom);
        emit(dom, LifecycleEvent::Started, static_cast<int>(objects::StartedDetail::Booted));
        if (paused) {
            emit(dom, LifecycleEvent::Suspended, static_cast<int>(objects::SuspendedDetail::Paused));
        }
        return {};
    }
    // As libvirt: a restore left paused is "paused (migrating)", a running one "running (restored)".
    dom->setState(DomainState::Paused, static_cast<int>(objects::PausedReason::Migration));
    saveStatusLocked(dom);
    emit(dom, LifecycleEvent::Started, static_cast<int>(objects::StartedDetail::Restored));
    if (paused) {
        emit(dom, LifecycleEvent::Suspended, static_cast<int>(objects::SuspendedDetail::Restored));
        return {};
    }
    lock.unlock();
    auto resumed = backend_->resume(*dom);
    lock.lock();
    if (!resumed) {
        // The guest is there, paused; the caller learns why it is not running.
        return std::move(resumed).withContext("resuming restored domain '" + dom->name() + "'");
    }
    dom->setState(DomainState::Running, static_cast<int>(objects::RunningReason::Restored));
    saveStatusLocked(dom);
    return {};
}

void DomainManager::saveStatusLocked(const DomainObjPtr& dom) {
    if (options_.store == nullptr) {
        return;
    }
    Result<void> saved;
    if (dom->isActive()) {
        saved = options_.store->putStatus(options_.driverName, dom->uuid(), dom->name(), encodeStatus(*dom));
    } else {
        saved = options_.store->removeStatus(options_.driverName, dom->uuid());
    }
    if (!saved) {
        // The guest's state already changed; the reply cannot undo it. Report loudly.
        logError("cannot record runtime status of domain '" + dom->name() +
                 "': " + saved.error().wireMessage());
    }
}

void DomainManager::markStoppedLocked(const DomainObjPtr& dom, objects::ShutoffReason reason,
                                      objects::StoppedDetail detail) {
    domains_.setRunningId(dom, -1);
    dom->setState(DomainState::Shutoff, static_cast<int>(reason));
    if (dom->newDef) {
        dom->def = dom->newDef;
        dom->newDef.reset();
    }
    saveStatusLocked(dom);
    emit(dom, LifecycleEvent::Stopped, static_cast<int>(detail));
    if (!dom->persistent()) {
        forgetLocked(dom);
    }
}

Result<DomainRef> DomainManager::create(const DomainRef& ref, unsigned flags) {
    return createWithFiles(ref, {}, flags);
}

Result<DomainRef> DomainManager::createWithFiles(const DomainRef& ref, std::span<const int> files, unsigned flags) {
    if ((flags & ~kCreateKnownFlags) != 0) {
        return unsupportedFlags(flags, files.empty() ? "domainCreateWithFlags" : "domainCreateWithFiles");
    }
    CORRAL_TRY(refuseUnenforcedCreateFlags(flags));
    CORRAL_TRY(requireFilesSupport(*backend_, files, "virDomainCreateWithFiles"));
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::unique_lock lock(dom->mutex());
    CORRAL_TRY(dom->beginJob(lock, "start"));
    const bool paused = (flags & create_flags::kPaused) != 0;
    Result<void> started;
    if (dom->hasManagedSave() && (flags & create_flags::kForceBoot) == 0 && !dom->isActive()) {
        started = startFromManagedSaveLocked(dom, lock, paused);
    } else {
        if (dom->hasManagedSave() && !dom->isActive()) {
            // --force-boot: the saved state is thrown away, as libvirt does.
            ::unlink(managedSavePath(dom->name()).c_str());
            dom->setManagedSave(false);
        }
        started = startLocked(dom, lock, paused, nullptr, files);
    }
    dom->endJob();
    CORRAL_TRY(std::move(started));
    return refOf(*dom);
}

Result<DomainRef> DomainManager::createXml(const std::string& xml, unsigned flags) {
    return createXmlWithFiles(xml, {}, flags);
}

Result<DomainRef> DomainManager::createXmlWithFiles(const std::string& xml, std::span<const int> files,
                                                    unsigned flags) {
    if ((flags & ~kCreateKnownFlags) != 0) {
        return unsupportedFlags(flags, files.empty() ? "domainCreateXML" : "domainCreateXMLWithFiles");
    }
    CORRAL_TRY(refuseUnenforcedCreateFlags(flags));
    CORRAL_TRY(requireFilesSupport(*backend_, files, "virDomainCreateXMLWithFiles"));
    CORRAL_ASSIGN_OR_RETURN(auto def, parseForDriver(xml, (flags & create_flags::kValidate) != 0, true));
    return startDefinition(std::move(def), (flags & create_flags::kPaused) != 0, nullptr, files);
}

Result<DomainRef> DomainManager::startDefinition(std::shared_ptr<conf::DomainDef> def, bool paused,
                                                 const RestoreSource* from, std::span<const int> files) {
    std::unique_lock<std::mutex> lock;
    bool created = false;
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom,
                            claimForDefinition(def, false, from != nullptr ? "restore" : "start", lock, created));
    objects::JobGuard guard(*dom);
    if (dom->isActive()) {
        return fail(ErrorCode::OperationInvalid,
                    "domain '" + dom->name() + "' is already active", ErrorDomain::Domain);
    }
    // The given definition runs once; a defined domain keeps its persistent one.
    auto persistentDef = dom->def;
    dom->def = std::move(def);
    if (!created && dom->persistent()) {
        dom->newDef = persistentDef;
    }
    auto started = startLocked(dom, lock, paused, from, files);
    if (!started && !dom->isActive()) {
        // A domain made for this start goes again, keeping the definition it was made with
        // (a call that found it before it went may still read it).
        if (created) {
            forgetLocked(dom);
        } else {
            dom->def = persistentDef;
            dom->newDef.reset();
        }
    }
    CORRAL_TRY(std::move(started));
    return refOf(*dom);
}

Result<void> DomainManager::destroy(const DomainRef& ref, unsigned flags) {
    if ((flags & ~1u) != 0) {
        return unsupportedFlags(flags, "domainDestroyFlags");
    }
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::unique_lock lock(dom->mutex());
    CORRAL_TRY(dom->beginJob(lock, "destroy"));
    if (!dom->isActive()) {
        dom->endJob();
        return notRunning();
    }
    lock.unlock();
    auto destroyed = backend_->destroy(*dom, (flags & 1u) != 0);
    lock.lock();
    if (destroyed && dom->isActive()) {
        markStoppedLocked(dom, objects::ShutoffReason::Destroyed, objects::StoppedDetail::Destroyed);
    }
    dom->endJob();
    return destroyed;
}

Result<void> DomainManager::shutdown(const DomainRef& ref, unsigned flags) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::unique_lock lock(dom->mutex());
    CORRAL_TRY(dom->beginJob(lock, "shutdown"));
    if (!dom->isActive()) {
        dom->endJob();
        return notRunning();
    }
    lock.unlock();
    auto gone = backend_->shutdown(*dom, flags);
    lock.lock();
    if (gone && *gone && dom->isActive()) {
        markStoppedLocked(dom, objects::ShutoffReason::Shutdown, objects::StoppedDetail::Shutdown);
    }
    dom->endJob();
    CORRAL_TRY(std::move(gone));
    return {};
}

Result<void> DomainManager::reboot(const DomainRef& ref, unsigned flags) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::unique_lock lock(dom->mutex());
    CORRAL_TRY(dom->beginJob(lock, "reboot"));
    if (!dom->isActive()) {
        dom->endJob();
        return notRunning();
    }
    lock.unlock();
    auto rebooted = backend_->reboot(*dom, flags);
    lock.lock();
    dom->endJob();
    return rebooted;
}

Result<void> DomainManager::suspend(const DomainRef& ref) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::unique_lock lock(dom->mutex());
    CORRAL_TRY(dom->beginJob(lock, "suspend"));
    if (!dom->isActive()) {
        dom->endJob();
        return notRunning();
    }
    if (dom->state() == DomainState::Paused) {
        dom->endJob();
        return {};
    }
    lock.unlock();
    auto paused = backend_->suspend(*dom);
    lock.lock();
    if (paused) {
        dom->setState(DomainState::Paused, static_cast<int>(objects::PausedReason::User));
        saveStatusLocked(dom);
        emit(dom, LifecycleEvent::Suspended, static_cast<int>(objects::SuspendedDetail::Paused));
    }
    dom->endJob();
    return paused;
}

Result<void> DomainManager::pmWakeup(const DomainRef& ref, unsigned flags) {
    if (flags != 0) {
        return unsupportedFlags(flags, "domainPMWakeup");
    }
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::unique_lock lock(dom->mutex());
    CORRAL_TRY(dom->beginJob(lock, "pmwakeup"));
    objects::JobGuard guard(*dom);
    if (!dom->isActive()) {
        return notRunning();
    }
    if (dom->state() != DomainState::PmSuspended) {
        return fail(ErrorCode::OperationInvalid, "domain is not suspended to memory", ErrorDomain::Domain);
    }
    lock.unlock();
    auto woken = backend_->pmWakeup(*dom);
    lock.lock();
    return woken;
}

Result<void> DomainManager::resume(const DomainRef& ref) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::unique_lock lock(dom->mutex());
    CORRAL_TRY(dom->beginJob(lock, "resume"));
    if (!dom->isActive()) {
        dom->endJob();
        return notRunning();
    }
    if (dom->state() != DomainState::Paused) {
        dom->endJob();
        return fail(ErrorCode::OperationInvalid, "domain is not paused", ErrorDomain::Domain);
    }
    lock.unlock();
    auto resumed = backend_->resume(*dom);
    lock.lock();
    if (resumed) {
        dom->setState(DomainState::Running, static_cast<int>(objects::RunningReason::Unpaused));
        saveStatusLocked(dom);
        emit(dom, LifecycleEvent::Resumed, static_cast<int>(objects::ResumedDetail::Unpaused));
    }
    dom->endJob();
    return resumed;
}

void DomainManager::guestStopped(const Uuid& uuid, objects::ShutoffReason reason,
                                 objects::StoppedDetail detail, bool restart) {
    guestEvents_.forget(uuid);
    DomainObjPtr dom = domains_.findByUuid(uuid);
    if (!dom) {
        return;
    }
    {
        std::lock_guard lock(dom->mutex());
        if (!dom->isActive()) {
            return;
        }
        restart = restart && dom->persistent();
        markStoppedLocked(dom, reason, detail);
    }
    if (restart) {
        // Not on the backend's event thread: starting waits for the new guest's monitor.
        std::thread([this, dom] {
            auto started = create(refOf(*dom), 0);
            if (!started) {
                logError("restarting domain '" + dom->name() + "' failed: " + started.error().wireMessage());
            }
        }).detach();
    }
}

void DomainManager::guestRebooted(const Uuid& uuid) {
    DomainObjPtr dom = domains_.findByUuid(uuid);
    if (!dom) {
        return;
    }
    std::lock_guard lock(dom->mutex());
    if (dom->isActive() && admitGuestEvent(*dom)) {
        DomainEvent ev;
        ev.dom = refOf(*dom);
        ev.eventId = event_id::kReboot;
        events_.emit(ev);
    }
}

void DomainManager::guestEvent(const Uuid& uuid, DomainEvent event) {
    DomainObjPtr dom = domains_.findByUuid(uuid);
    if (!dom) {
        return;
    }
    std::lock_guard lock(dom->mutex());
    if (dom->isActive() && admitGuestEvent(*dom)) {
        event.dom = refOf(*dom);
        events_.emit(event);
    }
}

void DomainManager::guestStateChanged(const Uuid& uuid, DomainState state, int reason,
                                      LifecycleEvent event, int detail) {
    DomainObjPtr dom = domains_.findByUuid(uuid);
    if (!dom) {
        return;
    }
    std::lock_guard lock(dom->mutex());
    if (!dom->isActive() || (dom->state() == state && dom->reason() == reason)) {
        return;
    }
    dom->setState(state, reason);
    saveStatusLocked(dom);
    // The state is recorded whatever the rate; only the news of it may be dropped.
    if (admitGuestEvent(*dom)) {
        emit(dom, event, detail);
    }
}

}  // namespace corral::drivers
