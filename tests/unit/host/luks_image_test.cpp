// SPDX-License-Identifier: LGPL-2.1-or-later
// createLuksImage with the real qemu-img: the image opens with its passphrase and with no
// other; and, through a recording stand-in for qemu-img, the passphrase arrives on stdin and
// never in argv.
#include "host/luks_image.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/process.hpp"

namespace corral::host {
namespace {

std::span<const std::uint8_t> bytesOf(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string readAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// Whether qemu-img opens `path` (luks or encrypted qcow2) with `passphrase`.
bool opens(const std::string& path, const std::string& format, const std::string& passphrase) {
    const std::string key = format == "luks" ? "key-secret=s" : "encrypt.key-secret=s";
    // qemu-img info reads the header only; a read through qemu-io needs the unlocked key.
    auto r = runCommand({"qemu-io", "--object", "secret,id=s,file=/dev/stdin,format=raw", "--image-opts",
                         "driver=" + format + "," + key + ",file.filename=" + path, "-c", "read 0 512"},
                        passphrase);
    return r && r->exitStatus == 0;
}

class LuksImageTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/corral-luks-test-XXXXXX";
        dir = ::mkdtemp(tmpl);
    }
    void TearDown() override { std::filesystem::remove_all(dir); }
    std::string dir;
};

TEST_F(LuksImageTest, RawLuksImageOpensOnlyWithItsPassphrase) {
    LuksImageRequest r;
    r.path = dir + "/disk.luks";
    r.capacityBytes = 4 << 20;
    r.iterTimeMs = 10;  // the default 2 s of PBKDF would be paid at every open below
    const std::string pass = "open sesame";
    r.passphrase = bytesOf(pass);
    auto made = createLuksImage(r);
    ASSERT_TRUE(made.has_value()) << made.error().message;
    EXPECT_EQ(readAll(r.path).substr(0, 4), "LUKS");
    EXPECT_TRUE(opens(r.path, "luks", pass));
    EXPECT_FALSE(opens(r.path, "luks", "open sesame!"));
    // Never over an existing file.
    auto again = createLuksImage(r);
    ASSERT_FALSE(again.has_value());
    EXPECT_NE(again.error().message.find("already exists"), std::string::npos);
}

TEST_F(LuksImageTest, Qcow2WithLuksAndAUtf8Passphrase) {
    std::string pass = "p\xc3\xa4ssw\xc3\xb6rd \xe2\x9c\x93";
    LuksImageRequest r;
    r.path = dir + "/disk.qcow2";
    r.format = "qcow2";
    r.capacityBytes = 4 << 20;
    r.iterTimeMs = 10;  // the default 2 s of PBKDF would be paid at every open below
    r.passphrase = bytesOf(pass);
    auto made = createLuksImage(r);
    ASSERT_TRUE(made.has_value()) << made.error().message;
    EXPECT_EQ(readAll(r.path).substr(0, 3), "QFI");
    EXPECT_TRUE(opens(r.path, "qcow2", pass));
    EXPECT_FALSE(opens(r.path, "qcow2", "p"));
}

TEST_F(LuksImageTest, BinaryPassphraseIsRefusedBeforeQemuImgRuns) {
    std::string pass("bin\0ary\xff", 8);
    LuksImageRequest r;
    r.path = dir + "/bin.luks";
    r.capacityBytes = 1 << 20;
    r.passphrase = bytesOf(pass);
    auto made = createLuksImage(r);
    ASSERT_FALSE(made.has_value());
    EXPECT_NE(made.error().message.find("UTF-8"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(r.path));
}

TEST_F(LuksImageTest, PassphraseGoesThroughStdinNeverArgv) {
    // A stand-in that records what qemu-img would be given.
    const std::string fake = dir + "/fake-qemu-img";
    {
        std::ofstream out(fake);
        out << "#!/bin/sh\nprintf '%s\\n' \"$@\" > " << dir << "/argv\ncat > " << dir << "/stdin\n";
    }
    ASSERT_EQ(::chmod(fake.c_str(), 0700), 0);
    const std::string pass = "never-on-a-command-line";
    LuksImageRequest r;
    r.path = dir + "/x.luks";
    r.capacityBytes = 1 << 20;
    r.passphrase = bytesOf(pass);
    r.qemuImg = fake;
    ASSERT_TRUE(createLuksImage(r).has_value());
    EXPECT_EQ(readAll(dir + "/argv").find(pass), std::string::npos);
    EXPECT_NE(readAll(dir + "/argv").find("file=/dev/stdin"), std::string::npos);
    EXPECT_EQ(readAll(dir + "/stdin"), pass);
}

TEST_F(LuksImageTest, RefusesEmptyPassphraseOtherFormatsAndNoCapacity) {
    LuksImageRequest r;
    r.path = dir + "/y";
    r.capacityBytes = 1 << 20;
    EXPECT_FALSE(createLuksImage(r).has_value());
    const std::string pass = "p";
    r.passphrase = bytesOf(pass);
    r.format = "vmdk";
    EXPECT_FALSE(createLuksImage(r).has_value());
    r.format = "luks";
    r.capacityBytes = 0;
    EXPECT_FALSE(createLuksImage(r).has_value());
}

}  // namespace
}  // namespace corral::host
