// SPDX-License-Identifier: LGPL-2.1-or-later
// The save image header: written partial, completed after the state, refused when unfinished,
// truncated or foreign.
#include "drivers/common/save_image.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "util/unique_fd.hpp"

using namespace corral;
using namespace corral::drivers;

namespace {

struct SaveImage : ::testing::Test {
    void SetUp() override {
        char tmpl[] = "/tmp/corral-save-image-XXXXXX";
        fd = UniqueFd(mkstemp(tmpl));
        path = tmpl;
    }
    void TearDown() override { unlink(path.c_str()); }
    void writeRaw(const std::string& bytes) {
        ASSERT_EQ(ftruncate(fd.get(), 0), 0);
        ASSERT_EQ(pwrite(fd.get(), bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
    }
    UniqueFd fd;
    std::string path;
};

const std::string kXml = "<domain type='qemu'><name>g</name></domain>";

}  // namespace

TEST_F(SaveImage, RoundTripsAfterCompletion) {
    ASSERT_TRUE(writeSaveImageHeader(fd.get(), path, kXml, true));
    ASSERT_EQ(write(fd.get(), "STATE", 5), 5);
    ASSERT_TRUE(completeSaveImage(fd.get(), path));
    auto header = readSaveImageHeader(fd.get(), path);
    ASSERT_TRUE(header) << header.error().wireMessage();
    EXPECT_EQ(header->xml, kXml);
    EXPECT_TRUE(header->wasRunning);
    EXPECT_EQ(header->stateOffset, 32 + kXml.size());
    char state[5];
    ASSERT_EQ(read(fd.get(), state, 5), 5) << "the offset is left at the state";
    EXPECT_EQ(std::string(state, 5), "STATE");
}

TEST_F(SaveImage, UnfinishedSaveIsRefused) {
    ASSERT_TRUE(writeSaveImageHeader(fd.get(), path, kXml, false));
    auto header = readSaveImageHeader(fd.get(), path);
    ASSERT_FALSE(header);
    EXPECT_NE(header.error().wireMessage().find("incomplete"), std::string::npos);
}

TEST_F(SaveImage, ForeignAndDamagedFilesAreRefusedByName) {
    for (const std::string& bytes : {std::string("hello"), std::string(64, 'x'),
                                     std::string("CorralSaveImage\0", 16) + std::string("\x02\0\0\0", 4) +
                                         std::string(12, '\0'),
                                     std::string("CorralSaveImage\0", 16) + std::string("\x01\0\0\0", 4) +
                                         std::string("\xff\xff\xff\x7f", 4) + std::string(8, '\0'),
                                     std::string("CorralSaveImage\0", 16) + std::string("\x01\0\0\0", 4) +
                                         std::string("\x40\0\0\0", 4) + std::string(8, '\0') + "short"}) {
        writeRaw(bytes);
        auto header = readSaveImageHeader(fd.get(), path);
        ASSERT_FALSE(header) << "accepted " << bytes.size() << " bytes";
        EXPECT_NE(header.error().wireMessage().find(path), std::string::npos) << header.error().wireMessage();
    }
}
