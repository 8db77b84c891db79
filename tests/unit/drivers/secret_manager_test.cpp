// SPDX-License-Identifier: LGPL-2.1-or-later
// The secret driver against a real directory: values sealed at rest (no plaintext, bound to
// their secret and the key), file modes, ephemeral secrets never written, private values never
// returned, and the redefinitions that would expose a value refused.
#include "drivers/secret/secret_manager.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "drivers/secret/secret_cipher.hpp"

namespace corral::drivers::secret {
namespace {

constexpr const char* kUuid = "0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f";
constexpr const char* kOther = "11111111-2222-4333-8444-555555555555";

std::string volumeSecret(const char* uuid, const char* path, const char* flags = "") {
    return std::string("<secret ") + flags + "><uuid>" + uuid + "</uuid><usage type='volume'><volume>" + path +
           "</volume></usage></secret>";
}

std::span<const std::uint8_t> bytesOf(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string readAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

class SecretStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/corral-secret-test-XXXXXX";
        root = ::mkdtemp(tmpl);
        paths = {root + "/state/secrets", root + "/secrets-encryption-key"};
    }
    void TearDown() override { std::filesystem::remove_all(root); }

    std::unique_ptr<SecretManager> open() {
        auto m = std::make_unique<SecretManager>(paths);
        auto loaded = m->load();
        EXPECT_TRUE(loaded.has_value()) << (loaded ? "" : loaded.error().message);
        return m;
    }

