// SPDX-License-Identifier: LGPL-2.1-or-later
// The storage facet: libvirt's storage pool and volume API (pool-define, vol-create ...), served
// on the host drivers' connections (qemu:///system, lxc:///) as libvirtd does, and by the test
// driver from memory.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "util/result.hpp"
#include "util/uuid.hpp"

namespace corral::drivers {

/// What the wire calls remote_nonnull_storage_pool.
struct StoragePoolRef {
    std::string name;
    Uuid uuid;
};

/// What the wire calls remote_nonnull_storage_vol: the pool's name, the volume's, its key.
struct StorageVolRef {
    std::string pool;
    std::string name;
    std::string key;
};

/// virStoragePoolState.
enum class StoragePoolState : std::uint8_t { Inactive = 0, Building = 1, Running = 2, Degraded = 3, Inaccessible = 4 };

struct StoragePoolInfo {
    StoragePoolState state = StoragePoolState::Inactive;
    std::uint64_t capacity = 0;
    std::uint64_t allocation = 0;
    std::uint64_t available = 0;
};

struct StorageVolInfo {
    int type = 0;  ///< virStorageVolType: 0 file
    std::uint64_t capacity = 0;
    std::uint64_t allocation = 0;
};

/// Storage pool events (virConnectStoragePoolEventRegisterAny): the event ids, and the
/// lifecycle events' values (virStoragePoolEventLifecycleType; their detail is always 0).
namespace storage_pool_event {
inline constexpr int kIdLifecycle = 0;
inline constexpr int kIdRefresh = 1;
inline constexpr int kIdLast = kIdRefresh;
inline constexpr int kDefined = 0;
inline constexpr int kUndefined = 1;
inline constexpr int kStarted = 2;
inline constexpr int kStopped = 3;
inline constexpr int kCreated = 4;  ///< built (pool-build)
inline constexpr int kDeleted = 5;  ///< pool-delete
}  // namespace storage_pool_event

struct StoragePoolEvent {
    StoragePoolRef pool;
    int eventId = storage_pool_event::kIdLifecycle;
    int event = 0;  ///< lifecycle only
    int detail = 0;
};
/// Must not block and must not call back into the driver: it runs with the driver's lock held.
using StoragePoolEventSink = std::function<void(const StoragePoolEvent&)>;

/// virConnectListAllStoragePools flags.
namespace storage_pool_list_flags {
inline constexpr unsigned kInactive = 1u << 0;
inline constexpr unsigned kActive = 1u << 1;
inline constexpr unsigned kPersistent = 1u << 2;
inline constexpr unsigned kTransient = 1u << 3;
inline constexpr unsigned kAutostart = 1u << 4;
inline constexpr unsigned kNoAutostart = 1u << 5;
inline constexpr unsigned kDir = 1u << 6;
inline constexpr unsigned kFs = 1u << 7;
/// Every type bit (dir ... iscsi-direct), in libvirt's order from kDir.
inline constexpr unsigned kAllTypes = 0xffc0u | (1u << 16) | (1u << 17) | (1u << 18) | (1u << 19);
}  // namespace storage_pool_list_flags

/// Flags of the calls below that take them (libvirt's values).
namespace storage_flags {
inline constexpr unsigned kPoolCreateWithBuild = 1u << 0;
inline constexpr unsigned kPoolCreateWithBuildOverwrite = 1u << 1;
inline constexpr unsigned kPoolCreateWithBuildNoOverwrite = 1u << 2;
inline constexpr unsigned kPoolBuildRepair = 1u << 0;
inline constexpr unsigned kPoolBuildResize = 1u << 1;
inline constexpr unsigned kPoolBuildNoOverwrite = 1u << 2;
inline constexpr unsigned kPoolBuildOverwrite = 1u << 3;
inline constexpr unsigned kPoolXmlInactive = 1u << 0;
inline constexpr unsigned kVolCreatePreallocMetadata = 1u << 0;
inline constexpr unsigned kVolCreateReflink = 1u << 1;
inline constexpr unsigned kVolCreateValidate = 1u << 2;
inline constexpr unsigned kVolResizeAllocate = 1u << 0;
inline constexpr unsigned kVolResizeDelta = 1u << 1;
inline constexpr unsigned kVolResizeShrink = 1u << 2;
inline constexpr unsigned kVolGetPhysical = 1u << 0;
inline constexpr unsigned kVolUploadSparse = 1u << 0;    ///< VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM
inline constexpr unsigned kVolDownloadSparse = 1u << 0;  ///< VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM
}  // namespace storage_flags

/// A volume being uploaded (virStorageVolUpload). The bytes go to a file apart from the volume;
/// finish() puts them in place at once, so the volume holds either its old content or the whole
/// upload, never a part of it. Dropping the object without finish() abandons the upload.
class VolumeUpload {
public:
    virtual ~VolumeUpload() = default;
    /// The next bytes of the upload.
    virtual Result<void> write(std::span<const std::uint8_t> data) = 0;
    /// `length` bytes of zeros that need no storage (a sparse stream's hole).
    virtual Result<void> skip(std::uint64_t length) = 0;
    /// The upload is complete: the volume gets the new content, its sizes are read again.
    virtual Result<void> finish() = 0;
};

/// What VolumeDownload::read() found at the current position: `data` bytes were read into the
/// buffer, or a hole of `hole` bytes starts here (sparse downloads only); both 0 at the end.
struct VolumeChunk {
    std::size_t data = 0;
    std::uint64_t hole = 0;
};

/// A volume being downloaded (virStorageVolDownload): its file's bytes as they are.
class VolumeDownload {
public:
    virtual ~VolumeDownload() = default;
    virtual Result<VolumeChunk> read(std::span<std::uint8_t> buffer) = 0;
};

/// Every method is thread-safe. Errors: NoStoragePool / NoStorageVol for a handle that names
/// nothing, OperationInvalid for a call the object's state forbids (starting an active pool,
/// creating a volume in an inactive one), InvalidArg for unknown flags, XmlError and
/// ConfigUnsupported from the definitions' parsers, OperationFailed or SystemError from the host.
class StorageFacet {
public:
    virtual ~StorageFacet() = default;

