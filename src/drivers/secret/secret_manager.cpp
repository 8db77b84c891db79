// SPDX-License-Identifier: LGPL-2.1-or-later
// The secret driver: definitions, values, the key that seals stored values.
#include "drivers/secret/secret_manager.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "drivers/secret/secret_cipher.hpp"
#include "util/files.hpp"
#include "util/logging.hpp"
#include "util/unique_fd.hpp"

namespace corral::drivers::secret {

namespace {

constexpr std::size_t kValueMax = 65536;  // REMOTE_SECRET_VALUE_MAX

Unexpected invalid(const std::string& message) {
    return fail(ErrorCode::OperationInvalid, message, ErrorDomain::Secret);
}

/// libvirt's refusal of flags a call does not know: "unsupported flags (0x4) in function F".
Result<void> checkNoFlags(unsigned flags, std::string_view api) {
    if (flags != 0) {
        char hex[16];
        std::snprintf(hex, sizeof hex, "0x%x", flags);
        return fail(ErrorCode::InvalidArg, "unsupported flags (" + std::string(hex) + ") in function " + std::string(api),
                    ErrorDomain::Secret);
    }
    return {};
}

Result<void> removeFileIfPresent(const std::string& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return failErrno(errno, "cannot remove '" + path + "'");
    }
    return {};
}

}  // namespace

SecretRef SecretManager::refOf(const conf::SecretDef& def) {
    return SecretRef{def.uuid, static_cast<int>(def.usage), def.usageId};
}

std::string SecretManager::pathOf(const Uuid& uuid, std::string_view suffix) const {
    return paths_.dir + "/" + uuid.toString() + std::string(suffix);
}

Result<void> SecretManager::loadKey() {
    // O_EXCL: a key file is created once; a second daemon racing us reads the one that won.
    UniqueFd fd(::open(paths_.keyFile.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd) {
        SecretBytes fresh = randomSecretBytes(kSecretKeySize);
        if (::write(fd.get(), fresh.bytes().data(), fresh.size()) != static_cast<ssize_t>(fresh.size()) ||
            ::fsync(fd.get()) != 0) {
            int err = errno;
            (void)::unlink(paths_.keyFile.c_str());
            return failErrno(err, "cannot write secret encryption key '" + paths_.keyFile + "'");
        }
        key_ = std::move(fresh);
        return {};
    }
    if (errno != EEXIST) {
        return failErrno(errno, "cannot create secret encryption key '" + paths_.keyFile + "'");
    }
    CORRAL_ASSIGN_OR_RETURN(std::string raw, readPrivateFile(paths_.keyFile, "secret encryption key"));
    if (raw.size() != kSecretKeySize) {
        return fail(ErrorCode::ConfSyntax,
                    "secret encryption key '" + paths_.keyFile + "' must hold exactly 32 bytes, not " +
                        std::to_string(raw.size()),
                    ErrorDomain::Secret);
    }
    key_ = SecretBytes(std::span(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()));
    std::fill(raw.begin(), raw.end(), '\0');
    return {};
}

Result<void> SecretManager::load() {
    if (paths_.dir.empty()) {
        return {};
    }
    CORRAL_TRY(makeDirectories(paths_.dir, 0700));
    // An existing directory keeps its mode through makeDirectories: make it owner-only.
    if (::chmod(paths_.dir.c_str(), 0700) != 0) {
        return failErrno(errno, "cannot restrict '" + paths_.dir + "' to its owner");
    }
    CORRAL_TRY(loadKey());
    std::error_code ec;
    std::lock_guard lock(mutex_);
    for (const auto& entry : std::filesystem::directory_iterator(paths_.dir, ec)) {
        const std::string path = entry.path().string();
        if (entry.path().extension() != ".xml") {
            continue;
        }
        CORRAL_ASSIGN_OR_RETURN(std::string xml, readTextFile(path));
        auto def = conf::parseSecretXml(xml);
        if (!def) {
            logWarning("ignoring secret definition '" + path + "': " + def.error().message);
            continue;
        }
        Entry e{**def, std::nullopt};
        if (auto blob = readTextFile(pathOf(e.def.uuid, ".value"))) {
            auto value = openSecretValue(key_.bytes(), e.def.uuid, *blob);
            if (value) {
                e.value = std::move(*value);
            } else {
                logWarning("secret '" + e.def.uuid.toString() + "' loaded without its value: " +
                           value.error().message);
            }
            std::fill(blob->begin(), blob->end(), '\0');
        }
        secrets_.emplace(e.def.uuid, std::move(e));
    }
    if (ec) {
        return failErrno(ec.value(), "cannot list secrets in '" + paths_.dir + "'");
    }
    return {};
}

Result<SecretManager::Entry*> SecretManager::findLocked(const Uuid& uuid) {
    auto it = secrets_.find(uuid);
    if (it == secrets_.end()) {
        return fail(ErrorCode::NoSecret, "no secret with matching uuid '" + uuid.toString() + "'",
                    ErrorDomain::Secret);
    }
    return &it->second;
}

Result<SecretRef> SecretManager::lookupSecretByUuid(const Uuid& uuid) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(Entry * e, findLocked(uuid));
    return refOf(e->def);
}

