// SPDX-License-Identifier: LGPL-2.1-or-later
// `fs` storage pools: checks, mkfs, mount and unmount of the pool's source.
#include "drivers/storage/fs_pool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <optional>

#include "drivers/storage/storage_errors.hpp"
#include "host/block_mount.hpp"
#include "util/unique_fd.hpp"

namespace corral::drivers::storage {

namespace {

Unexpected invalid(const std::string& message) { return storageInvalid(message); }

/// What the pool's source is: a block device (its number) or an image file (device, inode).
struct SourceIdentity {
    bool blockDevice = false;
    dev_t rdev = 0;
    dev_t fileDevice = 0;
    ino_t fileInode = 0;
};

Result<SourceIdentity> identify(const std::string& device) {
    struct stat st {};
    if (::stat(device.c_str(), &st) != 0) {
        return storageErrno(errno, "cannot access storage pool source '" + device + "'");
    }
    SourceIdentity id;
    if (S_ISBLK(st.st_mode)) {
        id.blockDevice = true;
        id.rdev = st.st_rdev;
    } else if (S_ISREG(st.st_mode)) {
        id.fileDevice = st.st_dev;
        id.fileInode = st.st_ino;
    } else {
        return invalid("storage pool source '" + device + "' is neither a block device nor a regular file");
    }
    return id;
}

/// Whether the file system mounted from `mounted` (a mount entry's device) is the pool's source.
bool isSource(const SourceIdentity& id, dev_t mounted) {
    if (id.blockDevice) {
        return mounted == id.rdev;
    }
    auto backing = host::loopBackingOf(mounted);
    return backing && backing->device == id.fileDevice && backing->inode == id.fileInode;
}

/// The first mount of the source anywhere; nullopt when it is mounted nowhere.
Result<std::optional<host::MountEntry>> findSourceMount(const SourceIdentity& id, const std::string& at) {
    CORRAL_ASSIGN_OR_RETURN(auto table, host::readMountTable());
    std::optional<host::MountEntry> elsewhere;
    for (auto& entry : table) {
        if (!isSource(id, entry.device)) {
            continue;
        }
        if (entry.mountPoint == at) {
            return std::optional<host::MountEntry>(std::move(entry));
        }
        if (!elsewhere) {
            elsewhere = std::move(entry);
        }
    }
    return elsewhere;
}

}  // namespace

const std::vector<std::string>& fsPoolFormats() {
    static const std::vector<std::string> formats = {"ext2", "ext3", "ext4", "xfs"};
    return formats;
}

bool pathWithin(const std::string& inner, const std::string& outer) {
    if (outer == "/") {
        return true;
    }
    return inner == outer || (inner.size() > outer.size() && inner.compare(0, outer.size(), outer) == 0 &&
                              inner[outer.size()] == '/');
}

Result<void> checkFsPoolDefinition(conf::StoragePoolDef& def) {
    const std::string& dev = def.sourceDevice;
    if (!conf::isNormalAbsolutePath(dev)) {
        return fail(ErrorCode::XmlError,
                    "storage pool source device '" + dev + "' must be absolute, without '.', '..' or repeated '/'",
                    ErrorDomain::Storage);
    }
    // mount(8) and loop set-up tools read ',' as an option separator; no device path needs one.
    if (dev.find(',') != std::string::npos) {
        return fail(ErrorCode::XmlError, "storage pool source device '" + dev + "' must not contain ','",
                    ErrorDomain::Storage);
    }
    if (def.sourceFormat.empty()) {
        def.sourceFormat = "auto";
    }
    bool known = def.sourceFormat == "auto";
    for (const auto& f : fsPoolFormats()) {
        known = known || f == def.sourceFormat;
    }
    if (!known) {
        return fail(ErrorCode::ConfigUnsupported,
                    "file system format '" + def.sourceFormat + "' is not supported for an fs pool (auto, ext2, ext3, ext4, xfs)",
                    ErrorDomain::Storage);
    }
    if (pathWithin(dev, def.targetPath)) {
        return invalid("storage pool source '" + dev + "' lies inside its own target '" + def.targetPath + "'");
    }
    return {};
}

Result<void> checkFsPoolConflicts(const conf::StoragePoolDef& def, const std::string& otherName,
                                  const conf::StoragePoolDef& other) {
    if (def.type != "fs" && other.type != "fs") {
        return {};
    }
    if (pathWithin(def.targetPath, other.targetPath) || pathWithin(other.targetPath, def.targetPath)) {
        return invalid("storage pool target '" + def.targetPath + "' and the target '" + other.targetPath +
                       "' of pool '" + otherName + "' lie one inside the other");
    }
    if (def.type != "fs") {
        return {};
    }
    if (pathWithin(def.sourceDevice, other.targetPath)) {
        return invalid("storage pool source '" + def.sourceDevice + "' lies inside pool '" + otherName + "'");
    }
    if (other.type == "fs" && other.sourceDevice == def.sourceDevice) {
        return fail(ErrorCode::OperationFailed, "Storage source conflict with pool: '" + otherName + "'",
                    ErrorDomain::Storage);
    }
    return {};
}

Result<bool> fsPoolIsMounted(const conf::StoragePoolDef& def) {
    auto id = identify(def.sourceDevice);
    if (!id) {
        return false;  // a source that is gone is mounted nowhere
    }
    CORRAL_ASSIGN_OR_RETURN(auto found, findSourceMount(*id, def.targetPath));
    return found && found->mountPoint == def.targetPath;
}

Result<void> makeFsPoolFileSystem(const conf::StoragePoolDef& def, bool overwrite) {
    const std::string& dev = def.sourceDevice;
    struct stat st {};
    if (::stat(dev.c_str(), &st) != 0) {
        return invalid("Source device does not exist when formatting pool '" + def.name + "'");
    }
    CORRAL_ASSIGN_OR_RETURN(auto id, identify(dev));
    if (def.sourceFormat == "auto") {
        return invalid("cannot make a file system for pool '" + def.name + "': its <source><format> is 'auto'");
    }
    // Never under a mounted file system, even with overwrite: its users would see it corrupt.
    CORRAL_ASSIGN_OR_RETURN(auto mounted, findSourceMount(id, def.targetPath));
    if (mounted) {
        return invalid("device '" + dev + "' is mounted at '" + mounted->mountPoint + "'");
    }
    if (id.blockDevice) {
        // An exclusive open fails while the kernel holds the device or any partition of it
        // (mounted, swap, a device-mapper table): the mount table alone would miss
        // /dev/sdb1 mounted under a pool on /dev/sdb.
        UniqueFd held(::open(dev.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC));
        if (!held) {
            return errno == EBUSY ? invalid("device '" + dev + "' is in use (mounted, or a partition of it is)")
                                  : storageErrno(errno, "cannot open device '" + dev + "'");
        }
    }
    if (!overwrite) {
        CORRAL_ASSIGN_OR_RETURN(std::string found, host::probeFileSystem(dev));
        if (found == def.sourceFormat) {
            return fail(ErrorCode::OperationInvalid, "Device '" + dev + "' already formatted using '" + found + "'",
                        ErrorDomain::Storage);
        }
        if (!found.empty()) {
            return fail(ErrorCode::OperationFailed,
                        "Format of device '" + dev + "' does not match the expected format '" + def.sourceFormat +
                            "', forced overwrite is necessary",
                        ErrorDomain::Storage);
        }
    }
    return host::makeFileSystem(dev, def.sourceFormat);
}

Result<void> mountFsPool(const conf::StoragePoolDef& def) {
    const std::string& target = def.targetPath;
    CORRAL_ASSIGN_OR_RETURN(auto id, identify(def.sourceDevice));
    CORRAL_ASSIGN_OR_RETURN(auto mounted, findSourceMount(id, target));
    if (mounted && mounted->mountPoint == target) {
        return {};  // ours already (a daemon restart, or mounted by hand): never mounted twice
    }
    if (mounted) {
        return invalid("storage pool source '" + def.sourceDevice + "' is already mounted at '" +
                       mounted->mountPoint + "'");
    }
    // The target: a directory reached through no symbolic link, and no mount point already
    // (a mount over another would hide it, and unmounting later would expose the wrong one).
    char resolved[PATH_MAX];
    if (::realpath(target.c_str(), resolved) == nullptr) {
        return storageErrno(errno, "cannot open storage pool target '" + target + "'");
    }
    if (target != resolved) {
        return invalid("storage pool target '" + target + "' is reached through a symbolic link ('" +
                       std::string(resolved) + "')");
    }
    UniqueFd dir(::open(target.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) {
        return storageErrno(errno, "cannot open storage pool target '" + target + "'");
    }
    CORRAL_ASSIGN_OR_RETURN(auto table, host::readMountTable());
    for (const auto& entry : table) {
        if (entry.mountPoint == target) {
            return invalid("storage pool target '" + target + "' is already a mount point (of '" + entry.source + "')");
        }
    }
    // What the device holds decides, and the kernel is only asked to mount the type the pool
    // names (or, for "auto", one of fsPoolFormats()).
    CORRAL_ASSIGN_OR_RETURN(std::string fsType, host::probeFileSystem(def.sourceDevice));
    if (fsType.empty()) {
        return invalid("storage pool source '" + def.sourceDevice + "' holds no file system");
    }
    bool allowed = false;
    for (const auto& f : fsPoolFormats()) {
        allowed = allowed || f == fsType;
    }
    if (def.sourceFormat != "auto" && fsType != def.sourceFormat) {
        return invalid("storage pool source '" + def.sourceDevice + "' holds a '" + fsType +
                       "' file system, not the '" + def.sourceFormat + "' its pool names");
    }
    if (!allowed) {
        return fail(ErrorCode::ConfigUnsupported,
                    "storage pool source '" + def.sourceDevice + "' holds a '" + fsType +
                        "' file system, which an fs pool does not mount (ext2, ext3, ext4, xfs)",
                    ErrorDomain::Storage);
    }
    if (id.blockDevice) {
        return host::mountBlockFileSystem(def.sourceDevice, fsType, dir.get(), target);
    }
    // An image file: a loop device with autoclear carries it; the mount holds the loop device,
    // and the kernel releases it at unmount (or here, when the mount fails and the fd closes).
    CORRAL_ASSIGN_OR_RETURN(auto loop, host::attachLoopDevice(def.sourceDevice));
    return host::mountBlockFileSystem(loop.path, fsType, dir.get(), target);
}

Result<void> unmountFsPool(const conf::StoragePoolDef& def) {
    CORRAL_ASSIGN_OR_RETURN(bool mounted, fsPoolIsMounted(def));
    if (!mounted) {
        return {};
    }
    return host::unmountFileSystem(def.targetPath);
}

}  // namespace corral::drivers::storage
