// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/common/save_image.hpp"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace corral::drivers {

namespace {

constexpr std::size_t kMagicSize = 16;
constexpr std::size_t kHeaderSize = 32;
constexpr char kMagicComplete[kMagicSize] = "CorralSaveImage";
constexpr char kMagicPartial[kMagicSize] = "CorralSavePart\0";
constexpr std::uint32_t kVersion = 1;
constexpr std::uint32_t kFlagRunning = 1;
constexpr std::uint32_t kMaxXml = 16 * 1024 * 1024;

void putLe32(unsigned char* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        p[i] = static_cast<unsigned char>(v >> (8 * i));
    }
}

std::uint32_t getLe32(const unsigned char* p) {
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

Result<void> writeAllAt(int fd, const void* data, std::size_t size, off_t offset, const std::string& path) {
    const auto* p = static_cast<const unsigned char*>(data);
    while (size > 0) {
        ssize_t n = ::pwrite(fd, p, size, offset);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return failErrno(n < 0 ? errno : EIO, "cannot write save image '" + path + "'");
        }
        p += n;
        size -= static_cast<std::size_t>(n);
        offset += n;
    }
    return {};
}

Result<void> readAllAt(int fd, void* data, std::size_t size, off_t offset, const std::string& path) {
    auto* p = static_cast<unsigned char*>(data);
    while (size > 0) {
        ssize_t n = ::pread(fd, p, size, offset);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return failErrno(errno, "cannot read save image '" + path + "'");
        }
        if (n == 0) {
            return fail(ErrorCode::OperationFailed, "save image '" + path + "' is truncated");
        }
        p += n;
        size -= static_cast<std::size_t>(n);
        offset += n;
    }
    return {};
}

}  // namespace

Result<void> writeSaveImageHeader(int fd, const std::string& path, const std::string& xml, bool wasRunning) {
    if (xml.size() > kMaxXml) {
        return fail(ErrorCode::InternalError, "domain XML too large for a save image");
    }
    std::array<unsigned char, kHeaderSize> header{};
    std::memcpy(header.data(), kMagicPartial, kMagicSize);
    putLe32(header.data() + 16, kVersion);
    putLe32(header.data() + 20, static_cast<std::uint32_t>(xml.size()));
    putLe32(header.data() + 24, wasRunning ? kFlagRunning : 0);
    CORRAL_TRY(writeAllAt(fd, header.data(), header.size(), 0, path));
    CORRAL_TRY(writeAllAt(fd, xml.data(), xml.size(), kHeaderSize, path));
    if (::lseek(fd, static_cast<off_t>(kHeaderSize + xml.size()), SEEK_SET) < 0) {
        return failErrno(errno, "cannot seek in save image '" + path + "'");
    }
    return {};
}

Result<void> completeSaveImage(int fd, const std::string& path) {
    // The stream must be on disk before the header says it is complete.
    if (::fdatasync(fd) != 0) {
        return failErrno(errno, "cannot flush save image '" + path + "'");
    }
    CORRAL_TRY(writeAllAt(fd, kMagicComplete, kMagicSize, 0, path));
    if (::fdatasync(fd) != 0) {
        return failErrno(errno, "cannot flush save image '" + path + "'");
    }
    return {};
}

Result<SaveImageHeader> readSaveImageHeader(int fd, const std::string& path) {
    std::array<unsigned char, kHeaderSize> header{};
    auto read = readAllAt(fd, header.data(), header.size(), 0, path);
    if (!read) {
        return fail(ErrorCode::OperationFailed, "'" + path + "' is not a Corral save image (too short)");
    }
    if (std::memcmp(header.data(), kMagicPartial, kMagicSize) == 0) {
        return fail(ErrorCode::OperationFailed,
                    "save image '" + path + "' is incomplete: the save that wrote it did not finish");
    }
    if (std::memcmp(header.data(), kMagicComplete, kMagicSize) != 0) {
        return fail(ErrorCode::OperationFailed, "'" + path + "' is not a Corral save image");
    }
    std::uint32_t version = getLe32(header.data() + 16);
    if (version != kVersion) {
        return fail(ErrorCode::OperationFailed, "save image '" + path + "' has version " + std::to_string(version) +
                                                    "; this build reads version " + std::to_string(kVersion));
    }
    std::uint32_t xmlLen = getLe32(header.data() + 20);
    if (xmlLen == 0 || xmlLen > kMaxXml) {
        return fail(ErrorCode::OperationFailed, "save image '" + path + "' has a damaged header (XML length " +
                                                    std::to_string(xmlLen) + ")");
    }
    SaveImageHeader out;
    out.wasRunning = (getLe32(header.data() + 24) & kFlagRunning) != 0;
    out.xml.resize(xmlLen);
    CORRAL_TRY(readAllAt(fd, out.xml.data(), xmlLen, kHeaderSize, path));
    out.stateOffset = kHeaderSize + xmlLen;
    if (::lseek(fd, static_cast<off_t>(out.stateOffset), SEEK_SET) < 0) {
        return failErrno(errno, "cannot seek in save image '" + path + "'");
    }
    return out;
}

}  // namespace corral::drivers
