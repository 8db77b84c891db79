// SPDX-License-Identifier: LGPL-2.1-or-later
// SecretDef: a libvirt <secret> definition (its UUID, flags, description and what it is used
// for). The value never lives here: definitions are formatted for dumpxml and stored on disk,
// and a value must reach neither.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "util/result.hpp"
#include "util/uuid.hpp"

namespace corral::conf {

/// virSecretUsageType: the numbers travel on the wire (remote_nonnull_secret.usageType).
enum class SecretUsage : int {
    None = 0,
    Volume = 1,
    Ceph = 2,
    Iscsi = 3,
    Tls = 4,
    Vtpm = 5,
};

struct SecretDef {
    Uuid uuid;
    bool uuidGiven = false;
    bool ephemeral = false;  ///< value kept in memory only, never written to disk
    bool isPrivate = false;  ///< value never leaves the daemon (get-value refused)
    std::string description;
    SecretUsage usage = SecretUsage::None;
    /// The usage's key: the volume path, the ceph/tls/vtpm name or the iSCSI target; "" for
    /// usage None. Two secrets may not share a (usage, id) pair.
    std::string usageId;
};

/// "volume", "ceph", ... ; "none" for None.
std::string_view secretUsageName(SecretUsage usage);

/// Parses a <secret> document. Errors: XmlDetail for malformed XML, XmlError naming the element
/// or attribute for bad values, ConfigUnsupported for any part not understood (nothing is
/// accepted and ignored).
Result<std::unique_ptr<SecretDef>> parseSecretXml(std::string_view xml);

/// libvirt's layout of the definition (never the value).
std::string formatSecretXml(const SecretDef& def);

}  // namespace corral::conf