    // Pools
    virtual Result<StoragePoolRef> lookupPoolByName(const std::string& name) = 0;
    virtual Result<StoragePoolRef> lookupPoolByUuid(const Uuid& uuid) = 0;
    /// The pool whose target path is `path`.
    virtual Result<StoragePoolRef> lookupPoolByTargetPath(const std::string& path) = 0;
    virtual Result<std::vector<StoragePoolRef>> listAllPools(unsigned flags) = 0;
    /// virConnectGetStoragePoolCapabilities.
    virtual Result<std::string> poolCapabilities() = 0;
    virtual Result<StoragePoolRef> definePool(const std::string& xml, unsigned flags) = 0;
    /// A transient pool, started at once (flags: kPoolCreateWithBuild*).
    virtual Result<StoragePoolRef> createPoolXml(const std::string& xml, unsigned flags) = 0;
    /// Makes the pool's target (a dir pool: the directory with its permissions).
    virtual Result<void> buildPool(const StoragePoolRef& pool, unsigned flags) = 0;
    virtual Result<void> undefinePool(const StoragePoolRef& pool) = 0;
    virtual Result<void> startPool(const StoragePoolRef& pool, unsigned flags) = 0;
    virtual Result<void> destroyPool(const StoragePoolRef& pool) = 0;
    /// Removes the pool's target (an empty directory); the pool must be inactive.
    virtual Result<void> deletePool(const StoragePoolRef& pool, unsigned flags) = 0;
    /// Rescans the target for volumes.
    virtual Result<void> refreshPool(const StoragePoolRef& pool, unsigned flags) = 0;
    virtual Result<std::string> poolXml(const StoragePoolRef& pool, unsigned flags) = 0;
    virtual Result<StoragePoolInfo> poolInfo(const StoragePoolRef& pool) = 0;
    virtual Result<bool> poolAutostart(const StoragePoolRef& pool) = 0;
    virtual Result<void> setPoolAutostart(const StoragePoolRef& pool, bool on) = 0;
    virtual Result<bool> poolIsActive(const StoragePoolRef& pool) = 0;
    virtual Result<bool> poolIsPersistent(const StoragePoolRef& pool) = 0;
    /// The volumes of an active pool, by name.
    virtual Result<std::vector<StorageVolRef>> listAllVolumes(const StoragePoolRef& pool) = 0;