Result<SecretRef> SecretManager::lookupSecretByUsage(int usageType, const std::string& usageId) {
    std::lock_guard lock(mutex_);
    for (const auto& [uuid, e] : secrets_) {
        if (static_cast<int>(e.def.usage) == usageType && e.def.usageId == usageId) {
            return refOf(e.def);
        }
    }
    return fail(ErrorCode::NoSecret, "no secret with matching usage '" + usageId + "'", ErrorDomain::Secret);
}

Result<std::vector<SecretRef>> SecretManager::listAllSecrets(unsigned flags) {
    using namespace secret_list_flags;
    CORRAL_TRY(checkNoFlags(flags & ~(kEphemeral | kNoEphemeral | kPrivate | kNoPrivate), "virConnectListAllSecrets"));
    auto selects = [](unsigned f, unsigned yes, unsigned no, bool value) {
        // Neither or both bits of a pair: no filter on that property.
        if ((f & (yes | no)) == 0 || (f & (yes | no)) == (yes | no)) {
            return true;
        }
        return (f & yes) != 0 ? value : !value;
    };
    std::lock_guard lock(mutex_);
    std::vector<SecretRef> out;
    for (const auto& [uuid, e] : secrets_) {
        if (selects(flags, kEphemeral, kNoEphemeral, e.def.ephemeral) &&
            selects(flags, kPrivate, kNoPrivate, e.def.isPrivate)) {
            out.push_back(refOf(e.def));
        }
    }
    return out;
}

Result<SecretRef> SecretManager::defineSecret(const std::string& xml, unsigned flags) {
    CORRAL_TRY(checkNoFlags(flags, "virSecretDefineXML"));
    CORRAL_ASSIGN_OR_RETURN(auto def, conf::parseSecretXml(xml));
    if (!def->uuidGiven) {
        def->uuid = Uuid::generate();
    }
    std::lock_guard lock(mutex_);
    if (def->usage != conf::SecretUsage::None) {
        for (const auto& [uuid, e] : secrets_) {
            if (uuid != def->uuid && e.def.usage == def->usage && e.def.usageId == def->usageId) {
                return invalid("a secret with UUID " + uuid.toString() + " already defined for use with " +
                               def->usageId);
            }
        }
    }
    auto it = secrets_.find(def->uuid);
    if (it != secrets_.end()) {
        const conf::SecretDef& old = it->second.def;
        if (old.usage != def->usage || old.usageId != def->usageId) {
            return invalid("a secret with UUID " + old.uuid.toString() + " is already defined for use with " +
                           (old.usageId.empty() ? std::string(conf::secretUsageName(old.usage)) : old.usageId));
        }
        // Either change would expose a value: a private one to get-value, an ephemeral one to
        // the disk.
        if (old.isPrivate && !def->isPrivate) {
            return invalid("cannot change private flag on existing secret '" + old.uuid.toString() + "'");
        }
        if (old.ephemeral != def->ephemeral) {
            return invalid("cannot change ephemeral flag on existing secret '" + old.uuid.toString() + "'");
        }
    }
    if (!paths_.dir.empty() && !def->ephemeral) {
        CORRAL_TRY(writeFileAtomically(pathOf(def->uuid, ".xml"), conf::formatSecretXml(*def), 0600));
    }
    if (it != secrets_.end()) {
        it->second.def = *def;
        return refOf(it->second.def);
    }
    auto [inserted, ok] = secrets_.emplace(def->uuid, Entry{*def, std::nullopt});
    return refOf(inserted->second.def);
}

