// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainObjList: the registry and its indexes.
#include "objects/domain_obj_list.hpp"

#include <mutex>

namespace corral::objects {

DomainObjPtr DomainObjList::findByUuid(const Uuid& uuid) const {
    std::shared_lock lock(mutex_);
    auto it = byUuid_.find(uuid);
    return it == byUuid_.end() ? nullptr : it->second;
}

DomainObjPtr DomainObjList::findByName(const std::string& name) const {
    std::shared_lock lock(mutex_);
    auto it = byName_.find(name);
    return it == byName_.end() ? nullptr : it->second;
}

DomainObjPtr DomainObjList::findById(int id) const {
    std::shared_lock lock(mutex_);
    auto it = byId_.find(id);
    return it == byId_.end() ? nullptr : it->second;
}

Result<DomainObjPtr> DomainObjList::checkIdentity(const Uuid& uuid, const std::string& name) const {
    std::shared_lock lock(mutex_);
    auto byUuid = byUuid_.find(uuid);
    if (byUuid != byUuid_.end()) {
        if (byUuid->second->name() != name) {
            return fail(ErrorCode::OperationFailed,
                        "domain '" + byUuid->second->name() + "' is already defined with uuid " +
                            uuid.toString(),
                        ErrorDomain::Domain);
        }
        return byUuid->second;
    }
    auto byName = byName_.find(name);
    if (byName != byName_.end()) {
        return fail(ErrorCode::OperationFailed,
                    "domain '" + name + "' already exists with uuid " +
                        byName->second->uuid().toString(),
                    ErrorDomain::Domain);
    }
    return DomainObjPtr{};
}

Result<DomainObjPtr> DomainObjList::add(const Uuid& uuid, const std::string& name) {
    return add(std::make_shared<DomainObj>(uuid, name));
}

Result<DomainObjPtr> DomainObjList::add(const DomainObjPtr& fresh) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr existing, checkIdentity(fresh->uuid(), fresh->name()));
    if (existing) {
        return existing;
    }
    std::unique_lock lock(mutex_);
    // Re-check under the write lock: another define may have raced us.
    if (byUuid_.count(fresh->uuid()) != 0 || byName_.count(fresh->name()) != 0) {
        lock.unlock();
        return checkIdentity(fresh->uuid(), fresh->name());
    }
    byUuid_.emplace(fresh->uuid(), fresh);
    byName_.emplace(fresh->name(), fresh);
    return fresh;
}

void DomainObjList::remove(const DomainObjPtr& dom) {
    std::unique_lock lock(mutex_);
    auto it = byUuid_.find(dom->uuid());
    if (it == byUuid_.end() || it->second != dom) {
        return;
    }
    byUuid_.erase(it);
    byName_.erase(dom->name());
    for (auto idIt = byId_.begin(); idIt != byId_.end(); ++idIt) {
        if (idIt->second == dom) {
            byId_.erase(idIt);
            break;
        }
    }
}

Result<void> DomainObjList::replaceRenamed(const DomainObjPtr& dom, const DomainObjPtr& renamed) {
    std::unique_lock lock(mutex_);
    auto it = byUuid_.find(dom->uuid());
    if (it == byUuid_.end() || it->second != dom || renamed->uuid() != dom->uuid()) {
        return fail(ErrorCode::NoDomain, "domain '" + dom->name() + "' is no longer defined", ErrorDomain::Domain);
    }
    if (byName_.count(renamed->name()) != 0) {
        return fail(ErrorCode::OperationInvalid, "domain with name '" + renamed->name() + "' already exists",
                    ErrorDomain::Domain);
    }
    byName_.erase(dom->name());
    byName_.emplace(renamed->name(), renamed);
    it->second = renamed;
    return {};
}

void DomainObjList::setRunningId(const DomainObjPtr& dom, int id) {
    std::unique_lock lock(mutex_);
    int old = dom->id();
    if (old >= 0) {
        auto it = byId_.find(old);
        if (it != byId_.end() && it->second == dom) {
            byId_.erase(it);
        }
    }
    if (id >= 0) {
        byId_[id] = dom;
    }
    dom->setId(id);
}

int DomainObjList::allocateId() {
    std::unique_lock lock(mutex_);
    return nextId_++;
}

void DomainObjList::noteUsedId(int id) {
    std::unique_lock lock(mutex_);
    if (id >= nextId_) {
        nextId_ = id + 1;
    }
}

std::vector<DomainObjPtr> DomainObjList::snapshot() const {
    std::shared_lock lock(mutex_);
    std::vector<DomainObjPtr> out;
    out.reserve(byName_.size());
    for (const auto& [name, dom] : byName_) {
        out.push_back(dom);
    }
    return out;
}

std::size_t DomainObjList::size() const {
    std::shared_lock lock(mutex_);
    return byUuid_.size();
}

}  // namespace corral::objects