    // Volumes
    virtual Result<StorageVolRef> lookupVolByName(const StoragePoolRef& pool, const std::string& name) = 0;
    virtual Result<StorageVolRef> lookupVolByKey(const std::string& key) = 0;
    virtual Result<StorageVolRef> lookupVolByPath(const std::string& path) = 0;
    virtual Result<StoragePoolRef> poolOfVolume(const StorageVolRef& vol) = 0;
    virtual Result<StorageVolRef> createVol(const StoragePoolRef& pool, const std::string& xml, unsigned flags) = 0;
    /// A new volume from the definition `xml`, its content copied from `source` (any pool).
    virtual Result<StorageVolRef> createVolFrom(const StoragePoolRef& pool, const std::string& xml,
                                                const StorageVolRef& source, unsigned flags) = 0;
    virtual Result<void> deleteVol(const StorageVolRef& vol, unsigned flags) = 0;
    /// `algorithm`: virStorageVolWipeAlgorithm (0 zero).
    virtual Result<void> wipeVol(const StorageVolRef& vol, unsigned algorithm, unsigned flags) = 0;
    virtual Result<std::string> volXml(const StorageVolRef& vol, unsigned flags) = 0;
    virtual Result<StorageVolInfo> volInfo(const StorageVolRef& vol, unsigned flags) = 0;
    virtual Result<std::string> volPath(const StorageVolRef& vol) = 0;
    virtual Result<void> resizeVol(const StorageVolRef& vol, std::uint64_t capacity, unsigned flags) = 0;
    /// For guests' <disk type='volume'>: the file of volume `volume` of the active pool `pool`,
    /// resolved when the guest starts. NoStoragePool, NoStorageVol, OperationInvalid when the
    /// pool is not active.
    virtual Result<std::string> volumePathFor(const std::string& pool, const std::string& volume) {
        (void)volume;
        return fail(ErrorCode::NoSupport, "storage pool '" + pool + "' cannot hold guest disks here",
                    ErrorDomain::Storage);
    }
    /// Adds a subscriber to this driver's pool events; returns its id (never 0), or 0 when the
    /// driver raises none. Thread-safe.
    virtual int addPoolEventSink(StoragePoolEventSink sink) {
        (void)sink;
        return 0;
    }
    virtual void removePoolEventSink(int id) { (void)id; }
    /// Starts replacing the bytes of `vol` from `offset` (`length` 0: as many as come; else at
    /// most that many); flags: kVolUploadSparse. One upload of a volume at a time.
    virtual Result<std::unique_ptr<VolumeUpload>> openVolUpload(const StorageVolRef& vol, std::uint64_t offset,
                                                                std::uint64_t length, unsigned flags) {
        (void)vol, (void)offset, (void)length, (void)flags;
        return fail(ErrorCode::NoSupport, "storage pool doesn't support volume upload", ErrorDomain::Storage);
    }
    /// Reads `vol` from `offset` (`length` 0: to its end); flags: kVolDownloadSparse.
    virtual Result<std::unique_ptr<VolumeDownload>> openVolDownload(const StorageVolRef& vol, std::uint64_t offset,
                                                                    std::uint64_t length, unsigned flags) {
        (void)vol, (void)offset, (void)length, (void)flags;
        return fail(ErrorCode::NoSupport, "storage pool doesn't support volume download", ErrorDomain::Storage);
    }
};

}  // namespace corral::drivers