Result<void> SecretManager::undefineSecret(const SecretRef& secret) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(Entry * e, findLocked(secret.uuid));
    if (!paths_.dir.empty() && !e->def.ephemeral) {
        // The value first: a crash in between leaves a definition without a value, never a
        // value nobody lists.
        CORRAL_TRY(removeFileIfPresent(pathOf(secret.uuid, ".value")));
        CORRAL_TRY(removeFileIfPresent(pathOf(secret.uuid, ".xml")));
    }
    secrets_.erase(secret.uuid);
    return {};
}

Result<std::string> SecretManager::secretXml(const SecretRef& secret, unsigned flags) {
    CORRAL_TRY(checkNoFlags(flags, "virSecretGetXMLDesc"));
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(Entry * e, findLocked(secret.uuid));
    return conf::formatSecretXml(e->def);
}

Result<void> SecretManager::storeValueLocked(const Entry& entry) {
    if (paths_.dir.empty() || entry.def.ephemeral || !entry.value) {
        return {};
    }
    return writeFileAtomically(pathOf(entry.def.uuid, ".value"),
                               sealSecretValue(key_.bytes(), entry.def.uuid, *entry.value), 0600);
}

Result<void> SecretManager::setSecretValue(const SecretRef& secret, std::span<const std::uint8_t> value,
                                           unsigned flags) {
    CORRAL_TRY(checkNoFlags(flags, "virSecretSetValue"));
    if (value.size() > kValueMax) {
        return fail(ErrorCode::InvalidArg, "secret value of " + std::to_string(value.size()) +
                                               " bytes is over the limit of 65536", ErrorDomain::Secret);
    }
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(Entry * e, findLocked(secret.uuid));
    std::optional<SecretBytes> previous = std::move(e->value);
    e->value = SecretBytes(value);
    if (auto stored = storeValueLocked(*e); !stored) {
        e->value = std::move(previous);
        return unexpected(stored.error());
    }
    return {};
}

Result<SecretBytes> SecretManager::secretValue(const SecretRef& secret, unsigned flags) {
    CORRAL_TRY(checkNoFlags(flags, "virSecretGetValue"));
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(Entry * e, findLocked(secret.uuid));
    if (e->def.isPrivate) {
        // libvirt's code and text, which clients match on.
        return fail(ErrorCode::InvalidSecret, "secret is private", ErrorDomain::Secret);
    }
    if (!e->value) {
        return fail(ErrorCode::NoSecret, "secret '" + secret.uuid.toString() + "' does not have a value",
                    ErrorDomain::Secret);
    }
    return *e->value;
}

Result<SecretBytes> SecretManager::valueForHypervisor(const Uuid& uuid) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(Entry * e, findLocked(uuid));
    if (!e->value || e->value->empty()) {
        return invalid("secret '" + uuid.toString() + "' does not have a value");
    }
    return *e->value;
}

Result<SecretBytes> SecretManager::diskPassphrase(const std::string& uuid, const std::string& usage) {
    Uuid wanted;
    {
        std::lock_guard lock(mutex_);
        const Entry* found = nullptr;
        if (!uuid.empty()) {
            auto parsed = Uuid::parse(uuid);
            if (!parsed) {
                return fail(ErrorCode::NoSecret, "no secret with matching uuid '" + uuid + "'", ErrorDomain::Secret);
            }
            CORRAL_ASSIGN_OR_RETURN(found, findLocked(*parsed));
        } else {
            for (const auto& [id, e] : secrets_) {
                if (e.def.usage == conf::SecretUsage::Volume && e.def.usageId == usage) {
                    found = &e;
                }
            }
            if (found == nullptr) {
                return fail(ErrorCode::NoSecret, "no secret with matching usage '" + usage + "'", ErrorDomain::Secret);
            }
        }
        // As libvirt: a disk opens only with a volume secret. A TLS key or a Ceph password
        // defined for something else must not double as a disk's passphrase.
        if (found->def.usage != conf::SecretUsage::Volume) {
            return invalid("secret '" + found->def.uuid.toString() + "' is of usage type '" +
                           std::string(conf::secretUsageName(found->def.usage)) + "', not 'volume' (a disk's passphrase)");
        }
        wanted = found->def.uuid;
    }
    return valueForHypervisor(wanted);
}

}  // namespace corral::drivers::secret
