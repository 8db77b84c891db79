// SPDX-License-Identifier: LGPL-2.1-or-later
// StorageManager: pools (volumes are in storage_volumes.cpp).
#include "drivers/storage/storage_manager.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iterator>

#include "conf/object_name.hpp"
#include "drivers/storage/fs_pool.hpp"
#include "drivers/storage/storage_errors.hpp"
#include "objects/store.hpp"
#include "util/files.hpp"
#include "util/logging.hpp"
#include "util/unique_fd.hpp"

namespace corral::drivers::storage {

namespace {

namespace pool_event = storage_pool_event;

constexpr const char* kDriver = "storage";
Unexpected noPool(const std::string& what) {
    return fail(ErrorCode::NoStoragePool, "no storage pool with matching " + what, ErrorDomain::Storage);
}

Unexpected invalid(const std::string& message) { return storageInvalid(message); }
Unexpected badFlags(unsigned flags, std::string_view api) { return storageBadFlags(flags, api); }

StoragePoolRef refOf(const conf::StoragePoolDef& def) { return StoragePoolRef{def.name, def.uuid}; }

unsigned typeBit(const std::string& type) {
    static const char* const order[] = {"dir",  "fs",      "netfs",   "logical", "disk", "iscsi",    "scsi",
                                        "mpath", "rbd",    "sheepdog", "gluster", "zfs", "vstorage", "iscsi-direct"};
    for (unsigned i = 0; i < std::size(order); ++i) {
        if (type == order[i]) {
            return 1u << (6 + i);
        }
    }
    return 0;
}

/// The pool types this driver runs; the others are refused naming the type.
bool runsType(const std::string& type) { return type == "dir" || type == "fs"; }

/// pool-create/-start's build flags as pool-build's.
unsigned buildFlagsOf(unsigned createFlags) {
    using namespace storage_flags;
    return ((createFlags & kPoolCreateWithBuildOverwrite) != 0 ? kPoolBuildOverwrite : 0u) |
           ((createFlags & kPoolCreateWithBuildNoOverwrite) != 0 ? kPoolBuildNoOverwrite : 0u);
}

/// A directory the pool may use: it exists, is a directory, and is not a symbolic link (a link
/// swapped in for a pool's target would send every volume written there somewhere else).
Result<void> checkTargetDirectory(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        Error e = failErrno(errno, "cannot open storage pool target '" + path + "'").error;
        e.domain = ErrorDomain::Storage;
        return unexpected(std::move(e));
    }
    if (S_ISLNK(st.st_mode)) {
        return invalid("storage pool target '" + path + "' is a symbolic link");
    }
    if (!S_ISDIR(st.st_mode)) {
        return invalid("storage pool target '" + path + "' is not a directory");
    }
    return {};
}

}  // namespace

StorageManager::StorageManager(objects::Store* store) : store_(store) {}

Result<void> StorageManager::load() {
    if (store_ == nullptr) {
        return {};
    }
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto defs, store_->loadDefinitions(kDriver));
    for (const auto& rec : defs) {
        auto def = conf::parseStoragePoolXml(rec.xml);
        if (!def) {
            logError("stored storage pool '" + rec.name + "' no longer parses, left untouched: " +
                     def.error().wireMessage());
            continue;
        }
        auto pool = std::make_shared<Pool>();
        pool->def = std::move(*def);
        pool->persistent = true;
        pool->autostart = rec.autostart;
        pools_[rec.name] = pool;
    }
    CORRAL_ASSIGN_OR_RETURN(auto statuses, store_->loadStatuses(kDriver));
    for (const auto& rec : statuses) {
        auto& slot = pools_[rec.name];
        if (!slot) {
            auto def = conf::parseStoragePoolXml(rec.status);
            if (!def) {
                (void)store_->removeStatus(kDriver, rec.uuid);
                pools_.erase(rec.name);
                continue;
            }
            slot = std::make_shared<Pool>();  // a transient pool that was active
            slot->def = std::move(*def);
        }
        // An fs pool whose mount vanished while the daemon was down is not mounted again.
        if (auto started = startLocked(*slot, false); !started) {
            logWarning("storage pool '" + rec.name + "' was active but cannot be started again: " +
                       started.error().wireMessage());
            (void)store_->removeStatus(kDriver, rec.uuid);
            if (!slot->persistent) {
                pools_.erase(rec.name);
            }
        }
    }
    return {};
}

