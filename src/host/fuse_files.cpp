// SPDX-License-Identifier: LGPL-2.1-or-later
// The kernel side of FUSE, answered by hand: a root directory holding a fixed list of read-only
// files whose content is generated when they are opened. Request and reply layouts are the ones
// of <linux/fuse.h>.
#include "host/fuse_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace corral::host {

namespace {

// Inode numbers: the root is FUSE_ROOT_ID, file i (0-based) is node kFirstFileNode + i.
constexpr std::uint64_t kFirstFileNode = FUSE_ROOT_ID + 1;

// Nothing here ever changes shape, but content does: names and attributes may be cached a
// second (sizes are not used anyway, see FOPEN_DIRECT_IO below).
constexpr std::uint64_t kCacheSeconds = 1;

// The kernel refuses a read(2) on /dev/fuse with a buffer smaller than
// max(FUSE_MIN_READ_BUFFER, in_header + write_in + max_write): we announce the smallest
// max_write it accepts (we take no writes) and keep room for the longest non-write request
// (SETXATTR with a 64 KiB value, which we refuse but must be able to read).
constexpr std::uint32_t kMaxWrite = 4096;
constexpr std::size_t kBufferSize = 64 * 1024 + 4096 + FUSE_MIN_READ_BUFFER;

/// The request's argument as a struct, when the kernel sent at least that much.
template <class T>
bool argAs(const char* arg, std::size_t size, T& out) {
    if (size < sizeof(T)) {
        return false;
    }
    std::memcpy(&out, arg, sizeof(T));
    return true;
}

}  // namespace

Result<std::unique_ptr<FuseFiles>> FuseFiles::mount(const std::string& directory, std::vector<FuseFile> files) {
    UniqueFd fd(::open("/dev/fuse", O_RDWR | O_CLOEXEC | O_NONBLOCK));
    if (!fd) {
        if (errno == ENOENT || errno == ENODEV || errno == ENXIO) {
            return fail(ErrorCode::OperationUnsupported,
                        "cannot open '/dev/fuse': the kernel has no FUSE support (modprobe fuse)");
        }
        return failErrno(errno, "cannot open '/dev/fuse'");
    }
    // rootmode is octal (S_IFDIR); user_id/group_id name who mounted it, in this user namespace.
    std::string options = "fd=" + std::to_string(fd.get()) + ",rootmode=40000,user_id=" +
                          std::to_string(::geteuid()) + ",group_id=" + std::to_string(::getegid()) +
                          ",allow_other,default_permissions";
    // MS_RDONLY makes the VFS refuse every write with EROFS before it reaches us.
    unsigned long flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (::mount("corral", directory.c_str(), "fuse", flags, options.c_str()) != 0) {
        return failErrno(errno, "cannot mount a FUSE file system on '" + directory + "'");
    }
    return std::unique_ptr<FuseFiles>(new FuseFiles(std::move(fd), directory, std::move(files), true));
}

std::unique_ptr<FuseFiles> FuseFiles::serve(UniqueFd connection, std::vector<FuseFile> files) {
    return std::unique_ptr<FuseFiles>(new FuseFiles(std::move(connection), "(no mount)", std::move(files), false));
}

FuseFiles::FuseFiles(UniqueFd fd, std::string directory, std::vector<FuseFile> files, bool mounted)
    : fd_(std::move(fd)), directory_(std::move(directory)), files_(std::move(files)),
      // Every node has the same times: the mount's birth is as true as any other.
      born_(static_cast<std::uint64_t>(::time(nullptr))),
      mounted_(mounted),
      buffer_(kBufferSize) {}

FuseFiles::~FuseFiles() { (void)unmount(); }