    std::string root;
    SecretPaths paths;
};

TEST_F(SecretStoreTest, StoredValueIsSealedOwnerOnlyAndSurvivesARestart) {
    const std::string plain = "correct horse battery staple";
    {
        auto m = open();
        auto ref = m->defineSecret(volumeSecret(kUuid, "/img/a.luks"), 0);
        ASSERT_TRUE(ref.has_value()) << ref.error().message;
        ASSERT_TRUE(m->setSecretValue(*ref, bytesOf(plain), 0).has_value());
    }
    struct stat st {};
    ASSERT_EQ(::stat(paths.dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    for (const char* file : {".xml", ".value"}) {
        std::string path = paths.dir + "/" + kUuid + file;
        ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
        EXPECT_EQ(st.st_mode & 07777, 0600u) << path;
        EXPECT_EQ(readAll(path).find(plain), std::string::npos) << path << " holds the plaintext";
    }
    ASSERT_EQ(::stat(paths.keyFile.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_size, 32);

    auto m = open();
    auto ref = m->lookupSecretByUsage(1, "/img/a.luks");
    ASSERT_TRUE(ref.has_value());
    auto value = m->secretValue(*ref, 0);
    ASSERT_TRUE(value.has_value()) << value.error().message;
    EXPECT_EQ(std::string(value->bytes().begin(), value->bytes().end()), plain);
}

TEST_F(SecretStoreTest, AnotherKeyOrAnAlteredOrMovedBlobGivesNoValue) {
    auto key = randomSecretBytes(kSecretKeySize);
    auto uuid = *Uuid::parse(kUuid);
    std::string blob = sealSecretValue(key.bytes(), uuid, SecretBytes(bytesOf("s3cret")));
    ASSERT_TRUE(openSecretValue(key.bytes(), uuid, blob).has_value());
    EXPECT_FALSE(openSecretValue(randomSecretBytes(kSecretKeySize).bytes(), uuid, blob).has_value());
    EXPECT_FALSE(openSecretValue(key.bytes(), *Uuid::parse(kOther), blob).has_value());
    std::string flipped = blob;
    flipped[flipped.size() / 2] ^= 1;
    EXPECT_FALSE(openSecretValue(key.bytes(), uuid, flipped).has_value());
    EXPECT_FALSE(openSecretValue(key.bytes(), uuid, blob.substr(0, 20)).has_value());
    // Two seals of one value differ (fresh nonce each time).
    EXPECT_NE(blob, sealSecretValue(key.bytes(), uuid, SecretBytes(bytesOf("s3cret"))));
}

TEST_F(SecretStoreTest, KeyFileReadableByOthersIsRefused) {
    open();
    ASSERT_EQ(::chmod(paths.keyFile.c_str(), 0644), 0);
    SecretManager m(paths);
    auto loaded = m.load();
    ASSERT_FALSE(loaded.has_value());
    EXPECT_NE(loaded.error().message.find("chmod 600"), std::string::npos) << loaded.error().message;
}

TEST_F(SecretStoreTest, EphemeralSecretNeverTouchesTheDisk) {
    {
        auto m = open();
        auto ref = m->defineSecret(volumeSecret(kUuid, "/img/e", "ephemeral='yes'"), 0);
        ASSERT_TRUE(ref.has_value());
        ASSERT_TRUE(m->setSecretValue(*ref, bytesOf("ephemeral value"), 0).has_value());
        EXPECT_TRUE(m->secretValue(*ref, 0).has_value());
        EXPECT_TRUE(std::filesystem::is_empty(paths.dir));
    }
    auto m = open();
    EXPECT_FALSE(m->lookupSecretByUuid(*Uuid::parse(kUuid)).has_value());
}

TEST_F(SecretStoreTest, PrivateValueReachesTheHypervisorButNoClient) {
    auto m = open();
    auto ref = m->defineSecret(volumeSecret(kUuid, "/img/p", "private='yes'"), 0);
    ASSERT_TRUE(ref.has_value());
    ASSERT_TRUE(m->setSecretValue(*ref, bytesOf("hidden"), 0).has_value());
    auto value = m->secretValue(*ref, 0);
    ASSERT_FALSE(value.has_value());
    EXPECT_EQ(value.error().code, ErrorCode::InvalidSecret);
    // A flag (libvirt's internal-call bit) does not open the door.
    EXPECT_FALSE(m->secretValue(*ref, 1).has_value());
    EXPECT_TRUE(m->valueForHypervisor(ref->uuid).has_value());
    // Nor does redefining it as public.
    auto redefined = m->defineSecret(volumeSecret(kUuid, "/img/p", "private='no'"), 0);
    ASSERT_FALSE(redefined.has_value());
    EXPECT_FALSE(m->secretValue(*ref, 0).has_value());
}

TEST_F(SecretStoreTest, DiskPassphraseNeedsAVolumeSecretWithAValue) {
    auto m = open();
    auto ref = m->defineSecret(volumeSecret(kUuid, "/img/disk.luks", "private='yes'"), 0);
    ASSERT_TRUE(ref.has_value());
    // No value yet: refused naming the secret.
    auto none = m->diskPassphrase(kUuid, "");
    ASSERT_FALSE(none.has_value());
    EXPECT_NE(none.error().message.find(kUuid), std::string::npos) << none.error().message;
    EXPECT_NE(none.error().message.find("does not have a value"), std::string::npos);
    ASSERT_TRUE(m->setSecretValue(*ref, bytesOf("luks pass"), 0).has_value());
    auto byUuid = m->diskPassphrase(kUuid, "");
    ASSERT_TRUE(byUuid.has_value());
    EXPECT_EQ(std::string(byUuid->bytes().begin(), byUuid->bytes().end()), "luks pass");
    auto byUsage = m->diskPassphrase("", "/img/disk.luks");
    ASSERT_TRUE(byUsage.has_value());
    EXPECT_EQ(byUsage->size(), 9u);

    auto missing = m->diskPassphrase(kOther, "");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, ErrorCode::NoSecret);
    EXPECT_NE(missing.error().message.find(kOther), std::string::npos);
    EXPECT_FALSE(m->diskPassphrase("", "/img/other.luks").has_value());

    // A TLS key's secret (with a value) is not a disk's passphrase, whatever its UUID says.
    auto tls = m->defineSecret(std::string("<secret><uuid>") + kOther + "</uuid><usage type='tls'><name>t</name></usage>"
                               "</secret>", 0);
    ASSERT_TRUE(tls.has_value());
    ASSERT_TRUE(m->setSecretValue(*tls, bytesOf("tls key"), 0).has_value());
    auto wrongKind = m->diskPassphrase(kOther, "");
    ASSERT_FALSE(wrongKind.has_value());
    EXPECT_EQ(wrongKind.error().code, ErrorCode::OperationInvalid);
    EXPECT_NE(wrongKind.error().message.find("usage type 'tls'"), std::string::npos) << wrongKind.error().message;
    // Nor is it found as a volume by its name.
    EXPECT_FALSE(m->diskPassphrase("", "t").has_value());
}

TEST_F(SecretStoreTest, UsageAndUuidCollisionsAreRefused) {
    auto m = open();
    ASSERT_TRUE(m->defineSecret(volumeSecret(kUuid, "/img/x"), 0).has_value());
    auto sameUsage = m->defineSecret(volumeSecret(kOther, "/img/x"), 0);
    ASSERT_FALSE(sameUsage.has_value());
    EXPECT_EQ(sameUsage.error().code, ErrorCode::OperationInvalid);
    auto otherUsage = m->defineSecret(volumeSecret(kUuid, "/img/y"), 0);
    ASSERT_FALSE(otherUsage.has_value());
    auto madeEphemeral = m->defineSecret(volumeSecret(kUuid, "/img/x", "ephemeral='yes'"), 0);
    ASSERT_FALSE(madeEphemeral.has_value());
    // The same definition again is a redefinition, and keeps the value.
    auto ref = m->lookupSecretByUuid(*Uuid::parse(kUuid));
    ASSERT_TRUE(m->setSecretValue(*ref, bytesOf("kept"), 0).has_value());
    ASSERT_TRUE(m->defineSecret(volumeSecret(kUuid, "/img/x"), 0).has_value());
    EXPECT_TRUE(m->secretValue(*ref, 0).has_value());
}

TEST_F(SecretStoreTest, UndefineRemovesBothFilesAndLaterSetsFail) {
    auto m = open();
    auto ref = m->defineSecret(volumeSecret(kUuid, "/img/u"), 0);
    ASSERT_TRUE(m->setSecretValue(*ref, bytesOf("gone soon"), 0).has_value());
    ASSERT_TRUE(m->undefineSecret(*ref).has_value());
    EXPECT_TRUE(std::filesystem::is_empty(paths.dir));
    auto late = m->setSecretValue(*ref, bytesOf("resurrect"), 0);
    ASSERT_FALSE(late.has_value());
    EXPECT_EQ(late.error().code, ErrorCode::NoSecret);
    EXPECT_TRUE(std::filesystem::is_empty(paths.dir));
}

TEST_F(SecretStoreTest, BinaryAndLargestValuesRoundTripAndOversizeIsRefused) {
    auto m = open();
    auto ref = m->defineSecret("<secret/>", 0);
    ASSERT_TRUE(ref.has_value());
    std::vector<std::uint8_t> big(65536);
    for (std::size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<std::uint8_t>(i * 7);
    }
    ASSERT_TRUE(m->setSecretValue(*ref, big, 0).has_value());
    auto reopened = open();
    auto value = reopened->secretValue(*ref, 0);
    ASSERT_TRUE(value.has_value());
    EXPECT_TRUE(std::equal(big.begin(), big.end(), value->bytes().begin(), value->bytes().end()));
    big.push_back(0);
    EXPECT_FALSE(m->setSecretValue(*ref, big, 0).has_value());
}

TEST(SecretMemoryOnly, ListFlagsSelect) {
    SecretManager m(SecretPaths{});
    ASSERT_TRUE(m.load().has_value());
    ASSERT_TRUE(m.defineSecret(volumeSecret(kUuid, "/a", "ephemeral='yes' private='yes'"), 0).has_value());
    ASSERT_TRUE(m.defineSecret(volumeSecret(kOther, "/b"), 0).has_value());
    EXPECT_EQ(m.listAllSecrets(0)->size(), 2u);
    EXPECT_EQ(m.listAllSecrets(secret_list_flags::kEphemeral)->size(), 1u);
    EXPECT_EQ(m.listAllSecrets(secret_list_flags::kNoPrivate)->front().usageId, "/b");
    EXPECT_FALSE(m.listAllSecrets(1u << 7).has_value());
    auto missing = m.lookupSecretByUsage(1, "/c");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, ErrorCode::NoSecret);
}

}  // namespace
}  // namespace corral::drivers::secret