void StorageManager::autostartAll() {
    std::lock_guard lock(mutex_);
    for (auto& [name, pool] : pools_) {
        if (pool->autostart && !pool->active) {
            if (auto started = startLocked(*pool); !started) {
                logError("autostart of storage pool '" + name + "' failed: " + started.error().wireMessage());
            } else {
                events_.lifecycle(refOf(*pool->def), pool_event::kStarted);
            }
        }
    }
}

Result<std::shared_ptr<StorageManager::Pool>> StorageManager::findLocked(const StoragePoolRef& ref) const {
    if (auto it = pools_.find(ref.name); it != pools_.end() && it->second->def->uuid == ref.uuid) {
        return it->second;
    }
    for (const auto& [name, pool] : pools_) {
        if (pool->def->uuid == ref.uuid) {
            return pool;
        }
    }
    return noPool("uuid '" + ref.uuid.toString() + "' (" + ref.name + ")");
}

Result<std::shared_ptr<StorageManager::Pool>> StorageManager::findActiveLocked(const std::string& poolName) const {
    auto it = pools_.find(poolName);
    if (it == pools_.end()) {
        return noPool("name '" + poolName + "'");
    }
    if (!it->second->active) {
        return invalid("storage pool '" + poolName + "' is not active");
    }
    return it->second;
}

Result<StoragePoolRef> StorageManager::lookupPoolByName(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = pools_.find(name);
    if (it == pools_.end()) {
        return noPool("name '" + name + "'");
    }
    return refOf(*it->second->def);
}

Result<StoragePoolRef> StorageManager::lookupPoolByUuid(const Uuid& uuid) {
    std::lock_guard lock(mutex_);
    for (const auto& [name, pool] : pools_) {
        if (pool->def->uuid == uuid) {
            return refOf(*pool->def);
        }
    }
    return noPool("uuid '" + uuid.toString() + "'");
}

Result<StoragePoolRef> StorageManager::lookupPoolByTargetPath(const std::string& path) {
    std::lock_guard lock(mutex_);
    for (const auto& [name, pool] : pools_) {
        if (pool->active && pool->def->targetPath == path) {
            return refOf(*pool->def);
        }
    }
    return noPool("target path '" + path + "'");
}

Result<std::vector<StoragePoolRef>> StorageManager::listAllPools(unsigned flags) {
    using namespace storage_pool_list_flags;
    constexpr unsigned known = kInactive | kActive | kPersistent | kTransient | kAutostart | kNoAutostart | kAllTypes;
    if ((flags & ~known) != 0) {
        return badFlags(flags & ~known, "virConnectListAllStoragePools");
    }
    std::lock_guard lock(mutex_);
    auto wants = [flags](unsigned yes, unsigned no, bool value) {
        return (flags & (yes | no)) == 0 || (value ? (flags & yes) != 0 : (flags & no) != 0);
    };
    std::vector<StoragePoolRef> out;
    for (const auto& [name, pool] : pools_) {
        if (wants(kActive, kInactive, pool->active) && wants(kPersistent, kTransient, pool->persistent) &&
            wants(kAutostart, kNoAutostart, pool->autostart) &&
            ((flags & kAllTypes) == 0 || (flags & typeBit(pool->def->type)) != 0)) {
            out.push_back(refOf(*pool->def));
        }
    }
    return out;
}

Result<std::string> StorageManager::poolCapabilities() { return conf::formatStoragePoolCapabilities({"dir", "fs"}); }

