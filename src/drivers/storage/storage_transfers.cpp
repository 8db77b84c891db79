// SPDX-License-Identifier: LGPL-2.1-or-later
// StorageManager: vol-upload and vol-download. An upload marks its volume busy for as long as
// it runs (a second upload, a delete, a wipe, a resize, a pool stop are refused meanwhile, as
// libvirt's in_use count does); the new content replaces the old one whole at the end
// (volume_transfer.hpp). A download reads the file as it is and marks nothing: a volume
// replaced meanwhile is read to the end as it was when the download began.
#include "drivers/storage/storage_manager.hpp"
#include "util/strings.hpp"

namespace corral::drivers::storage {

namespace {

Unexpected badFlags(unsigned flags, std::string_view api) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%x", flags);
    return fail(ErrorCode::InvalidArg, "unsupported flags (" + std::string(hex) + ") in function " + std::string(api),
                ErrorDomain::Storage);
}

}  // namespace

/// An upload of one volume: the file it writes, and the volume's busy mark, released when the
/// upload is dropped, finished or not.
class ManagedUpload final : public VolumeUpload {
public:
    ManagedUpload(StorageManager& manager, std::shared_ptr<StorageManager::Pool> pool,
                  std::shared_ptr<StorageManager::Vol> vol, UploadFile file)
        : manager_(manager), pool_(std::move(pool)), vol_(std::move(vol)), file_(std::move(file)) {
        // Made under the manager's lock (openVolUpload).
        vol_->busy = true;
        ++pool_->busyVolumes;
        ++manager_.openUploads_;
    }
    ~ManagedUpload() override {
        std::lock_guard lock(manager_.mutex_);
        vol_->busy = false;
        --pool_->busyVolumes;
        if (--manager_.openUploads_ == 0) {
            manager_.uploadsGone_.notify_all();
        }
    }
    ManagedUpload(const ManagedUpload&) = delete;
    ManagedUpload& operator=(const ManagedUpload&) = delete;

    Result<void> write(std::span<const std::uint8_t> data) override { return file_.write(data); }
    Result<void> skip(std::uint64_t length) override { return file_.skip(length); }

    Result<void> finish() override {
        const std::string& dir = pool_->def->targetPath;
        CORRAL_ASSIGN_OR_RETURN(std::string sealed, file_.seal());
        // What the volume is about to become, read before it does: a qcow2 header naming a
        // backing file outside every pool would let a guest read that file through its disk
        // (the rule vol-create keeps), so such an upload leaves the volume as it was.
        CORRAL_ASSIGN_OR_RETURN(VolumeFacts facts, probeVolume(dir, sealed, vol_->format));
        if (!facts.backingPath.empty()) {
            std::lock_guard lock(manager_.mutex_);
            if (!manager_.isPoolVolumeLocked(facts.backingPath)) {
                return fail(ErrorCode::OperationInvalid,
                            "the upload to volume '" + vol_->name + "' names backing store '" + facts.backingPath +
                                "', which is not a volume of an active storage pool",
                            ErrorDomain::Storage);
            }
        }
        CORRAL_TRY(file_.install());
        auto fresh = probeVolume(dir, vol_->name, vol_->format);
        std::lock_guard lock(manager_.mutex_);
        if (fresh) {
            vol_->facts = std::move(*fresh);
        }
        manager_.updateSizesLocked(*pool_);
        return {};
    }

private:
    StorageManager& manager_;
    std::shared_ptr<StorageManager::Pool> pool_;
    std::shared_ptr<StorageManager::Vol> vol_;
    UploadFile file_;
};

StorageManager::~StorageManager() {
    std::unique_lock lock(mutex_);
    uploadsGone_.wait(lock, [this] { return openUploads_ == 0; });
}

bool StorageManager::isPoolVolumeLocked(const std::string& path) const {
    for (const auto& [name, pool] : pools_) {
        const std::string prefix = pool->def->targetPath + "/";
        if (pool->active && startsWith(path, prefix) && pool->vols.count(path.substr(prefix.size())) != 0) {
            return true;
        }
    }
    return false;
}

Result<std::unique_ptr<VolumeUpload>> StorageManager::openVolUpload(const StorageVolRef& ref, std::uint64_t offset,
                                                                    std::uint64_t length, unsigned flags) {
    if ((flags & ~storage_flags::kVolUploadSparse) != 0) {
        return badFlags(flags, "virStorageVolUpload");
    }
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto h, findVolLocked(ref));
    // A running guest keeps the file it opened: replacing it under the guest would split what
    // the guest sees from what the pool lists.
    CORRAL_TRY(refuseWhileUsed(*h.pool, *h.vol, "upload to"));
    CORRAL_ASSIGN_OR_RETURN(UploadFile file, UploadFile::open(h.pool->def->targetPath, h.vol->name, offset, length));
    return std::unique_ptr<VolumeUpload>(std::make_unique<ManagedUpload>(*this, h.pool, h.vol, std::move(file)));
}

Result<std::unique_ptr<VolumeDownload>> StorageManager::openVolDownload(const StorageVolRef& ref, std::uint64_t offset,
                                                                        std::uint64_t length, unsigned flags) {
    if ((flags & ~storage_flags::kVolDownloadSparse) != 0) {
        return badFlags(flags, "virStorageVolDownload");
    }
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto h, findVolLocked(ref));
    if (h.vol->busy) {
        return fail(ErrorCode::OperationInvalid, "volume '" + h.vol->name + "' is still being allocated.",
                    ErrorDomain::Storage);
    }
    CORRAL_ASSIGN_OR_RETURN(DownloadFile file,
                            DownloadFile::open(h.pool->def->targetPath, h.vol->name, offset, length,
                                               (flags & storage_flags::kVolDownloadSparse) != 0));
    return std::unique_ptr<VolumeDownload>(std::make_unique<DownloadFile>(std::move(file)));
}

}  // namespace corral::drivers::storage
