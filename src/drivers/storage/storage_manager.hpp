// SPDX-License-Identifier: LGPL-2.1-or-later
// StorageManager: libvirt-style storage pools on this host. A `dir` pool is a directory whose
// regular files are its volumes (raw or qcow2). Definitions and autostart flags live in the
// store under the driver name "storage"; which pools are active is a status record, so a
// restarted (or killed) daemon finds its active pools again and rescans them.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "conf/storage_def.hpp"
#include "drivers/common/pool_event_bus.hpp"
#include "drivers/interfaces/secret.hpp"
#include "drivers/interfaces/storage.hpp"
#include "drivers/storage/volume_files.hpp"
#include "drivers/storage/volume_transfer.hpp"

namespace corral::objects {
class Store;
}

namespace corral::drivers::storage {

class StorageManager final : public StorageFacet {
public:
    /// The running guests whose disks use `path` (names); empty when none. Set by the registry.
    using PathUsers = std::function<std::vector<std::string>(const std::string& path)>;

    /// `store` may be nullptr (nothing persists).
    explicit StorageManager(objects::Store* store);
    /// Waits for the uploads still open (their streams are ending) to let go of their volumes.
    ~StorageManager() override;
    StorageManager(const StorageManager&) = delete;
    StorageManager& operator=(const StorageManager&) = delete;

    /// Definitions from the store, then the pools that were active, rescanned.
    Result<void> load();
    /// Starts every inactive autostart pool; failures are logged.
    void autostartAll();
    void setPathUsers(PathUsers users) { pathUsers_ = std::move(users); }
    /// The passphrase of a volume secret (by uuid, or by usage when uuid is ""), for volumes
    /// created with <encryption format='luks'>; without one such volumes are refused.
    using VolumeSecrets = std::function<Result<SecretBytes>(const std::string& uuid, const std::string& usage)>;
    void setVolumeSecrets(VolumeSecrets secrets) { volumeSecrets_ = std::move(secrets); }

    Result<std::string> volumePathFor(const std::string& pool, const std::string& volume) override;

    // StorageFacet: pools (storage_manager.cpp; what they show: storage_pool_queries.cpp)
    Result<StoragePoolRef> lookupPoolByName(const std::string& name) override;
    Result<StoragePoolRef> lookupPoolByUuid(const Uuid& uuid) override;
    Result<StoragePoolRef> lookupPoolByTargetPath(const std::string& path) override;
    Result<std::vector<StoragePoolRef>> listAllPools(unsigned flags) override;
    Result<std::string> poolCapabilities() override;
    Result<StoragePoolRef> definePool(const std::string& xml, unsigned flags) override;
    Result<StoragePoolRef> createPoolXml(const std::string& xml, unsigned flags) override;
    Result<void> buildPool(const StoragePoolRef& pool, unsigned flags) override;
    Result<void> undefinePool(const StoragePoolRef& pool) override;
    Result<void> startPool(const StoragePoolRef& pool, unsigned flags) override;
    Result<void> destroyPool(const StoragePoolRef& pool) override;
    Result<void> deletePool(const StoragePoolRef& pool, unsigned flags) override;
    Result<void> refreshPool(const StoragePoolRef& pool, unsigned flags) override;
    Result<std::string> poolXml(const StoragePoolRef& pool, unsigned flags) override;
    Result<StoragePoolInfo> poolInfo(const StoragePoolRef& pool) override;
    Result<bool> poolAutostart(const StoragePoolRef& pool) override;
    Result<void> setPoolAutostart(const StoragePoolRef& pool, bool on) override;
    Result<bool> poolIsActive(const StoragePoolRef& pool) override;
    Result<bool> poolIsPersistent(const StoragePoolRef& pool) override;
    Result<std::vector<StorageVolRef>> listAllVolumes(const StoragePoolRef& pool) override;
    int addPoolEventSink(StoragePoolEventSink sink) override { return events_.subscribe(std::move(sink)); }
    void removePoolEventSink(int id) override { events_.unsubscribe(id); }