Result<void> FuseFiles::unmount() {
    if (!mounted_) {
        return {};
    }
    // EINVAL: no longer a mount point (someone unmounted it already).
    if (::umount2(directory_.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
        return failErrno(errno, "cannot unmount the FUSE file system on '" + directory_ + "'");
    }
    mounted_ = false;
    return {};
}

const FuseFile* FuseFiles::fileOf(std::uint64_t nodeid) const {
    if (nodeid < kFirstFileNode || nodeid - kFirstFileNode >= files_.size()) {
        return nullptr;
    }
    return &files_[nodeid - kFirstFileNode];
}

Result<FuseEvent> FuseFiles::handleRequest() {
    ssize_t n = ::read(fd_.get(), buffer_.data(), buffer_.size());
    if (n < 0) {
        switch (errno) {
            case EAGAIN:
            case EINTR:
            case ENOENT:  // the request was interrupted and withdrawn before we read it
                return FuseEvent::NoRequest;
            case ENODEV:  // unmounted, or the connection was aborted
                mounted_ = false;
                return FuseEvent::Unmounted;
            default:
                return failErrno(errno, "cannot read a FUSE request for '" + directory_ + "'");
        }
    }
    fuse_in_header in{};
    if (static_cast<std::size_t>(n) < sizeof in) {
        return fail(ErrorCode::InternalError, "short FUSE request for '" + directory_ + "'");
    }
    std::memcpy(&in, buffer_.data(), sizeof in);
    if (in.len != static_cast<std::uint32_t>(n)) {
        return fail(ErrorCode::InternalError, "FUSE request for '" + directory_ + "' of " + std::to_string(n) +
                                                  " bytes says it has " + std::to_string(in.len));
    }
    replyErrno_ = 0;
    if (in.opcode == FUSE_DESTROY) {
        // Only sent to file systems that ask for it (fuseblk); the connection ends after it.
        mounted_ = false;
        return FuseEvent::Unmounted;
    }
    dispatch(in.opcode, in.unique, in.nodeid, buffer_.data() + sizeof in, static_cast<std::size_t>(n) - sizeof in);
    if (replyErrno_ == ENODEV) {
        mounted_ = false;
        return FuseEvent::Unmounted;
    }
    if (replyErrno_ != 0) {
        return failErrno(replyErrno_, "cannot answer a FUSE request for '" + directory_ + "'");
    }
    return FuseEvent::Handled;
}

void FuseFiles::dispatch(std::uint32_t opcode, std::uint64_t unique, std::uint64_t nodeid, const char* arg,
                         std::size_t argSize) {
    auto attrOf = [&](std::uint64_t node, const FuseFile* file) {
        fuse_attr a{};
        a.ino = node;
        a.atime = a.mtime = a.ctime = born_;
        // Size 0, as /proc reports: the text is only known when it is generated at open.
        a.mode = file != nullptr ? S_IFREG | (file->mode & 07777) : S_IFDIR | 0555;
        a.nlink = file != nullptr ? 1 : 2;
        a.blksize = 4096;
        return a;
    };
    auto isDirectory = [&](std::uint64_t node) { return node == FUSE_ROOT_ID; };

    switch (opcode) {
        case FUSE_INIT: {
            fuse_init_in init{};
            if (!argAs(arg, argSize, init)) {
                return replyError(unique, EINVAL);
            }
            fuse_init_out out{};
            // The kernel only speaks major 7; it adapts to the minor we name.
            out.major = FUSE_KERNEL_VERSION;
            out.minor = std::min<std::uint32_t>(init.minor, FUSE_KERNEL_MINOR_VERSION);
            out.max_readahead = init.max_readahead;
            out.flags = 0;  // no optional feature: no writes, no locks, no readdirplus
            out.max_background = 1;
            out.congestion_threshold = 1;
            out.max_write = kMaxWrite;
            out.time_gran = 1000000000;  // whole seconds
            return reply(unique, &out, sizeof out);
        }
        case FUSE_LOOKUP: {
            // The name is NUL-terminated after the header.
            std::string name(arg, ::strnlen(arg, argSize));
            if (!isDirectory(nodeid)) {
                return replyError(unique, ENOTDIR);
            }
            for (std::size_t i = 0; i < files_.size(); ++i) {
                if (files_[i].name == name) {
                    fuse_entry_out out{};
                    out.nodeid = kFirstFileNode + i;
                    out.entry_valid = kCacheSeconds;
                    out.attr_valid = kCacheSeconds;
                    out.attr = attrOf(out.nodeid, &files_[i]);
                    return reply(unique, &out, sizeof out);
                }
            }
            return replyError(unique, ENOENT);
        }
        case FUSE_GETATTR: {
            const FuseFile* file = fileOf(nodeid);
            if (file == nullptr && !isDirectory(nodeid)) {
                return replyError(unique, ENOENT);
            }
            fuse_attr_out out{};
            out.attr_valid = kCacheSeconds;
            out.attr = attrOf(nodeid, file);
            return reply(unique, &out, sizeof out);
        }
        case FUSE_OPEN: {
            fuse_open_in open{};
            const FuseFile* file = fileOf(nodeid);
            if (!argAs(arg, argSize, open) || file == nullptr) {
                return replyError(unique, isDirectory(nodeid) ? EISDIR : ENOENT);
            }
            if ((open.flags & O_ACCMODE) != O_RDONLY || (open.flags & O_TRUNC) != 0) {
                return replyError(unique, EROFS);  // the mount is read-only; this is a second lock
            }
            if (open_.size() >= kMaxOpenFiles) {
                return replyError(unique, ENFILE);
            }
            auto text = file->content ? file->content() : Result<std::string>(std::string());
            if (!text) {
                return replyError(unique, EIO);
            }
            fuse_open_out out{};
            out.fh = nextHandle_++;
            // Direct I/O: every read comes to us and the kernel ignores the size we gave (0),
            // so each open sees the text of its own generation, of whatever length.
            out.open_flags = FOPEN_DIRECT_IO;
            open_.emplace(out.fh, std::move(*text));
            return reply(unique, &out, sizeof out);
        }
        case FUSE_READ: {
            fuse_read_in read{};
            if (!argAs(arg, argSize, read)) {
                return replyError(unique, EINVAL);
            }
            auto it = open_.find(read.fh);
            if (it == open_.end()) {
                return replyError(unique, EBADF);
            }
            const std::string& text = it->second;
            std::size_t offset = std::min<std::uint64_t>(read.offset, text.size());
            std::size_t size = std::min<std::size_t>(read.size, text.size() - offset);
            return reply(unique, text.data() + offset, size);
        }
        case FUSE_RELEASE: {
            fuse_release_in release{};
            if (argAs(arg, argSize, release)) {
                open_.erase(release.fh);
            }
            return reply(unique, nullptr, 0);
        }
        case FUSE_OPENDIR: {
            if (!isDirectory(nodeid)) {
                return replyError(unique, ENOTDIR);
            }
            fuse_open_out out{};  // fh 0: the listing needs no state
            return reply(unique, &out, sizeof out);
        }
        case FUSE_READDIR: {
            fuse_read_in read{};
            if (!argAs(arg, argSize, read) || !isDirectory(nodeid)) {
                return replyError(unique, ENOTDIR);
            }
            // Entry k is ".", "..", then the files; each says the offset of the next one.
            std::string out;
            for (std::uint64_t k = read.offset; k < files_.size() + 2; ++k) {
                std::string name = k == 0 ? "." : k == 1 ? ".." : files_[k - 2].name;
                fuse_dirent d{};
                d.ino = k < 2 ? FUSE_ROOT_ID : kFirstFileNode + (k - 2);
                d.off = k + 1;
                d.namelen = static_cast<std::uint32_t>(name.size());
                d.type = k < 2 ? DT_DIR : DT_REG;
                std::size_t record = FUSE_DIRENT_SIZE(&d);
                if (out.size() + record > read.size) {
                    break;
                }
                std::size_t at = out.size();
                out.resize(at + record, '\0');
                std::memcpy(out.data() + at, &d, FUSE_NAME_OFFSET);
                std::memcpy(out.data() + at + FUSE_NAME_OFFSET, name.data(), name.size());
            }
            return reply(unique, out.data(), out.size());
        }
        case FUSE_RELEASEDIR:
        case FUSE_FLUSH:
            return reply(unique, nullptr, 0);
        case FUSE_ACCESS: {
            fuse_access_in access{};
            if (argAs(arg, argSize, access) && (access.mask & W_OK) != 0) {
                return replyError(unique, EROFS);
            }
            return reply(unique, nullptr, 0);
        }
        case FUSE_STATFS: {
            fuse_statfs_out out{};
            out.st.files = files_.size() + 1;
            out.st.bsize = 4096;
            out.st.frsize = 4096;
            out.st.namelen = 255;
            return reply(unique, &out, sizeof out);
        }
        case FUSE_FORGET:
        case FUSE_BATCH_FORGET:
        case FUSE_INTERRUPT:
            // No reply: the kernel expects none. Nodes are static (nothing to forget) and every
            // request is answered before the next is read (nothing to interrupt).
            return;
        default:
            // GETXATTR, LISTXATTR and anything newer: the kernel remembers ENOSYS and stops asking.
            return replyError(unique, ENOSYS);
    }
}

void FuseFiles::reply(std::uint64_t unique, const void* data, std::size_t size) {
    fuse_out_header out{};
    out.len = static_cast<std::uint32_t>(sizeof out + size);
    out.unique = unique;
    iovec iov[2] = {{&out, sizeof out}, {const_cast<void*>(data), size}};  // writev takes non-const
    // The kernel takes a reply in one write or not at all.
    if (::writev(fd_.get(), iov, size == 0 ? 1 : 2) < 0 && errno != ENOENT) {
        // ENOENT: the request was interrupted and is gone; nobody waits for this answer.
        replyErrno_ = errno;
    }
}

void FuseFiles::replyError(std::uint64_t unique, int err) {
    fuse_out_header out{};
    out.len = sizeof out;
    out.error = -err;
    out.unique = unique;
    if (::write(fd_.get(), &out, sizeof out) < 0 && errno != ENOENT) {
        replyErrno_ = errno;
    }
}

}  // namespace corral::host
