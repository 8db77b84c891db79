// SPDX-License-Identifier: LGPL-2.1-or-later
// The secret facet: libvirt's secret API (secret-define, secret-set-value, ...), served on the
// host drivers' connections (qemu:///system, lxc:///) by one shared secret driver, and by the
// test driver in memory.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "util/result.hpp"
#include "util/uuid.hpp"

namespace corral::drivers {

/// What the wire calls remote_nonnull_secret.
struct SecretRef {
    Uuid uuid;
    int usageType = 0;    ///< virSecretUsageType
    std::string usageId;  ///< the volume path, ceph/tls/vtpm name or iSCSI target; "" for none
};

/// A secret's value: its bytes are overwritten when it goes away, so a value does not linger in
/// freed heap memory (a core dump, a later allocation).
class SecretBytes {
public:
    SecretBytes() = default;
    explicit SecretBytes(std::span<const std::uint8_t> bytes) : bytes_(bytes.begin(), bytes.end()) {}
    SecretBytes(const SecretBytes& other) : bytes_(other.bytes_) {}
    SecretBytes& operator=(const SecretBytes& other) {
        if (this != &other) {
            wipe();
            bytes_ = other.bytes_;
        }
        return *this;
    }
    SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) { other.bytes_.clear(); }
    SecretBytes& operator=(SecretBytes&& other) noexcept {
        if (this != &other) {
            wipe();
            bytes_ = std::move(other.bytes_);
            other.bytes_.clear();
        }
        return *this;
    }
    ~SecretBytes() { wipe(); }

    [[nodiscard]] std::span<const std::uint8_t> bytes() const { return bytes_; }
    [[nodiscard]] std::size_t size() const { return bytes_.size(); }
    [[nodiscard]] bool empty() const { return bytes_.empty(); }

private:
    void wipe() noexcept {
        // volatile: the stores must happen although nothing reads the bytes afterwards.
        volatile std::uint8_t* p = bytes_.data();
        for (std::size_t i = 0; i < bytes_.size(); ++i) {
            p[i] = 0;
        }
        bytes_.clear();
    }
    std::vector<std::uint8_t> bytes_;
};

/// virConnectListAllSecrets flags.
namespace secret_list_flags {
inline constexpr unsigned kEphemeral = 1u << 0;
inline constexpr unsigned kNoEphemeral = 1u << 1;
inline constexpr unsigned kPrivate = 1u << 2;
inline constexpr unsigned kNoPrivate = 1u << 3;
}  // namespace secret_list_flags

/// Every method may be called from any worker thread; implementations lock internally.
class SecretFacet {
public:
    virtual ~SecretFacet() = default;
    /// NoSecret naming the UUID when none is defined.
    virtual Result<SecretRef> lookupSecretByUuid(const Uuid& uuid) = 0;
    /// NoSecret naming the usage type and id when none matches.
    virtual Result<SecretRef> lookupSecretByUsage(int usageType, const std::string& usageId) = 0;
    /// The secrets `flags` selects (secret_list_flags; unknown bits: InvalidArg).
    virtual Result<std::vector<SecretRef>> listAllSecrets(unsigned flags) = 0;
    /// Defines a new secret or redefines one with the same UUID (keeping its value). Refused
    /// (OperationInvalid): another secret already has the usage; a redefinition that changes the
    /// usage, or makes a private secret public or an ephemeral one persistent.
    virtual Result<SecretRef> defineSecret(const std::string& xml, unsigned flags) = 0;
    /// Removes the definition and the value, from memory and from disk.
    virtual Result<void> undefineSecret(const SecretRef& secret) = 0;
    /// The definition as libvirt formats it; never contains the value.
    virtual Result<std::string> secretXml(const SecretRef& secret, unsigned flags) = 0;
    /// Replaces the value (at most 65,536 bytes, the wire's limit; binary allowed).
    virtual Result<void> setSecretValue(const SecretRef& secret, std::span<const std::uint8_t> value,
                                        unsigned flags) = 0;
    /// The value for a client. Refused for a private secret (OperationDenied) and for one with
    /// no value (NoSecret).
    virtual Result<SecretBytes> secretValue(const SecretRef& secret, unsigned flags) = 0;
};

}  // namespace corral::drivers
