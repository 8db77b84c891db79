// SPDX-License-Identifier: LGPL-2.1-or-later
// UploadFile and DownloadFile: the kernel calls behind vol-upload and vol-download.
#include "drivers/storage/volume_transfer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <vector>

#include "util/strings.hpp"

namespace corral::drivers::storage {

namespace {

Unexpected systemError(int err, const std::string& message) {
    Error e = failErrno(err, message).error;
    e.domain = ErrorDomain::Storage;
    return unexpected(std::move(e));
}

/// Where the next data starts at or after `pos` (`end` when none), by SEEK_DATA.
std::uint64_t nextData(int fd, std::uint64_t pos, std::uint64_t end) {
    off_t at = ::lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    if (at < 0) {
        return errno == ENXIO ? end : pos;  // ENXIO: only a hole up to the end
    }
    return std::min<std::uint64_t>(static_cast<std::uint64_t>(at), end);
}

/// Where the data at `pos` ends (`end` at most), by SEEK_HOLE.
std::uint64_t nextHole(int fd, std::uint64_t pos, std::uint64_t end) {
    off_t at = ::lseek(fd, static_cast<off_t>(pos), SEEK_HOLE);
    if (at < 0) {
        return end;
    }
    return std::min<std::uint64_t>(static_cast<std::uint64_t>(at), end);
}

/// Copies [from, to) of `in` to the same place in `out`, leaving its holes as holes.
Result<void> copyKeepingHoles(int in, int out, std::uint64_t from, std::uint64_t to, const std::string& what) {
    std::vector<std::uint8_t> buf(1u << 20);
    std::uint64_t pos = from;
    while (pos < to) {
        pos = nextData(in, pos, to);
        const std::uint64_t dataEnd = nextHole(in, pos, to);
        while (pos < dataEnd) {
            const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), dataEnd - pos));
            ssize_t n = ::pread(in, buf.data(), want, static_cast<off_t>(pos));
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                return systemError(errno, "cannot read '" + what + "'");
            }
            if (n == 0) {
                return {};  // the old file got shorter: nothing more to keep
            }
            std::size_t done = 0;
            while (done < static_cast<std::size_t>(n)) {
                ssize_t w = ::pwrite(out, buf.data() + done, static_cast<std::size_t>(n) - done,
                                     static_cast<off_t>(pos + done));
                if (w < 0 && errno == EINTR) {
                    continue;
                }
                if (w < 0) {
                    return systemError(errno, "cannot write the upload of '" + what + "'");
                }
                done += static_cast<std::size_t>(w);
            }
            pos += static_cast<std::uint64_t>(n);
        }
    }
    return {};
}

std::string randomSuffix() {
    static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::random_device rd;
    std::string s;
    for (int i = 0; i < 10; ++i) {
        s += kChars[rd() % (sizeof kChars - 1)];
    }
    return s;
}

}  // namespace

bool isUploadFileName(std::string_view name) { return name.substr(0, kUploadFilePrefix.size()) == kUploadFilePrefix; }

KeptRanges keptRanges(std::uint64_t oldSize, std::uint64_t offset, std::uint64_t written) {
    KeptRanges k;
    k.headEnd = std::min(oldSize, offset);
    k.tailStart = offset + written;
    k.tailEnd = std::max(oldSize, k.tailStart);
    k.newSize = std::max(oldSize, offset + written);
    return k;
}

