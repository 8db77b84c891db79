// SPDX-License-Identifier: LGPL-2.1-or-later
// The files behind a directory pool's volumes: what a file is (format, sizes, backing store,
// read from its header without running anything), and making, resizing, wiping and copying
// them (raw by the kernel's calls, qcow2 by qemu-img). Every path handed in is a pool
// directory plus a name the caller checked (conf::checkVolumeName).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>

#include "conf/storage_def.hpp"
#include "util/result.hpp"

namespace corral::drivers::storage {

/// What a file in a pool's directory holds, as libvirt's refresh reports it.
struct VolumeFacts {
    std::string format;  ///< "raw" or "qcow2"
    std::uint64_t capacity = 0;   ///< guest-visible size
    std::uint64_t allocated = 0;  ///< bytes on disk (st_blocks * 512)
    std::uint64_t physical = 0;   ///< file size
    std::string backingPath;      ///< qcow2's backing file ("" none)
    std::string backingFormat;
    std::string compat;           ///< qcow2: "0.10" (v2) or "1.1" (v3)
    bool lazyRefcounts = false;
    std::string encryption;       ///< "luks": a raw LUKS file, or qcow2 encrypted with LUKS
    unsigned mode = 0;
    uid_t uid = 0;
    gid_t gid = 0;
};

/// Reads the facts of the regular file `name` in `dir` without following a symbolic link.
/// `knownFormat` ("" = read it from the header) is the format corrald created it with: a guest
/// that writes a qcow2 header into a raw volume must not make it a qcow2 with a backing file.
/// Errors: SystemError naming the file; OperationInvalid for a symbolic link or a non-file.
Result<VolumeFacts> probeVolume(const std::string& dir, const std::string& name, const std::string& knownFormat);

/// Creates the new file `name` in `dir` (O_EXCL, no symbolic link followed) with `def`'s
/// permissions, then its content: raw by ftruncate (and fallocate of `def.allocation`), qcow2
/// by qemu-img (compat, lazy_refcounts, backing store, preallocation=metadata with
/// `preallocMetadata`). A failure removes the file. Errors: StorageVolExist when a file of
/// that name exists; OperationFailed with qemu-img's words.
Result<void> createVolumeFile(const std::string& dir, const conf::StorageVolDef& def, bool preallocMetadata);

/// As createVolumeFile for a volume with <encryption format='luks'>: a raw LUKS image (format
/// raw) or a qcow2 image encrypted with LUKS, keyed with `passphrase` (host::createLuksImage:
/// the value reaches qemu-img on a pipe, never on its command line or in a file).
Result<void> createEncryptedVolumeFile(const std::string& dir, const conf::StorageVolDef& def,
                                       std::span<const std::uint8_t> passphrase);

/// As createVolumeFile, the content copied from `sourcePath` (format `sourceFormat`) by
/// qemu-img convert; a larger capacity in `def` then grows the copy.
Result<void> copyVolumeFile(const std::string& dir, const conf::StorageVolDef& def, const std::string& sourcePath,
                            const std::string& sourceFormat, bool preallocMetadata);

/// Sets a volume's guest-visible size: raw by ftruncate (fallocate with `allocate`), qcow2 by
/// qemu-img resize (--shrink when smaller).
Result<void> resizeVolumeFile(const std::string& path, const std::string& format, std::uint64_t capacity,
                              bool allocate);

/// Zeroes a volume's content: a raw file is overwritten with zeros (its holes kept as holes), a
/// qcow2 file is made again empty at the same size and backing store.
Result<void> wipeVolumeFile(const std::string& dir, const std::string& name, const VolumeFacts& facts);

/// Applies permissions to an existing volume or pool directory: unset fields are left alone.
Result<void> applyPermissions(const std::string& path, const conf::StoragePerms& perms);

}  // namespace corral::drivers::storage
