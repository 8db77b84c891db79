// SPDX-License-Identifier: LGPL-2.1-or-later
// SecretManager: the secret driver. Definitions and values in memory under one lock; with a
// directory, persistent definitions are kept there and persistent values sealed
// (secret_cipher.hpp) under a key file kept elsewhere. Ephemeral secrets never touch the disk.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "conf/secret_def.hpp"
#include "drivers/interfaces/secret.hpp"

namespace corral::drivers::secret {

struct SecretPaths {
    std::string dir;      ///< "" = memory only (the test driver)
    std::string keyFile;  ///< the host key sealing the values in `dir`; outside `dir`
};

class SecretManager final : public SecretFacet {
public:
    explicit SecretManager(SecretPaths paths) : paths_(std::move(paths)) {}

    /// Creates the directory (0700) and the key file (32 random bytes, 0600) when missing,
    /// refuses a key file others can read, and loads the definitions and values. A value that
    /// does not verify is left out with a warning; the definition stays.
    Result<void> load();

    Result<SecretRef> lookupSecretByUuid(const Uuid& uuid) override;
    Result<SecretRef> lookupSecretByUsage(int usageType, const std::string& usageId) override;
    Result<std::vector<SecretRef>> listAllSecrets(unsigned flags) override;
    Result<SecretRef> defineSecret(const std::string& xml, unsigned flags) override;
    Result<void> undefineSecret(const SecretRef& secret) override;
    Result<std::string> secretXml(const SecretRef& secret, unsigned flags) override;
    Result<void> setSecretValue(const SecretRef& secret, std::span<const std::uint8_t> value,
                                unsigned flags) override;
    Result<SecretBytes> secretValue(const SecretRef& secret, unsigned flags) override;

    /// The value for the daemon's own use (a guest's encrypted disk), private secrets included:
    /// it goes to the hypervisor, never back to a client. NoSecret when the secret is not
    /// defined, OperationInvalid when it has no value; both name the UUID.
    Result<SecretBytes> valueForHypervisor(const Uuid& uuid);
    /// An encrypted disk's passphrase, for the hypervisor: the value of the secret `uuid` or,
    /// when that is "", of the volume secret whose usage id is `usage`. Refused, naming the
    /// secret: none matches (NoSecret), it is not a volume secret or has no value
    /// (OperationInvalid).
    Result<SecretBytes> diskPassphrase(const std::string& uuid, const std::string& usage);

private:
    struct Entry {
        conf::SecretDef def;
        std::optional<SecretBytes> value;
    };

    static SecretRef refOf(const conf::SecretDef& def);
    Result<Entry*> findLocked(const Uuid& uuid);
    Result<void> loadKey();
    std::string pathOf(const Uuid& uuid, std::string_view suffix) const;
    Result<void> storeValueLocked(const Entry& entry);

    const SecretPaths paths_;
    std::mutex mutex_;
    std::map<Uuid, Entry> secrets_;  // guarded by mutex_
    SecretBytes key_;                // immutable after load()
};

}  // namespace corral::drivers::secret