    // StorageFacet: volumes (storage_volumes.cpp)
    Result<StorageVolRef> lookupVolByName(const StoragePoolRef& pool, const std::string& name) override;
    Result<StorageVolRef> lookupVolByKey(const std::string& key) override;
    Result<StorageVolRef> lookupVolByPath(const std::string& path) override;
    Result<StoragePoolRef> poolOfVolume(const StorageVolRef& vol) override;
    Result<StorageVolRef> createVol(const StoragePoolRef& pool, const std::string& xml, unsigned flags) override;
    Result<StorageVolRef> createVolFrom(const StoragePoolRef& pool, const std::string& xml,
                                        const StorageVolRef& source, unsigned flags) override;
    Result<void> deleteVol(const StorageVolRef& vol, unsigned flags) override;
    Result<void> wipeVol(const StorageVolRef& vol, unsigned algorithm, unsigned flags) override;
    Result<std::string> volXml(const StorageVolRef& vol, unsigned flags) override;
    Result<StorageVolInfo> volInfo(const StorageVolRef& vol, unsigned flags) override;
    Result<std::string> volPath(const StorageVolRef& vol) override;
    Result<void> resizeVol(const StorageVolRef& vol, std::uint64_t capacity, unsigned flags) override;

    // StorageFacet: uploads and downloads (storage_transfers.cpp)
    Result<std::unique_ptr<VolumeUpload>> openVolUpload(const StorageVolRef& vol, std::uint64_t offset,
                                                        std::uint64_t length, unsigned flags) override;
    Result<std::unique_ptr<VolumeDownload>> openVolDownload(const StorageVolRef& vol, std::uint64_t offset,
                                                            std::uint64_t length, unsigned flags) override;

private:
    friend class ManagedUpload;
    struct Vol {
        std::string name;
        std::string format;  ///< the format corrald made it with, or read from its header once
        VolumeFacts facts;
        /// The secret named at creation of an encrypted volume (the file does not say; a
        /// volume found by a refresh shows <encryption format='luks'/> alone, as libvirt's).
        std::string encryptionSecretUuid, encryptionSecretUsage;
        /// Being written (created, copied, wiped, resized) by a call that released the lock:
        /// other calls that would touch the file are refused until it is done.
        bool busy = false;
    };
    struct Pool {
        std::shared_ptr<conf::StoragePoolDef> def;
        bool active = false;
        bool persistent = false;
        bool autostart = false;
        std::map<std::string, std::shared_ptr<Vol>> vols;  ///< by name, while active
        int busyVolumes = 0;  ///< volumes being written: the pool cannot stop meanwhile
    };

    /// libvirt's default mode for a pool directory it builds.
    static constexpr unsigned kDefaultPoolMode = 0711;

    // Pools (storage_manager.cpp). Callers hold mutex_.
    Result<std::shared_ptr<Pool>> findLocked(const StoragePoolRef& ref) const;
    Result<std::shared_ptr<Pool>> findActiveLocked(const std::string& poolName) const;
    Result<std::shared_ptr<conf::StoragePoolDef>> parseAndPrepareLocked(const std::string& xml);
    /// `mount`: an fs pool not mounted is mounted (false at daemon start: it becomes inactive).
    Result<void> startLocked(Pool& pool, bool mount = true);
    Result<void> refreshLocked(Pool& pool);
    void updateSizesLocked(Pool& pool);
    void saveStatusLocked(const Pool& pool);
    Result<void> buildLocked(Pool& pool, unsigned flags);

    // Volumes (storage_volumes.cpp).
    struct VolHandle {
        std::shared_ptr<Pool> pool;
        std::shared_ptr<Vol> vol;
    };
    Result<VolHandle> findVolLocked(const StorageVolRef& ref) const;
    StorageVolRef volRefLocked(const Pool& pool, const Vol& vol) const;
    Result<void> refuseWhileUsed(const Pool& pool, const Vol& vol, std::string_view action) const;
    /// Whether `path` is the file of a volume of an active pool.
    [[nodiscard]] bool isPoolVolumeLocked(const std::string& path) const;
    Result<StorageVolRef> createVolCommon(const StoragePoolRef& poolRef, const std::string& xml,
                                          const StorageVolRef* source, unsigned flags);

    objects::Store* store_;
    PathUsers pathUsers_;
    VolumeSecrets volumeSecrets_;
    mutable std::mutex mutex_;
    std::map<std::string, std::shared_ptr<Pool>> pools_;  ///< by name; guarded by mutex_
    PoolEventBus events_;  ///< emitted with mutex_ held, so events keep the calls' order
    int openUploads_ = 0;                 ///< ManagedUpload objects alive; guarded by mutex_
    std::condition_variable uploadsGone_;  ///< openUploads_ reached 0
};

}  // namespace corral::drivers::storage
