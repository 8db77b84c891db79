// SPDX-License-Identifier: LGPL-2.1-or-later
// The files behind vol-upload and vol-download, on a real directory: what an upload keeps of
// the old file, that nothing reaches the volume before install(), that an abandoned upload
// leaves nothing behind, the length bound, and holes both ways.
#include "drivers/storage/volume_transfer.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace corral::drivers::storage {
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

void writeAll(const std::string& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
}

class VolumeTransferTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/corral-voltransfer-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        vol_ = dir_ + "/v.img";
        writeAll(vol_, std::string(100, 'o'));
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    [[nodiscard]] std::size_t entries() const {
        return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir_), {}));
    }
    std::string dir_;
    std::string vol_;
};

TEST(KeptRanges, WhatAnUploadKeepsOfTheOldFile) {
    auto k = keptRanges(100, 10, 20);  // inside: head and tail kept
    EXPECT_EQ(k.headEnd, 10u);
    EXPECT_EQ(k.tailStart, 30u);
    EXPECT_EQ(k.tailEnd, 100u);
    EXPECT_EQ(k.newSize, 100u);
    k = keptRanges(100, 0, 150);  // past the end: nothing kept, the file grows
    EXPECT_EQ(k.headEnd, 0u);
    EXPECT_EQ(k.tailStart, k.tailEnd);
    EXPECT_EQ(k.newSize, 150u);
    k = keptRanges(100, 200, 5);  // beyond the end: the whole old file, a gap, the upload
    EXPECT_EQ(k.headEnd, 100u);
    EXPECT_EQ(k.tailStart, k.tailEnd);
    EXPECT_EQ(k.newSize, 205u);
}

TEST_F(VolumeTransferTest, NothingReachesTheVolumeBeforeInstall) {
    auto up = UploadFile::open(dir_, "v.img", 10, 0);
    ASSERT_TRUE(up) << up.error().message;
    ASSERT_TRUE(up->write(bytesOf("NEWNEW")));
    EXPECT_EQ(readAll(vol_), std::string(100, 'o'));
    EXPECT_EQ(entries(), 1u);  // the upload's file has no name
    auto sealed = up->seal();
    ASSERT_TRUE(sealed);
    EXPECT_TRUE(isUploadFileName(*sealed));
    EXPECT_EQ(readAll(vol_), std::string(100, 'o'));
    ASSERT_TRUE(up->install());
    EXPECT_EQ(readAll(vol_), std::string(10, 'o') + "NEWNEW" + std::string(84, 'o'));
    EXPECT_EQ(entries(), 1u);
}

TEST_F(VolumeTransferTest, AnAbandonedUploadLeavesNothing) {
    {
        auto up = UploadFile::open(dir_, "v.img", 0, 0);
        ASSERT_TRUE(up);
        ASSERT_TRUE(up->write(bytesOf("xyz")));
        ASSERT_TRUE(up->seal());  // named, then dropped before install()
        EXPECT_EQ(entries(), 2u);
    }
    EXPECT_EQ(entries(), 1u);
    EXPECT_EQ(readAll(vol_), std::string(100, 'o'));
}

TEST_F(VolumeTransferTest, TheLengthBoundsDataAndHoles) {
    auto up = UploadFile::open(dir_, "v.img", 0, 8);
    ASSERT_TRUE(up);
    ASSERT_TRUE(up->write(bytesOf("12345")));
    auto over = up->write(bytesOf("6789"));
    ASSERT_FALSE(over);
    EXPECT_NE(over.error().message.find("goes past the length 8"), std::string::npos);
    EXPECT_FALSE(up->skip(4));
    EXPECT_TRUE(up->skip(3));
}

TEST_F(VolumeTransferTest, OwnerModeAndHolesOfAnUpload) {
    ASSERT_EQ(::chown(vol_.c_str(), 107, 108), 0);
    ASSERT_EQ(::chmod(vol_.c_str(), 0640), 0);
    auto up = UploadFile::open(dir_, "v.img", 0, 0);
    ASSERT_TRUE(up);
    ASSERT_TRUE(up->write(bytesOf("head")));
    ASSERT_TRUE(up->skip(64u << 20));
    ASSERT_TRUE(up->write(bytesOf("tail")));
    ASSERT_TRUE(up->seal());
    ASSERT_TRUE(up->install());
    struct stat st {};
    ASSERT_EQ(::stat(vol_.c_str(), &st), 0);
    EXPECT_EQ(st.st_size, static_cast<off_t>(4 + (64u << 20) + 4));
    EXPECT_EQ(st.st_uid, 107u);
    EXPECT_EQ(st.st_gid, 108u);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    if (st.st_blocks * 512 > (4 << 20)) {
        GTEST_SKIP() << "this file system keeps no holes";
    }

    // A sparse download reports the hole; a plain one reads it as zeros.
    auto down = DownloadFile::open(dir_, "v.img", 0, 0, true);
    ASSERT_TRUE(down);
    std::vector<std::uint8_t> buf(1 << 16);
    std::uint64_t data = 0;
    std::uint64_t holes = 0;
    for (;;) {
        auto c = down->read(buf);
        ASSERT_TRUE(c);
        if (c->data == 0 && c->hole == 0) {
            break;
        }
        data += c->data;
        holes += c->hole;
    }
    EXPECT_EQ(data + holes, static_cast<std::uint64_t>(st.st_size));
    EXPECT_GE(holes, 60u << 20);
    auto plain = DownloadFile::open(dir_, "v.img", 4, 10, false);
    ASSERT_TRUE(plain);
    auto c = plain->read(buf);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->data, 10u);
    EXPECT_EQ(c->hole, 0u);
    EXPECT_EQ(std::string(buf.begin(), buf.begin() + 10), std::string(10, '\0'));
    c = plain->read(buf);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->data + c->hole, 0u);
}

TEST_F(VolumeTransferTest, ASymbolicLinkIsNoVolume) {
    ASSERT_EQ(::symlink("/etc/passwd", (dir_ + "/link").c_str()), 0);
    EXPECT_FALSE(UploadFile::open(dir_, "link", 0, 0));
    EXPECT_FALSE(DownloadFile::open(dir_, "link", 0, 0, false));
}

}  // namespace
}  // namespace corral::drivers::storage
