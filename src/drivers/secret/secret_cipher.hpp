// SPDX-License-Identifier: LGPL-2.1-or-later
// Sealing of secret values at rest: AES-256-GCM (nettle) under the host's secret key, with the
// secret's UUID bound in as associated data, so a stored value can be neither read, altered nor
// moved onto another secret's file without the key.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "drivers/interfaces/secret.hpp"
#include "util/result.hpp"
#include "util/uuid.hpp"

namespace corral::drivers::secret {

inline constexpr std::size_t kSecretKeySize = 32;

/// `length` bytes from the kernel's CSPRNG (getrandom).
SecretBytes randomSecretBytes(std::size_t length);

/// magic | 12-byte random nonce | ciphertext | 16-byte tag. `key` must be kSecretKeySize bytes.
std::string sealSecretValue(std::span<const std::uint8_t> key, const Uuid& uuid, const SecretBytes& value);

/// The value sealed in `blob` for `uuid`. Errors (InternalError): a blob too short, of another
/// format, or whose tag does not verify (another key, another secret, or altered bytes).
Result<SecretBytes> openSecretValue(std::span<const std::uint8_t> key, const Uuid& uuid, std::string_view blob);

}  // namespace corral::drivers::secret
