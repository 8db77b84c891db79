// SPDX-License-Identifier: LGPL-2.1-or-later
// StorageManager: volumes. A call that writes a file (create, clone, wipe, resize) marks the
// volume busy and releases the manager's lock while qemu-img or the kernel works, so that one
// slow copy does not stop every other storage call; the mark makes a second writer, a delete
// or a pool stop wait their turn with a clear refusal.
#include <sys/stat.h>

#include <climits>
#include <cstdlib>

#include "conf/object_name.hpp"
#include "drivers/storage/storage_manager.hpp"
#include "util/strings.hpp"

namespace corral::drivers::storage {

namespace {

Unexpected noVol(const std::string& what) {
    return fail(ErrorCode::NoStorageVol, "no storage vol with matching " + what, ErrorDomain::Storage);
}

Unexpected invalid(const std::string& message) {
    return fail(ErrorCode::OperationInvalid, message, ErrorDomain::Storage);
}

Unexpected badFlags(unsigned flags, std::string_view api) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%x", flags);
    return fail(ErrorCode::InvalidArg, "unsupported flags (" + std::string(hex) + ") in function " + std::string(api),
                ErrorDomain::Storage);
}

/// `path` with repeated and trailing '/' removed (virFileSanitizePath).
std::string sanitizePath(const std::string& path) {
    std::string out;
    for (char ch : path) {
        if (ch == '/' && !out.empty() && out.back() == '/') {
            continue;
        }
        out += ch;
    }
    while (out.size() > 1 && out.back() == '/') {
        out.pop_back();
    }
    return out;
}

/// Every symbolic link resolved; "" when the path does not resolve.
std::string resolvedPath(const std::string& path) {
    char buf[PATH_MAX];
    return ::realpath(path.c_str(), buf) != nullptr ? std::string(buf) : std::string();
}

}  // namespace

StorageVolRef StorageManager::volRefLocked(const Pool& pool, const Vol& vol) const {
    const std::string path = pool.def->targetPath + "/" + vol.name;
    return StorageVolRef{pool.def->name, vol.name, path};
}

Result<StorageManager::VolHandle> StorageManager::findVolLocked(const StorageVolRef& ref) const {
    auto it = pools_.find(ref.pool);
    if (it == pools_.end() || !it->second->active) {
        return noVol("key '" + ref.key + "'");
    }
    auto v = it->second->vols.find(ref.name);
    if (v == it->second->vols.end()) {
        return noVol("name '" + ref.name + "'");
    }
    return VolHandle{it->second, v->second};
}

Result<void> StorageManager::refuseWhileUsed(const Pool& pool, const Vol& vol, std::string_view action) const {
    if (vol.busy) {
        return invalid("volume '" + vol.name + "' is still in use.");
    }
    if (pathUsers_) {
        const std::string path = pool.def->targetPath + "/" + vol.name;
        auto users = pathUsers_(path);
        if (!users.empty()) {
            return invalid("cannot " + std::string(action) + " storage volume '" + vol.name +
                           "': it is in use by running domain '" + users.front() + "'");
        }
    }
    return {};
}

Result<StorageVolRef> StorageManager::lookupVolByName(const StoragePoolRef& poolRef, const std::string& name) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto pool, findLocked(poolRef));
    if (!pool->active) {
        return invalid("storage pool '" + poolRef.name + "' is not active");
    }
    auto v = pool->vols.find(name);
    if (v == pool->vols.end()) {
        return noVol("name '" + name + "'");
    }
    return volRefLocked(*pool, *v->second);
}

Result<StorageVolRef> StorageManager::lookupVolByKey(const std::string& key) {
    // A volume's key is its path.
    auto found = lookupVolByPath(key);
    if (!found && found.error().code == ErrorCode::NoStorageVol) {
        return noVol("key '" + key + "'");
    }
    return found;
}

Result<StorageVolRef> StorageManager::lookupVolByPath(const std::string& rawPath) {
    const std::string path = sanitizePath(rawPath);
    const std::string resolved = resolvedPath(path);
    std::lock_guard lock(mutex_);
    for (const auto& [name, pool] : pools_) {
        if (!pool->active) {
            continue;
        }
        const std::string& dir = pool->def->targetPath;
        for (const auto& [volName, vol] : pool->vols) {
            const std::string volPath = dir + "/" + volName;
            if (volPath == path || (!resolved.empty() && resolvedPath(dir) + "/" + volName == resolved)) {
                return volRefLocked(*pool, *vol);
            }
        }
    }
    return noVol("path '" + rawPath + "'");
}

