// SPDX-License-Identifier: LGPL-2.1-or-later
// StorageManager: what pools show (XML, info, autostart, state, volume lists).
#include "drivers/storage/storage_errors.hpp"
#include "drivers/storage/storage_manager.hpp"

namespace corral::drivers::storage {

namespace {

Unexpected invalid(const std::string& message) { return storageInvalid(message); }
Unexpected badFlags(unsigned flags, std::string_view api) { return storageBadFlags(flags, api); }

}  // namespace

Result<std::string> StorageManager::poolXml(const StoragePoolRef& ref, unsigned flags) {
    if ((flags & ~storage_flags::kPoolXmlInactive) != 0) {
        return badFlags(flags, "virStoragePoolGetXMLDesc");
    }
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto pool, findLocked(ref));
    conf::StoragePoolDef shown = *pool->def;
    if (!shown.perms.mode) {
        shown.perms.mode = kDefaultPoolMode;
    }
    if (!pool->active) {
        shown.capacity = shown.allocation = shown.available = 0;
    }
    return conf::formatStoragePoolXml(shown, true);
}

Result<StoragePoolInfo> StorageManager::poolInfo(const StoragePoolRef& ref) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto pool, findLocked(ref));
    StoragePoolInfo info;
    if (pool->active) {
        updateSizesLocked(*pool);
        info.state = StoragePoolState::Running;
        info.capacity = pool->def->capacity;
        info.allocation = pool->def->allocation;
        info.available = pool->def->available;
    }
    return info;
}

Result<bool> StorageManager::poolAutostart(const StoragePoolRef& ref) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto pool, findLocked(ref));
    return pool->autostart;
}

Result<bool> StorageManager::poolIsActive(const StoragePoolRef& ref) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto pool, findLocked(ref));
    return pool->active;
}

Result<bool> StorageManager::poolIsPersistent(const StoragePoolRef& ref) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto pool, findLocked(ref));
    return pool->persistent;
}

Result<std::vector<StorageVolRef>> StorageManager::listAllVolumes(const StoragePoolRef& ref) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto pool, findLocked(ref));
    if (!pool->active) {
        return invalid("storage pool '" + ref.name + "' is not active");
    }
    std::vector<StorageVolRef> out;
    for (const auto& [name, vol] : pool->vols) {
        out.push_back(volRefLocked(*pool, *vol));
    }
    return out;
}

}  // namespace corral::drivers::storage
