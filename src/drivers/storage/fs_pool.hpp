// SPDX-License-Identifier: LGPL-2.1-or-later
// `fs` storage pools: a block device or an image file holding a file system, mounted on the
// pool's target directory while the pool is active; its volumes are files there, as in a `dir`
// pool. The mount outlives the daemon: a restarted corrald finds it in the mount table.
#pragma once

#include <string>
#include <vector>

#include "conf/storage_def.hpp"
#include "util/result.hpp"

namespace corral::drivers::storage {

/// The file system types an fs pool may name in <source><format>, and the ones "auto" accepts
/// from a probe (kernel file system code reached from a mount is attack surface: only the
/// common, well-kept ones).
const std::vector<std::string>& fsPoolFormats();

/// Definition checks that need no I/O: the device path is absolute and normal, with no ','
/// (a mount option separator) and the format is one of fsPoolFormats() ("" becomes "auto").
Result<void> checkFsPoolDefinition(conf::StoragePoolDef& def);

/// Whether `inner` is `outer` or lies below it (both normal absolute paths).
bool pathWithin(const std::string& inner, const std::string& outer);

/// Refuses `def` beside pool `otherName` when either is an fs pool and their targets nest (a
/// mount would hide the other pool, or be hidden), when both name one source device (it would
/// be mounted twice), or when `def`'s image file lies inside the other pool (a volume there is
/// writable through the pool's API, and the kernel would mount what it holds).
Result<void> checkFsPoolConflicts(const conf::StoragePoolDef& def, const std::string& otherName,
                                  const conf::StoragePoolDef& other);

/// Whether the pool's own source (its device, or a loop device bound to its image file) is
/// mounted on its target.
Result<bool> fsPoolIsMounted(const conf::StoragePoolDef& def);

/// mkfs for pool-build with VIR_STORAGE_POOL_BUILD_OVERWRITE (`overwrite`) or _NO_OVERWRITE
/// (which refuses a device that holds a file system already), libvirt's rules.
Result<void> makeFsPoolFileSystem(const conf::StoragePoolDef& def, bool overwrite);

/// Mounts the pool's source on its target (nosuid, nodev); a no-op when fsPoolIsMounted.
/// Refuses a source that is neither a block device nor a regular file, or is mounted anywhere
/// already, and a target that is a mount point already or is reached through a symbolic link.
Result<void> mountFsPool(const conf::StoragePoolDef& def);

/// Unmounts the pool's target when its own source is mounted there (the loop device of an
/// image file goes with it). A file still open in it (a running guest's disk) makes this fail.
Result<void> unmountFsPool(const conf::StoragePoolDef& def);

}  // namespace corral::drivers::storage