Result<StoragePoolRef> StorageManager::poolOfVolume(const StorageVolRef& ref) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto h, findVolLocked(ref));
    return StoragePoolRef{h.pool->def->name, h.pool->def->uuid};
}

Result<std::string> StorageManager::volumePathFor(const std::string& poolName, const std::string& volume) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto pool, findActiveLocked(poolName));
    auto v = pool->vols.find(volume);
    if (v == pool->vols.end()) {
        return noVol("name '" + volume + "' in pool '" + poolName + "'");
    }
    return pool->def->targetPath + "/" + volume;
}

Result<StorageVolRef> StorageManager::createVol(const StoragePoolRef& pool, const std::string& xml, unsigned flags) {
    using namespace storage_flags;
    if ((flags & ~(kVolCreatePreallocMetadata | kVolCreateValidate)) != 0) {
        return badFlags(flags, "virStorageVolCreateXML");
    }
    return createVolCommon(pool, xml, nullptr, flags);
}

Result<StorageVolRef> StorageManager::createVolFrom(const StoragePoolRef& pool, const std::string& xml,
                                                    const StorageVolRef& source, unsigned flags) {
    using namespace storage_flags;
    if ((flags & ~(kVolCreatePreallocMetadata | kVolCreateValidate)) != 0) {
        return badFlags(flags, "virStorageVolCreateXMLFrom");
    }
    return createVolCommon(pool, xml, &source, flags);
}

Result<StorageVolRef> StorageManager::createVolCommon(const StoragePoolRef& poolRef, const std::string& xml,
                                                      const StorageVolRef* source, unsigned flags) {
    CORRAL_ASSIGN_OR_RETURN(auto parsed, conf::parseStorageVolXml(xml));
    conf::StorageVolDef def = std::move(*parsed);
    if (isUploadFileName(def.name)) {
        // A refresh takes such a file for one a killed upload left, and removes it.
        return fail(ErrorCode::InvalidArg,
                    "volume name '" + def.name + "' is reserved: names starting with '" +
                        std::string(kUploadFilePrefix) + "' are uploads in progress",
                    ErrorDomain::Storage);
    }
    const bool preallocMetadata = (flags & storage_flags::kVolCreatePreallocMetadata) != 0;
    // The passphrase first: a missing secret, one without a value or of another usage is
    // refused before anything is reserved or written.
    SecretBytes passphrase;
    if (!def.encryptionFormat.empty()) {
        if (source != nullptr || preallocMetadata) {
            return fail(ErrorCode::OperationUnsupported,
                        "an encrypted volume can only be created empty, without metadata preallocation",
                        ErrorDomain::Storage);
        }
        if (!volumeSecrets_) {
            return fail(ErrorCode::OperationUnsupported, "encrypted volumes need the secret driver",
                        ErrorDomain::Storage);
        }
        CORRAL_ASSIGN_OR_RETURN(passphrase, volumeSecrets_(def.encryptionSecretUuid, def.encryptionSecretUsage));
    }
    if (preallocMetadata && def.format != "qcow2") {
        return fail(ErrorCode::OperationUnsupported, "metadata preallocation only available with qcow2",
                    ErrorDomain::Storage);
    }
    std::shared_ptr<Pool> pool;
    std::shared_ptr<Vol> vol;
    std::shared_ptr<Vol> sourceVol;
    std::shared_ptr<Pool> sourcePool;
    std::string sourcePath, sourceFormat, dir;
    {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(pool, findLocked(poolRef));
        if (!pool->active) {
            return invalid("storage pool '" + poolRef.name + "' is not active");
        }
        if (pool->vols.count(def.name) != 0) {
            return fail(ErrorCode::StorageVolExist, "'" + def.name + "'", ErrorDomain::Storage);
        }
        if (!def.backingPath.empty()) {
            // A backing file outside every pool would let a guest read any host file through
            // its disk: only another volume may back one.
            bool found = false;
            for (const auto& [pname, p] : pools_) {
                if (!p->active || !startsWith(def.backingPath, p->def->targetPath + "/")) {
                    continue;
                }
                auto bv = p->vols.find(def.backingPath.substr(p->def->targetPath.size() + 1));
                if (bv != p->vols.end()) {
                    found = true;
                    if (def.backingFormat.empty()) {
                        def.backingFormat = bv->second->format;
                    } else if (def.backingFormat != bv->second->format) {
                        return fail(ErrorCode::XmlError,
                                    "backing store '" + def.backingPath + "' is a " + bv->second->format +
                                        " volume, not " + def.backingFormat,
                                    ErrorDomain::Storage);
                    }
                }
            }
            if (!found) {
                return invalid("backing store '" + def.backingPath + "' is not a volume of an active storage pool");
            }
        }
        if (source != nullptr) {
            CORRAL_ASSIGN_OR_RETURN(auto src, findVolLocked(*source));
            if (src.vol->busy) {
                return invalid("volume '" + src.vol->name + "' is still in use.");
            }
            if (!src.vol->facts.backingPath.empty() && def.backingPath.empty()) {
                // A flattened copy reads the source's backing file: it must be a pool volume too.
                bool inPool = false;
                for (const auto& [pname, p] : pools_) {
                    inPool = inPool || (p->active && startsWith(src.vol->facts.backingPath, p->def->targetPath + "/") &&
                                        p->vols.count(src.vol->facts.backingPath.substr(p->def->targetPath.size() + 1)));
                }
                if (!inPool) {
                    return invalid("backing store '" + src.vol->facts.backingPath + "' of volume '" +
                                   src.vol->name + "' is not a volume of an active storage pool");
                }
            }
            sourceVol = src.vol;
            sourcePool = src.pool;
            sourcePath = src.pool->def->targetPath + "/" + src.vol->name;
            sourceFormat = src.vol->format;
            if (def.capacity < src.vol->facts.capacity) {
                def.capacity = src.vol->facts.capacity;
            }
        }
        vol = std::make_shared<Vol>();
        vol->name = def.name;
        vol->format = def.format;
        vol->busy = true;
        pool->vols[def.name] = vol;
        ++pool->busyVolumes;
        if (sourceVol) {
            sourceVol->busy = true;  // nobody deletes or rewrites the source while it is read
            ++sourcePool->busyVolumes;
        }
        dir = pool->def->targetPath;
    }
    auto made = !def.encryptionFormat.empty() ? createEncryptedVolumeFile(dir, def, passphrase.bytes())
                : source == nullptr               ? createVolumeFile(dir, def, preallocMetadata)
                                                  : copyVolumeFile(dir, def, sourcePath, sourceFormat, preallocMetadata);
    Result<VolumeFacts> facts = made ? probeVolume(dir, def.name, def.format) : Result<VolumeFacts>(unexpected(made.error()));
    std::lock_guard lock(mutex_);
    --pool->busyVolumes;
    if (sourceVol) {
        sourceVol->busy = false;
        --sourcePool->busyVolumes;
    }
    if (!facts) {
        pool->vols.erase(def.name);
        return unexpected(facts.error());
    }
    vol->facts = std::move(*facts);
    vol->encryptionSecretUuid = def.encryptionSecretUuid;
    vol->encryptionSecretUsage = def.encryptionSecretUsage;
    vol->busy = false;
    updateSizesLocked(*pool);
    return volRefLocked(*pool, *vol);
}