Result<UploadFile> UploadFile::open(const std::string& dir, const std::string& name, std::uint64_t offset,
                                    std::uint64_t length) {
    UploadFile f;
    f.dirPath_ = dir;
    f.name_ = name;
    f.offset_ = offset;
    f.length_ = length;
    f.dir_ = UniqueFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!f.dir_) {
        return systemError(errno, "cannot open directory '" + dir + "'");
    }
    f.old_ = UniqueFd(::openat(f.dir_.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!f.old_) {
        return systemError(errno, "cannot open volume '" + dir + "/" + name + "'");
    }
    struct stat st {};
    if (::fstat(f.old_.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return fail(ErrorCode::OperationInvalid, "'" + dir + "/" + name + "' is not a regular file",
                    ErrorDomain::Storage);
    }
    f.file_ = UniqueFd(::openat(f.dir_.get(), ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!f.file_ && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        // No unnamed files on this file system: a named one, which a refresh removes if a
        // killed daemon leaves it.
        f.fileName_ = std::string(kUploadFilePrefix) + randomSuffix();
        f.file_ = UniqueFd(
            ::openat(f.dir_.get(), f.fileName_.c_str(), O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600));
    }
    if (!f.file_) {
        f.fileName_.clear();
        return systemError(errno, "cannot create the upload file of '" + dir + "/" + name + "'");
    }
    return f;
}

UploadFile::~UploadFile() {
    if (dir_ && !fileName_.empty() && !installed_) {
        ::unlinkat(dir_.get(), fileName_.c_str(), 0);
    }
}

Result<void> UploadFile::room(std::uint64_t bytes) const {
    if (length_ != 0 && bytes > length_ - written_) {
        return fail(ErrorCode::OperationFailed,
                    "the upload to volume '" + name_ + "' goes past the length " + std::to_string(length_) +
                        " it asked for",
                    ErrorDomain::Storage);
    }
    return {};
}

Result<void> UploadFile::write(std::span<const std::uint8_t> data) {
    CORRAL_TRY(room(data.size()));
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::pwrite(file_.get(), data.data() + done, data.size() - done,
                             static_cast<off_t>(offset_ + written_ + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return systemError(errno, "cannot write the upload of '" + dirPath_ + "/" + name_ + "'");
        }
        done += static_cast<std::size_t>(n);
    }
    written_ += data.size();
    return {};
}

Result<void> UploadFile::skip(std::uint64_t length) {
    CORRAL_TRY(room(length));
    written_ += length;  // never written: a hole; the size is set by seal()
    return {};
}

Result<std::string> UploadFile::seal() {
    struct stat st {};
    if (::fstat(old_.get(), &st) != 0) {
        return systemError(errno, "cannot stat volume '" + dirPath_ + "/" + name_ + "'");
    }
    const KeptRanges k = keptRanges(static_cast<std::uint64_t>(st.st_size), offset_, written_);
    const std::string what = dirPath_ + "/" + name_;
    CORRAL_TRY(copyKeepingHoles(old_.get(), file_.get(), 0, k.headEnd, what));
    CORRAL_TRY(copyKeepingHoles(old_.get(), file_.get(), k.tailStart, k.tailEnd, what));
    if (::ftruncate(file_.get(), static_cast<off_t>(k.newSize)) != 0) {
        return systemError(errno, "cannot set the size of the upload of '" + what + "'");
    }
    // The volume's owner and mode, as the volume had them: the guest's DAC hand-over and the
    // pool's permissions do not change with its content.
    if (::fchown(file_.get(), st.st_uid, st.st_gid) != 0 || ::fchmod(file_.get(), st.st_mode & 07777) != 0) {
        return systemError(errno, "cannot set the owner of the upload of '" + what + "'");
    }
    if (::fsync(file_.get()) != 0) {
        return systemError(errno, "cannot write the upload of '" + what + "' to disk");
    }
    if (fileName_.empty()) {
        const std::string name = std::string(kUploadFilePrefix) + randomSuffix();
        const std::string self = "/proc/self/fd/" + std::to_string(file_.get());
        if (::linkat(AT_FDCWD, self.c_str(), dir_.get(), name.c_str(), AT_SYMLINK_FOLLOW) != 0) {
            return systemError(errno, "cannot name the upload of '" + what + "'");
        }
        fileName_ = name;
    }
    return fileName_;
}

Result<void> UploadFile::install() {
    if (::renameat(dir_.get(), fileName_.c_str(), dir_.get(), name_.c_str()) != 0) {
        return systemError(errno, "cannot replace volume '" + dirPath_ + "/" + name_ + "'");
    }
    installed_ = true;
    (void)::fsync(dir_.get());  // the rename itself on disk
    return {};
}

Result<DownloadFile> DownloadFile::open(const std::string& dir, const std::string& name, std::uint64_t offset,
                                        std::uint64_t length, bool sparse) {
    DownloadFile f;
    f.path_ = dir + "/" + name;
    f.sparse_ = sparse;
    UniqueFd dirFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dirFd) {
        return systemError(errno, "cannot open directory '" + dir + "'");
    }
    f.fd_ = UniqueFd(::openat(dirFd.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!f.fd_) {
        return systemError(errno, "cannot open volume '" + f.path_ + "'");
    }
    struct stat st {};
    if (::fstat(f.fd_.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return fail(ErrorCode::OperationInvalid, "'" + f.path_ + "' is not a regular file", ErrorDomain::Storage);
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    f.pos_ = std::min(offset, size);
    f.end_ = length == 0 || length > size - f.pos_ ? size : f.pos_ + length;
    return f;
}

Result<VolumeChunk> DownloadFile::read(std::span<std::uint8_t> buffer) {
    VolumeChunk chunk;
    if (pos_ >= end_ || buffer.empty()) {
        return chunk;
    }
    std::uint64_t until = end_;
    if (sparse_) {
        const std::uint64_t data = nextData(fd_.get(), pos_, end_);
        if (data > pos_) {
            chunk.hole = data - pos_;
            pos_ = data;
            return chunk;
        }
        until = nextHole(fd_.get(), pos_, end_);
    }
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), until - pos_));
    for (;;) {
        ssize_t n = ::pread(fd_.get(), buffer.data(), want, static_cast<off_t>(pos_));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return systemError(errno, "cannot read volume '" + path_ + "'");
        }
        if (n == 0) {
            end_ = pos_;  // the file got shorter meanwhile: that is its end now
        }
        chunk.data = static_cast<std::size_t>(n);
        pos_ += chunk.data;
        return chunk;
    }
}

}  // namespace corral::drivers::storage
