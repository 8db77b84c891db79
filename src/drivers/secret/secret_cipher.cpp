// SPDX-License-Identifier: LGPL-2.1-or-later
// AES-256-GCM sealing of secret values (nettle's GCM; GnuTLS sits on the same nettle).
#include "drivers/secret/secret_cipher.hpp"

#include <nettle/gcm.h>
#include <nettle/memops.h>
#include <sys/random.h>

#include <cerrno>
#include <vector>

namespace corral::drivers::secret {

namespace {

constexpr std::string_view kMagic = "CORSEC01";
constexpr std::size_t kNonceSize = GCM_IV_SIZE;  // 12 bytes: the size GCM is defined for
constexpr std::size_t kTagSize = GCM_DIGEST_SIZE;

/// What the tag also covers: the format and the secret the value belongs to.
std::array<std::uint8_t, 8 + 16> associatedData(const Uuid& uuid) {
    static_assert(kMagic.size() == 8);
    std::array<std::uint8_t, 8 + 16> aad{};
    for (std::size_t i = 0; i < kMagic.size(); ++i) {
        aad[i] = static_cast<std::uint8_t>(kMagic[i]);
    }
    for (std::size_t i = 0; i < uuid.bytes.size(); ++i) {
        aad[kMagic.size() + i] = uuid.bytes[i];
    }
    return aad;
}

void fillRandom(std::uint8_t* out, std::size_t length) {
    std::size_t got = 0;
    while (got < length) {
        ssize_t n = getrandom(out + got, length - got, 0);
        CORRAL_CHECK(n > 0 || errno == EINTR);
        if (n > 0) {
            got += static_cast<std::size_t>(n);
        }
    }
}

/// Wipes the key schedule when the sealing is done.
struct GcmContext {
    gcm_aes256_ctx ctx{};
    ~GcmContext() {
        volatile std::uint8_t* p = reinterpret_cast<std::uint8_t*>(&ctx);  // bytes of a POD struct
        for (std::size_t i = 0; i < sizeof ctx; ++i) {
            p[i] = 0;
        }
    }
};

}  // namespace

SecretBytes randomSecretBytes(std::size_t length) {
    std::vector<std::uint8_t> bytes(length);
    fillRandom(bytes.data(), length);
    SecretBytes out(bytes);
    volatile std::uint8_t* p = bytes.data();
    for (std::size_t i = 0; i < length; ++i) {
        p[i] = 0;
    }
    return out;
}

std::string sealSecretValue(std::span<const std::uint8_t> key, const Uuid& uuid, const SecretBytes& value) {
    CORRAL_CHECK(key.size() == kSecretKeySize);
    std::string blob(kMagic);
    std::array<std::uint8_t, kNonceSize> nonce{};
    fillRandom(nonce.data(), nonce.size());
    blob.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());

    GcmContext g;
    gcm_aes256_set_key(&g.ctx, key.data());
    gcm_aes256_set_iv(&g.ctx, nonce.size(), nonce.data());
    auto aad = associatedData(uuid);
    gcm_aes256_update(&g.ctx, aad.size(), aad.data());
    std::vector<std::uint8_t> cipher(value.size());
    gcm_aes256_encrypt(&g.ctx, value.size(), cipher.data(), value.bytes().data());
    std::array<std::uint8_t, kTagSize> tag{};
    gcm_aes256_digest(&g.ctx, tag.size(), tag.data());
    blob.append(reinterpret_cast<const char*>(cipher.data()), cipher.size());
    blob.append(reinterpret_cast<const char*>(tag.data()), tag.size());
    return blob;
}

Result<SecretBytes> openSecretValue(std::span<const std::uint8_t> key, const Uuid& uuid, std::string_view blob) {
    CORRAL_CHECK(key.size() == kSecretKeySize);
    if (blob.size() < kMagic.size() + kNonceSize + kTagSize || blob.substr(0, kMagic.size()) != kMagic) {
        return fail(ErrorCode::InternalError, "stored value of secret '" + uuid.toString() + "' is not in a known format",
                    ErrorDomain::Secret);
    }
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(blob.data());
    const std::uint8_t* nonce = bytes + kMagic.size();
    const std::uint8_t* cipher = nonce + kNonceSize;
    const std::size_t cipherSize = blob.size() - kMagic.size() - kNonceSize - kTagSize;
    const std::uint8_t* tag = cipher + cipherSize;

    GcmContext g;
    gcm_aes256_set_key(&g.ctx, key.data());
    gcm_aes256_set_iv(&g.ctx, kNonceSize, nonce);
    auto aad = associatedData(uuid);
    gcm_aes256_update(&g.ctx, aad.size(), aad.data());
    std::vector<std::uint8_t> plain(cipherSize);
    gcm_aes256_decrypt(&g.ctx, cipherSize, plain.data(), cipher);
    std::array<std::uint8_t, kTagSize> expected{};
    gcm_aes256_digest(&g.ctx, expected.size(), expected.data());
    SecretBytes value(plain);
    volatile std::uint8_t* p = plain.data();
    for (std::size_t i = 0; i < plain.size(); ++i) {
        p[i] = 0;
    }
    // Constant time: how much of a forged tag matched must not show in the timing.
    if (memeql_sec(expected.data(), tag, kTagSize) == 0) {
        return fail(ErrorCode::InternalError,
                    "stored value of secret '" + uuid.toString() + "' does not verify under the host's secret key",
                    ErrorDomain::Secret);
    }
    return value;
}

}  // namespace corral::drivers::secret