Result<void> StorageManager::deleteVol(const StorageVolRef& ref, unsigned flags) {
    if (flags != 0) {
        return badFlags(flags, "virStorageVolDelete");
    }
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto h, findVolLocked(ref));
    CORRAL_TRY(refuseWhileUsed(*h.pool, *h.vol, "delete"));
    const std::string path = h.pool->def->targetPath + "/" + h.vol->name;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        Error e = failErrno(errno, "cannot unlink file '" + path + "'").error;
        e.domain = ErrorDomain::Storage;
        return unexpected(std::move(e));
    }
    h.pool->vols.erase(h.vol->name);
    updateSizesLocked(*h.pool);
    return {};
}

Result<void> StorageManager::wipeVol(const StorageVolRef& ref, unsigned algorithm, unsigned flags) {
    if (flags != 0) {
        return badFlags(flags, "virStorageVolWipePattern");
    }
    if (algorithm != 0) {
        return fail(ErrorCode::NoSupport,
                    "wipe algorithm " + std::to_string(algorithm) + " needs the scrub program; only 'zero' is supported",
                    ErrorDomain::Storage);
    }
    VolHandle h;
    VolumeFacts facts;
    {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(h, findVolLocked(ref));
        CORRAL_TRY(refuseWhileUsed(*h.pool, *h.vol, "wipe"));
        facts = h.vol->facts;
        h.vol->busy = true;
        ++h.pool->busyVolumes;
    }
    auto wiped = wipeVolumeFile(h.pool->def->targetPath, h.vol->name, facts);
    auto fresh = probeVolume(h.pool->def->targetPath, h.vol->name, h.vol->format);
    std::lock_guard lock(mutex_);
    h.vol->busy = false;
    --h.pool->busyVolumes;
    if (fresh) {
        h.vol->facts = std::move(*fresh);
    }
    return wiped;
}