Result<std::shared_ptr<conf::StoragePoolDef>> StorageManager::parseAndPrepareLocked(const std::string& xml) {
    CORRAL_ASSIGN_OR_RETURN(auto parsed, conf::parseStoragePoolXml(xml));
    std::shared_ptr<conf::StoragePoolDef> def(std::move(parsed));
    if (!runsType(def->type)) {
        return fail(ErrorCode::ConfigUnsupported,
                    "storage pool type '" + def->type + "' is not supported by this host's storage driver (supported: dir, fs)",
                    ErrorDomain::Storage);
    }
    if (def->type == "dir" && (!def->sourceDevice.empty() || !def->sourceFormat.empty())) {
        return fail(ErrorCode::ConfigUnsupported, "a 'dir' storage pool takes no <source> device or format",
                    ErrorDomain::Storage);
    }
    if (def->type == "fs") {
        CORRAL_TRY(checkFsPoolDefinition(*def));
    }
    CORRAL_TRY(conf::validateNewName(def->name, ErrorDomain::Storage));
    auto existing = pools_.find(def->name);
    if (!def->uuidGiven) {
        def->uuid = existing != pools_.end() ? existing->second->def->uuid : Uuid::generate();
        def->uuidGiven = true;
    }
    if (existing != pools_.end() && existing->second->def->uuid != def->uuid) {
        return fail(ErrorCode::OperationFailed,
                    "pool '" + def->name + "' is already defined with uuid " + existing->second->def->uuid.toString(),
                    ErrorDomain::Storage);
    }
    for (const auto& [name, pool] : pools_) {
        if (name == def->name) {
            continue;
        }
        if (pool->def->uuid == def->uuid) {
            return fail(ErrorCode::OperationFailed, "pool '" + name + "' already has uuid " + def->uuid.toString(),
                        ErrorDomain::Storage);
        }
        // Two pools over one directory would each think they own its files.
        if (pool->def->targetPath == def->targetPath) {
            return fail(ErrorCode::OperationFailed, "Storage source conflict with pool: '" + name + "'",
                        ErrorDomain::Storage);
        }
        CORRAL_TRY(checkFsPoolConflicts(*def, name, *pool->def));
    }
    return def;
}

Result<StoragePoolRef> StorageManager::definePool(const std::string& xml, unsigned flags) {
    if ((flags & ~1u) != 0) {  // VIR_STORAGE_POOL_DEFINE_VALIDATE: the parser refuses what it does not know
        return badFlags(flags, "virStoragePoolDefineXML");
    }
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto def, parseAndPrepareLocked(xml));
    if (auto it = pools_.find(def->name); it != pools_.end() && it->second->active &&
                                          it->second->def->targetPath != def->targetPath) {
        return invalid("cannot change the target path of active storage pool '" + def->name + "'");
    }
    if (store_ != nullptr) {
        CORRAL_TRY(store_->putDefinition(kDriver, def->uuid, def->name, conf::formatStoragePoolXml(*def, false)));
    }
    auto& slot = pools_[def->name];
    if (!slot) {
        slot = std::make_shared<Pool>();
    }
    slot->def = def;
    slot->persistent = true;
    events_.lifecycle(refOf(*def), pool_event::kDefined);
    return refOf(*def);
}

Result<StoragePoolRef> StorageManager::createPoolXml(const std::string& xml, unsigned flags) {
    using namespace storage_flags;
    if ((flags & ~(kPoolCreateWithBuild | kPoolCreateWithBuildOverwrite | kPoolCreateWithBuildNoOverwrite)) != 0) {
        return badFlags(flags, "virStoragePoolCreateXML");
    }
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto def, parseAndPrepareLocked(xml));
    if (pools_.count(def->name) != 0) {
        return invalid("storage pool '" + def->name + "' already exists");
    }
    auto pool = std::make_shared<Pool>();
    pool->def = def;
    if ((flags & (kPoolCreateWithBuild | kPoolCreateWithBuildOverwrite | kPoolCreateWithBuildNoOverwrite)) != 0) {
        CORRAL_TRY(buildLocked(*pool, buildFlagsOf(flags)));
    }
    CORRAL_TRY(startLocked(*pool));
    pools_[def->name] = pool;
    saveStatusLocked(*pool);
    events_.lifecycle(refOf(*def), pool_event::kStarted);
    return refOf(*def);
}

