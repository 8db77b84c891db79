// SPDX-License-Identifier: LGPL-2.1-or-later
// Storage pool and volume definitions: libvirt's <pool> and <volume> XML, the part a directory
// pool of raw and qcow2 files acts on. Pure: parsing, checking and formatting, no I/O. What a
// definition asks for that the storage driver would not do is refused by name.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"
#include "util/uuid.hpp"

namespace corral::conf {

/// <permissions>: unset fields take the driver's defaults (libvirt: 0711 for a pool directory,
/// 0600 for a volume, the daemon's own uid and gid).
struct StoragePerms {
    std::optional<unsigned> mode;
    std::optional<std::uint32_t> uid;
    std::optional<std::uint32_t> gid;
};

struct StoragePoolDef {
    std::string type;  ///< <pool type>: every libvirt type parses; the driver says which it runs
    std::string name;
    Uuid uuid;
    bool uuidGiven = false;
    std::string targetPath;    ///< <target><path>: absolute, normalised (no '.', '..', '//')
    StoragePerms perms;        ///< <target><permissions>
    std::string sourceDevice;  ///< <source><device path>: what an fs pool mounts
    std::string sourceFormat;  ///< <source><format type>: an fs pool's file system ("auto")
    // Runtime facts, formatted but never read from input (libvirt recomputes them too).
    std::uint64_t capacity = 0;
    std::uint64_t allocation = 0;
    std::uint64_t available = 0;
};

struct StorageVolDef {
    std::string name;
    std::uint64_t capacity = 0;
    bool capacityGiven = false;
    /// <allocation> asked for: bytes to preallocate (raw files); nullopt = sparse.
    std::optional<std::uint64_t> allocation;
    std::string format;  ///< <target><format type>: "raw" or "qcow2"; "" = raw
    StoragePerms perms;  ///< <target><permissions>
    std::string backingPath;    ///< <backingStore><path>
    std::string backingFormat;  ///< <backingStore><format type>
    bool lazyRefcounts = false;  ///< <target><features><lazy_refcounts/> (qcow2)
    std::string compat;          ///< <target><compat> (qcow2: "0.10" or "1.1")
    /// <target><encryption format='luks'>: "" = none. The passphrase is a volume secret named
    /// by <secret type='passphrase' uuid= or usage=> (one of the two).
    std::string encryptionFormat;
    std::string encryptionSecretUuid;
    std::string encryptionSecretUsage;
    // Facts the driver fills in for formatting; present in input they are output of an earlier
    // dumpxml (virsh vol-clone sends one back) and recomputed, as libvirt does.
    std::string key;
    std::string path;
    std::uint64_t physical = 0;
    std::uint64_t allocated = 0;  ///< bytes the file holds on disk
};

/// Parses a <pool>. Errors: XmlDetail for malformed XML, XmlError naming the element for a bad
/// value (a relative or non-normal target path, a bad mode), ConfigUnsupported for elements the
/// storage driver does not act on.
Result<std::unique_ptr<StoragePoolDef>> parseStoragePoolXml(std::string_view xml);

/// `withSizes`: the live layout with capacity, allocation and available.
std::string formatStoragePoolXml(const StoragePoolDef& def, bool withSizes);

/// Parses a <volume> for a pool of type `poolType`. A name with '/' or that is "." or ".." is
/// refused (XmlError): a volume is one file in the pool's directory.
Result<std::unique_ptr<StorageVolDef>> parseStorageVolXml(std::string_view xml);

std::string formatStorageVolXml(const StorageVolDef& def);

/// A volume's file name: non-empty, no '/', not "." or "..", no control character, at most 255
/// bytes. XmlError naming the name.
Result<void> checkVolumeName(std::string_view name);

/// Whether `path` is absolute and normal: starts with '/', no empty, "." or ".." component,
/// no trailing '/' (except "/" itself).
bool isNormalAbsolutePath(std::string_view path);

/// <storagepoolCapabilities> listing `supported` pool types as supported, the others not.
std::string formatStoragePoolCapabilities(const std::vector<std::string>& supported);

/// Every pool type libvirt 9.0 knows, in its order.
const std::vector<std::string>& knownStoragePoolTypes();

/// "1G", capacity units: libvirt's scaled integer ("bytes", "KiB", "K", "KB", "MiB", "M", ...).
/// Errors: XmlError naming `what`.
Result<std::uint64_t> parseScaledBytes(std::string_view value, std::string_view unit, std::string_view what);

}  // namespace corral::conf