Result<std::string> StorageManager::volXml(const StorageVolRef& ref, unsigned flags) {
    if (flags != 0) {
        return badFlags(flags, "virStorageVolGetXMLDesc");
    }
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto h, findVolLocked(ref));
    const VolumeFacts& f = h.vol->facts;
    conf::StorageVolDef def;
    def.name = h.vol->name;
    def.path = h.pool->def->targetPath + "/" + h.vol->name;
    def.key = def.path;
    def.format = h.vol->format;
    def.capacity = f.capacity;
    def.allocated = f.allocated;
    def.physical = f.physical;
    def.perms.mode = f.mode;
    def.perms.uid = f.uid;
    def.perms.gid = f.gid;
    def.encryptionFormat = f.encryption;
    if (!f.encryption.empty()) {
        def.encryptionSecretUuid = h.vol->encryptionSecretUuid;
        def.encryptionSecretUsage = h.vol->encryptionSecretUsage;
    }
    if (def.format == "qcow2") {
        def.compat = f.compat;
        def.lazyRefcounts = f.lazyRefcounts;
        def.backingPath = f.backingPath;
        def.backingFormat = f.backingFormat;
    }
    return conf::formatStorageVolXml(def);
}

Result<StorageVolInfo> StorageManager::volInfo(const StorageVolRef& ref, unsigned flags) {
    if ((flags & ~storage_flags::kVolGetPhysical) != 0) {
        return badFlags(flags, "virStorageVolGetInfoFlags");
    }
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto h, findVolLocked(ref));
    if (!h.vol->busy) {
        if (auto fresh = probeVolume(h.pool->def->targetPath, h.vol->name, h.vol->format)) {
            h.vol->facts = std::move(*fresh);
        }
    }
    StorageVolInfo info;
    info.capacity = h.vol->facts.capacity;
    info.allocation =
        (flags & storage_flags::kVolGetPhysical) != 0 ? h.vol->facts.physical : h.vol->facts.allocated;
    return info;
}

Result<std::string> StorageManager::volPath(const StorageVolRef& ref) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto h, findVolLocked(ref));
    return h.pool->def->targetPath + "/" + h.vol->name;
}

Result<void> StorageManager::resizeVol(const StorageVolRef& ref, std::uint64_t capacity, unsigned flags) {
    using namespace storage_flags;
    if ((flags & ~(kVolResizeAllocate | kVolResizeDelta | kVolResizeShrink)) != 0) {
        return badFlags(flags, "virStorageVolResize");
    }
    VolHandle h;
    std::uint64_t newCapacity = 0;
    {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(h, findVolLocked(ref));
        CORRAL_TRY(refuseWhileUsed(*h.pool, *h.vol, "resize"));
        const std::uint64_t current = h.vol->facts.capacity;
        if ((flags & kVolResizeDelta) != 0) {
            if ((flags & kVolResizeShrink) != 0) {
                if (capacity > current) {
                    return fail(ErrorCode::InvalidArg, "can't shrink capacity below 0", ErrorDomain::Storage);
                }
                newCapacity = current - capacity;
            } else {
                newCapacity = current + capacity;
            }
        } else {
            newCapacity = capacity;
        }
        if (newCapacity < current && (flags & kVolResizeShrink) == 0) {
            return fail(ErrorCode::InvalidArg,
                        "Can't shrink capacity below current capacity unless shrink flag explicitly specified",
                        ErrorDomain::Storage);
        }
        if ((flags & kVolResizeAllocate) != 0 && h.vol->format != "raw") {
            return fail(ErrorCode::OperationUnsupported, "preallocate is only supported for raw type volume",
                        ErrorDomain::Storage);
        }
        updateSizesLocked(*h.pool);
        if ((flags & kVolResizeAllocate) != 0 && newCapacity > current &&
            newCapacity - current > h.pool->def->available) {
            return fail(ErrorCode::OperationFailed, "Not enough space left in storage pool", ErrorDomain::Storage);
        }
        h.vol->busy = true;
        ++h.pool->busyVolumes;
    }
    const std::string path = h.pool->def->targetPath + "/" + h.vol->name;
    auto resized = resizeVolumeFile(path, h.vol->format, newCapacity, (flags & kVolResizeAllocate) != 0);
    auto fresh = probeVolume(h.pool->def->targetPath, h.vol->name, h.vol->format);
    std::lock_guard lock(mutex_);
    h.vol->busy = false;
    --h.pool->busyVolumes;
    if (fresh) {
        h.vol->facts = std::move(*fresh);
    }
    updateSizesLocked(*h.pool);
    return resized;
}

}  // namespace corral::drivers::storage