Result<void> StorageManager::buildLocked(Pool& pool, unsigned flags) {
    using namespace storage_flags;
    if ((flags & ~(kPoolBuildNoOverwrite | kPoolBuildOverwrite)) != 0) {
        return badFlags(flags, "virStoragePoolBuild");
    }
    if ((flags & kPoolBuildNoOverwrite) != 0 && (flags & kPoolBuildOverwrite) != 0) {
        return fail(ErrorCode::InvalidArg, "flags 'overwrite' and 'no-overwrite' are mutually exclusive",
                    ErrorDomain::Storage);
    }
    const std::string& path = pool.def->targetPath;
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        CORRAL_TRY(checkTargetDirectory(path));
    } else {
        const std::string parent = path.substr(0, path.rfind('/'));
        if (!parent.empty()) {
            CORRAL_TRY(makeDirectories(parent, 0755));
        }
        if (::mkdir(path.c_str(), pool.def->perms.mode.value_or(kDefaultPoolMode)) != 0 && errno != EEXIST) {
            Error e = failErrno(errno, "cannot create directory '" + path + "'").error;
            e.domain = ErrorDomain::Storage;
            return unexpected(std::move(e));
        }
        CORRAL_TRY(checkTargetDirectory(path));
    }
    conf::StoragePerms perms = pool.def->perms;
    if (!perms.mode) {
        perms.mode = kDefaultPoolMode;
    }
    CORRAL_TRY(applyPermissions(path, perms));
    // As libvirt: without a flag an fs pool's build makes the directory only.
    if (pool.def->type == "fs" && flags != 0) {
        return makeFsPoolFileSystem(*pool.def, (flags & kPoolBuildOverwrite) != 0);
    }
    return {};
}

Result<void> StorageManager::buildPool(const StoragePoolRef& ref, unsigned flags) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto pool, findLocked(ref));
    if (pool->active) {
        return invalid("storage pool '" + ref.name + "' is already active");
    }
    CORRAL_TRY(buildLocked(*pool, flags));
    events_.lifecycle(refOf(*pool->def), pool_event::kCreated);
    return {};
}

Result<void> StorageManager::undefinePool(const StoragePoolRef& ref) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto pool, findLocked(ref));
    if (pool->active) {
        return invalid("storage pool '" + ref.name + "' is still active");
    }
    if (!pool->persistent) {
        return invalid("cannot undefine transient storage pool '" + ref.name + "'");
    }
    if (store_ != nullptr) {
        CORRAL_TRY(store_->removeDefinition(kDriver, pool->def->uuid));
    }
    events_.lifecycle(refOf(*pool->def), pool_event::kUndefined);
    pools_.erase(pool->def->name);
    return {};
}

Result<void> StorageManager::startLocked(Pool& pool, bool mount) {
    if (!runsType(pool.def->type)) {
        return fail(ErrorCode::ConfigUnsupported, "storage pool type '" + pool.def->type + "' is not supported",
                    ErrorDomain::Storage);
    }
    CORRAL_TRY(checkTargetDirectory(pool.def->targetPath)
                   .withContext("starting storage pool '" + conf::printableText(pool.def->name) + "'"));
    bool mountedHere = false;
    if (pool.def->type == "fs") {
        CORRAL_ASSIGN_OR_RETURN(bool mounted, fsPoolIsMounted(*pool.def));
        if (!mounted && !mount) {
            return invalid("storage pool source '" + pool.def->sourceDevice + "' is no longer mounted on '" +
                           pool.def->targetPath + "'");
        }
        if (!mounted) {
            CORRAL_TRY(mountFsPool(*pool.def));
            mountedHere = true;
        }
    }
    pool.active = true;
    if (auto r = refreshLocked(pool); !r) {
        pool.active = false;
        pool.vols.clear();
        if (mountedHere) {
            (void)unmountFsPool(*pool.def);
        }
        return r;
    }
    return {};
}

