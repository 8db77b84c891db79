// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainManager at daemon start: definitions and running guests from the store, autostart.
#include <sys/stat.h>

#include <sstream>

#include "conf/domain_def.hpp"
#include "drivers/common/domain_manager.hpp"
#include "objects/store.hpp"
#include "util/files.hpp"
#include "util/logging.hpp"

namespace corral::drivers {

using objects::DomainObjPtr;
using objects::DomainState;

std::string DomainManager::encodeStatus(const objects::DomainObj& dom) {
    return std::to_string(dom.id()) + " " + std::to_string(static_cast<int>(dom.state())) + " " +
           std::to_string(dom.reason()) + "\n" + conf::formatDomainXml(*dom.def, {.secure = true}, dom.id());
}

Result<void> DomainManager::loadFromStore() {
    if (options_.store == nullptr) {
        return {};
    }
    CORRAL_ASSIGN_OR_RETURN(auto records, options_.store->loadDefinitions(options_.driverName));
    for (const auto& rec : records) {
        auto parsed = conf::parseDomainXml(rec.xml, conf::ParseOptions{});
        if (!parsed) {
            logError("stored definition of domain '" + rec.name + "' (" + rec.uuid.toString() +
                     ") no longer parses, left in the store untouched: " + parsed.error().wireMessage());
            continue;
        }
        std::shared_ptr<conf::DomainDef> def(std::move(*parsed));
        auto added = domains_.add(def->uuid, def->name);
        if (!added) {
            logError("stored definition of domain '" + rec.name + "' clashes: " + added.error().wireMessage());
            continue;
        }
        DomainObjPtr dom = *added;
        std::lock_guard lock(dom->mutex());
        dom->def = def;
        dom->setPersistent(true);
        dom->setAutostart(rec.autostart);
        dom->setState(DomainState::Shutoff, static_cast<int>(objects::ShutoffReason::Unknown));
        if (!options_.managedSaveDir.empty()) {
            moveLegacyFile(options_.managedSaveDir, def->name, ".save");  // saved by an older daemon
            struct stat st {};
            const bool hasImage = ::stat(managedSavePath(def->name).c_str(), &st) == 0;
            dom->setManagedSave(hasImage);
            if (hasImage) {
                dom->setState(DomainState::Shutoff, static_cast<int>(objects::ShutoffReason::Saved));
            }
        }
    }
    CORRAL_ASSIGN_OR_RETURN(auto statuses, options_.store->loadStatuses(options_.driverName));
    for (const auto& rec : statuses) {
        restoreStatus(rec);
    }
    std::vector<Uuid> running;
    for (const auto& dom : domains_.snapshot()) {
        if (dom->isActive()) {
            running.push_back(dom->uuid());
        }
    }
    backend_->reconnectsDone(running);
    return {};
}

void DomainManager::restoreStatus(const objects::StatusRecord& rec) {
    std::istringstream head(rec.status.substr(0, rec.status.find('\n')));
    int id = -1;
    int state = 0;
    int reason = 0;
    head >> id >> state >> reason;
    auto newline = rec.status.find('\n');
    auto parsed = newline == std::string::npos ? Result<std::unique_ptr<conf::DomainDef>>(
                                                     fail(ErrorCode::InternalError, "no XML in status record"))
                                               : conf::parseDomainXml(rec.status.substr(newline + 1));
    if (!parsed || id < 0) {
        logError("runtime status of domain '" + rec.name + "' is unreadable; dropping it");
        (void)options_.store->removeStatus(options_.driverName, rec.uuid);
        return;
    }
    std::shared_ptr<conf::DomainDef> live(std::move(*parsed));
    DomainObjPtr dom = domains_.findByUuid(rec.uuid);
    if (!dom) {
        // Transient: it had no definition, only the running guest.
        auto added = domains_.add(live->uuid, live->name);
        if (!added) {
            logError("runtime status of domain '" + rec.name + "' clashes: " + added.error().wireMessage());
            return;
        }
        dom = *added;
    }
    // The backend may block (connecting to a monitor): call it without the domain lock.
    std::unique_lock lock(dom->mutex(), std::defer_lock);
    auto alive = backend_->reconnect(*dom, *live);
    auto observed = alive && *alive ? backend_->stateAfterReconnect(*dom) : std::nullopt;
    lock.lock();
    if (!alive || !*alive) {
        logWarning("domain '" + rec.name + "' was running when the daemon stopped and is gone now" +
                   (alive ? std::string() : ": " + alive.error().wireMessage()));
        (void)options_.store->removeStatus(options_.driverName, rec.uuid);
        dom->setState(DomainState::Shutoff, static_cast<int>(objects::ShutoffReason::Daemon));
        if (!dom->persistent()) {
            forgetLocked(dom);
        }
        return;
    }
    if (dom->persistent()) {
        dom->newDef = dom->def;
    }
    dom->def = live;
    domains_.noteUsedId(id);
    domains_.setRunningId(dom, id);
    dom->setState(static_cast<DomainState>(state), reason);
    dom->startedAt = std::chrono::steady_clock::now();
    // The guest may have woken up, paused or resumed while no daemon watched: believe it, not
    // the record (a reason that still fits the state is kept).
    if (observed && observed->first != static_cast<DomainState>(state)) {
        // Paused before, running now: someone resumed it (libvirt's reconnect says "unpaused").
        if (static_cast<DomainState>(state) == DomainState::Paused && observed->first == DomainState::Running) {
            observed->second = static_cast<int>(objects::RunningReason::Unpaused);
        }
        logWarning("domain '" + rec.name + "' changed state while the daemon was down; it is " +
                   std::string(objects::kDomainStateNames[static_cast<std::size_t>(observed->first)]) + " now");
        dom->setState(observed->first, observed->second);
        saveStatusLocked(dom);
    }
}

void DomainManager::autostartAll() {
    for (const auto& dom : domains_.snapshot()) {
        if (!dom->autostart() || dom->isActive()) {
            continue;
        }
        auto started = create(refOf(*dom), 0);
        if (!started) {
            logError("autostart of domain '" + dom->name() + "' failed: " + started.error().wireMessage());
        }
    }
}

}  // namespace corral::drivers
