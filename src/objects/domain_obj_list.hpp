// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainObjList: a driver's registry of domains, indexed by UUID, name and running id.
#pragma once

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "objects/domain_obj.hpp"
#include "util/result.hpp"

namespace corral::objects {

class DomainObjList {
public:
    /// Finds by UUID, name or running id; nullptr when absent. Lock-free for the domain.
    DomainObjPtr findByUuid(const Uuid& uuid) const;
    DomainObjPtr findByName(const std::string& name) const;
    DomainObjPtr findById(int id) const;

    /// Registers a new domain. Fails (OperationFailed, libvirt's wording) when the name is taken
    /// by another UUID or the UUID by another name.
    Result<DomainObjPtr> add(const Uuid& uuid, const std::string& name);
    /// Publishes `fresh`, an object its creator has already filled in (and may hold the mutex
    /// and job of), so that no one finds it half made. Returns the object that holds the
    /// identity afterwards: `fresh`, or a domain of the same UUID and name that was there first
    /// (then `fresh` stays unpublished). Fails as add() on a clash.
    Result<DomainObjPtr> add(const DomainObjPtr& fresh);

    /// Checks, without adding, that `uuid`/`name` could be added or denote the same domain.
    /// Returns the existing object with that identity, or nullptr if it is new.
    Result<DomainObjPtr> checkIdentity(const Uuid& uuid, const std::string& name) const;

    void remove(const DomainObjPtr& dom);

    /// Puts `renamed` (same UUID, another name) in the place of `dom`, atomically for lookups.
    /// Fails (OperationInvalid, libvirt's wording) when the new name is taken, or when `dom`
    /// is no longer registered.
    Result<void> replaceRenamed(const DomainObjPtr& dom, const DomainObjPtr& renamed);

    /// Records that `dom` now runs with `id` (or stopped, id -1) in the id index.
    void setRunningId(const DomainObjPtr& dom, int id);
    /// A fresh id for a starting domain: 1, 2, 3... never reused while the daemon runs.
    int allocateId();
    /// Makes allocateId() continue after `id` (used when reconnecting to running guests).
    void noteUsedId(int id);

    /// Every domain, in name order; the pointers stay valid, the set may change afterwards.
    std::vector<DomainObjPtr> snapshot() const;
    std::size_t size() const;

private:
    mutable std::shared_mutex mutex_;
    std::unordered_map<Uuid, DomainObjPtr, UuidHash> byUuid_;
    std::map<std::string, DomainObjPtr> byName_;
    std::unordered_map<int, DomainObjPtr> byId_;
    int nextId_ = 1;
};

}  // namespace corral::objects