Result<void> StorageManager::startPool(const StoragePoolRef& ref, unsigned flags) {
    using namespace storage_flags;
    if ((flags & ~(kPoolCreateWithBuild | kPoolCreateWithBuildOverwrite | kPoolCreateWithBuildNoOverwrite)) != 0) {
        return badFlags(flags, "virStoragePoolCreate");
    }
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto pool, findLocked(ref));
    if (pool->active) {
        return invalid("storage pool '" + ref.name + "' is already active");
    }
    if ((flags & (kPoolCreateWithBuild | kPoolCreateWithBuildOverwrite | kPoolCreateWithBuildNoOverwrite)) != 0) {
        CORRAL_TRY(buildLocked(*pool, buildFlagsOf(flags)));
    }
    CORRAL_TRY(startLocked(*pool));
    saveStatusLocked(*pool);
    events_.lifecycle(refOf(*pool->def), pool_event::kStarted);
    return {};
}

Result<void> StorageManager::destroyPool(const StoragePoolRef& ref) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto pool, findLocked(ref));
    if (!pool->active) {
        return invalid("storage pool '" + ref.name + "' is not active");
    }
    if (pool->busyVolumes > 0) {
        return invalid("pool '" + ref.name + "' has asynchronous jobs running");
    }
    if (pool->def->type == "fs") {
        // As libvirt, no check of guests here: a disk still open keeps the unmount from happening.
        CORRAL_TRY(unmountFsPool(*pool->def));
    }
    pool->active = false;
    pool->vols.clear();
    saveStatusLocked(*pool);
    events_.lifecycle(refOf(*pool->def), pool_event::kStopped);
    if (!pool->persistent) {
        pools_.erase(pool->def->name);
    }
    return {};
}

Result<void> StorageManager::deletePool(const StoragePoolRef& ref, unsigned flags) {
    if (flags != 0) {
        return badFlags(flags, "virStoragePoolDelete");
    }
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto pool, findLocked(ref));
    if (pool->active) {
        return invalid("storage pool '" + ref.name + "' is still active");
    }
    const std::string& path = pool->def->targetPath;
    CORRAL_TRY(checkTargetDirectory(path));
    // rmdir: a directory that still holds files (volumes) is left alone.
    if (::rmdir(path.c_str()) != 0) {
        Error e = failErrno(errno, "failed to remove pool '" + path + "'").error;
        e.domain = ErrorDomain::Storage;
        return unexpected(std::move(e));
    }
    events_.lifecycle(refOf(*pool->def), pool_event::kDeleted);
    return {};
}

Result<void> StorageManager::refreshLocked(Pool& pool) {
    const std::string& dir = pool.def->targetPath;
    CORRAL_TRY(checkTargetDirectory(dir));
    if (pool.def->type == "fs") {
        // Unmounted behind the daemon's back: the directory below is not the pool.
        CORRAL_ASSIGN_OR_RETURN(bool mounted, fsPoolIsMounted(*pool.def));
        if (!mounted) {
            return invalid("storage pool source '" + pool.def->sourceDevice + "' is no longer mounted on '" + dir + "'");
        }
    }
    UniqueFd dirFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dirFd) {
        Error e = failErrno(errno, "cannot open directory '" + dir + "'").error;
        e.domain = ErrorDomain::Storage;
        return unexpected(std::move(e));
    }
    DIR* d = ::fdopendir(dirFd.get());
    if (d == nullptr) {
        Error e = failErrno(errno, "cannot read directory '" + dir + "'").error;
        e.domain = ErrorDomain::Storage;
        return unexpected(std::move(e));
    }
    (void)dirFd.release();  // closedir closes it
    std::map<std::string, std::shared_ptr<Vol>> found;
    while (const dirent* ent = ::readdir(d)) {
        const std::string name = ent->d_name;
        if (name == "." || name == ".." || !conf::checkVolumeName(name)) {
            continue;
        }
        if (isUploadFileName(name)) {
            // An upload's file is never a volume. With no upload running, it is one a killed
            // daemon left between naming it and renaming it over its volume.
            if (pool.busyVolumes == 0) {
                ::unlinkat(::dirfd(d), name.c_str(), 0);
            }
            continue;
        }
        auto old = pool.vols.find(name);
        if (old != pool.vols.end() && old->second->busy) {
            found[name] = old->second;  // being written: its facts come when it is done
            continue;
        }
        const std::string known = old != pool.vols.end() ? old->second->format : std::string();
        // Symbolic links, sockets, directories are not volumes (libvirt skips what it cannot open
        // as one); a link is never followed out of the pool.
        auto facts = probeVolume(dir, name, known);
        if (!facts) {
            continue;
        }
        auto vol = std::make_shared<Vol>();
        vol->name = name;
        vol->facts = std::move(*facts);
        vol->format = known.empty() ? vol->facts.format : known;
        found[name] = vol;
    }
    ::closedir(d);
    pool.vols = std::move(found);
    updateSizesLocked(pool);
    return {};
}

void StorageManager::updateSizesLocked(Pool& pool) {
    struct statvfs sv {};
    if (::statvfs(pool.def->targetPath.c_str(), &sv) == 0) {
        pool.def->capacity = static_cast<std::uint64_t>(sv.f_blocks) * sv.f_frsize;
        pool.def->available = static_cast<std::uint64_t>(sv.f_bavail) * sv.f_frsize;
        pool.def->allocation = pool.def->capacity - static_cast<std::uint64_t>(sv.f_bfree) * sv.f_frsize;
    }
}

Result<void> StorageManager::refreshPool(const StoragePoolRef& ref, unsigned flags) {
    if (flags != 0) {
        return badFlags(flags, "virStoragePoolRefresh");
    }
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto pool, findLocked(ref));
    if (!pool->active) {
        return invalid("storage pool '" + ref.name + "' is not active");
    }
    if (pool->busyVolumes > 0) {
        // As libvirt: a rescan while a volume is written could report a half-made file.
        return invalid("pool '" + ref.name + "' has asynchronous jobs running");
    }
    if (auto r = refreshLocked(*pool); !r) {
        // The target is gone or unreadable: the pool stops, as libvirt's refresh does.
        pool->active = false;
        pool->vols.clear();
        saveStatusLocked(*pool);
        events_.lifecycle(refOf(*pool->def), pool_event::kStopped);
        if (!pool->persistent) {
            pools_.erase(pool->def->name);
        }
        return r;
    }
    events_.refresh(refOf(*pool->def));
    return {};
}

void StorageManager::saveStatusLocked(const Pool& pool) {
    if (store_ == nullptr) {
        return;
    }
    auto saved = pool.active
                     ? store_->putStatus(kDriver, pool.def->uuid, pool.def->name, conf::formatStoragePoolXml(*pool.def, false))
                     : store_->removeStatus(kDriver, pool.def->uuid);
    if (!saved) {
        logError("cannot record the state of storage pool '" + pool.def->name + "': " + saved.error().wireMessage());
    }
}

Result<void> StorageManager::setPoolAutostart(const StoragePoolRef& ref, bool on) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto pool, findLocked(ref));
    if (!pool->persistent) {
        return invalid("cannot set autostart for transient pool");
    }
    if (store_ != nullptr) {
        CORRAL_TRY(store_->setAutostart(kDriver, pool->def->uuid, on));
    }
    pool->autostart = on;
    return {};
}

}  // namespace corral::drivers::storage
