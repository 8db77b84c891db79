// SPDX-License-Identifier: LGPL-2.1-or-later
// Volume files: probing, creating, copying, resizing, wiping.
#include "drivers/storage/volume_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <vector>

#include "host/luks_image.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"
#include "util/unique_fd.hpp"

namespace corral::drivers::storage {

namespace {

constexpr std::uint32_t kQcow2Magic = 0x514649fb;  // "QFI\xfb"
constexpr std::uint32_t kQcow2BackingFormatExt = 0xe2792aca;
constexpr std::uint32_t kQcow2CryptLuks = 2;  // the header's crypt_method

Unexpected sysFail(int err, const std::string& message) {
    Error e = failErrno(err, message).error;
    e.domain = ErrorDomain::Storage;
    return unexpected(std::move(e));
}

Unexpected opFail(const std::string& message) {
    return fail(ErrorCode::OperationFailed, message, ErrorDomain::Storage);
}

std::uint64_t be(const unsigned char* p, int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) {
        v = v << 8 | p[i];
    }
    return v;
}

/// Reads up to `n` bytes at `offset`; fewer at the end of the file.
std::vector<unsigned char> readAt(int fd, std::uint64_t offset, std::size_t n) {
    std::vector<unsigned char> buf(n);
    ssize_t got = ::pread(fd, buf.data(), n, static_cast<off_t>(offset));
    buf.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
    return buf;
}

/// The qcow2 header's facts (a file that starts with the magic but is cut short stays raw).
void probeQcow2(int fd, VolumeFacts& facts) {
    auto h = readAt(fd, 0, 112);
    if (h.size() < 72 || be(h.data(), 4) != kQcow2Magic) {
        return;
    }
    const auto version = be(h.data() + 4, 4);
    if (version != 2 && version != 3) {
        return;
    }
    facts.format = "qcow2";
    facts.capacity = be(h.data() + 24, 8);
    if (be(h.data() + 32, 4) == kQcow2CryptLuks) {
        facts.encryption = "luks";
    }
    facts.compat = version == 2 ? "0.10" : "1.1";
    std::uint64_t headerLength = 72;
    if (version == 3 && h.size() >= 104) {
        facts.lazyRefcounts = (be(h.data() + 80, 8) & 1u) != 0;
        headerLength = be(h.data() + 100, 4);
    }
    const auto backingOffset = be(h.data() + 8, 8);
    const auto backingSize = be(h.data() + 16, 4);
    if (backingOffset != 0 && backingSize > 0 && backingSize <= 1023) {
        auto name = readAt(fd, backingOffset, backingSize);
        facts.backingPath.assign(name.begin(), name.end());
        facts.backingFormat = "raw";  // qemu's default when no extension names one
    }
    // Header extensions: type, length, data padded to 8 bytes; type 0 ends them.
    std::uint64_t at = headerLength;
    for (int i = 0; i < 64; ++i) {
        auto ext = readAt(fd, at, 8);
        if (ext.size() < 8) {
            break;
        }
        const auto type = be(ext.data(), 4);
        const auto len = be(ext.data() + 4, 4);
        if (type == 0 || len > 65536) {
            break;
        }
        if (type == kQcow2BackingFormatExt && len < 32) {
            auto fmt = readAt(fd, at + 8, len);
            facts.backingFormat.assign(fmt.begin(), fmt.end());
        }
        at += 8 + ((len + 7) & ~std::uint64_t{7});
    }
}

/// A raw file that is a LUKS (version 1, what qemu-img makes) image: the guest sees what follows
/// the header, so that is its capacity. The guest writes only the decrypted payload, never the
/// header, so what the header says is the creator's.
void probeLuks(int fd, VolumeFacts& facts) {
    auto h = readAt(fd, 0, 108);
    static constexpr unsigned char kMagic[6] = {'L', 'U', 'K', 'S', 0xba, 0xbe};
    if (h.size() < 108 || !std::equal(std::begin(kMagic), std::end(kMagic), h.begin()) || be(h.data() + 6, 2) != 1) {
        return;
    }
    const std::uint64_t payload = be(h.data() + 104, 4) * 512;
    if (payload <= facts.physical) {
        facts.encryption = "luks";
        facts.capacity = facts.physical - payload;
    }
}

/// The new file `name` in `dir`: O_EXCL and O_NOFOLLOW, so neither an existing file nor a
/// symbolic link planted under that name is written through.
Result<UniqueFd> createExclusive(const std::string& dir, const std::string& name, mode_t mode) {
    UniqueFd dirFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dirFd) {
        return sysFail(errno, "cannot open pool directory '" + dir + "'");
    }
    UniqueFd fd(::openat(dirFd.get(), name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (!fd) {
        if (errno == EEXIST) {
            return fail(ErrorCode::StorageVolExist, "'" + name + "'", ErrorDomain::Storage);
        }
        return sysFail(errno, "cannot create volume '" + dir + "/" + name + "'");
    }
    return fd;
}

Result<void> applyPermsFd(int fd, const std::string& path, const conf::StoragePerms& perms) {
    if (perms.uid || perms.gid) {
        if (::fchown(fd, perms.uid ? *perms.uid : static_cast<uid_t>(-1), perms.gid ? *perms.gid : static_cast<gid_t>(-1)) !=
            0) {
            return sysFail(errno, "cannot set the owner of '" + path + "'");
        }
    }
    if (perms.mode && ::fchmod(fd, *perms.mode) != 0) {
        return sysFail(errno, "cannot set the mode of '" + path + "'");
    }
    return {};
}

Result<void> runQemuImg(std::vector<std::string> args, const std::string& what) {
    args.insert(args.begin(), "qemu-img");
    CORRAL_ASSIGN_OR_RETURN(CommandResult r, runCommand(args));
    if (r.exitStatus != 0) {
        return opFail(what + ": qemu-img failed: " + std::string(trimString(r.output)));
    }
    return {};
}

/// qemu-img's -o options for a new qcow2 file.
std::string qcow2Options(const conf::StorageVolDef& def, bool preallocMetadata) {
    std::string o = "compat=" + (def.compat.empty() ? std::string("1.1") : def.compat);
    if (def.lazyRefcounts) {
        o += ",lazy_refcounts=on";
    }
    if (preallocMetadata) {
        o += ",preallocation=metadata";
    }
    return o;
}

Result<void> fillRaw(int fd, const std::string& path, std::uint64_t capacity, std::uint64_t allocate) {
    if (::ftruncate(fd, static_cast<off_t>(capacity)) != 0) {
        return sysFail(errno, "cannot set the size of '" + path + "'");
    }
    if (allocate > 0 && ::posix_fallocate(fd, 0, static_cast<off_t>(std::min(allocate, capacity))) != 0) {
        return sysFail(errno, "cannot allocate " + std::to_string(allocate) + " bytes for '" + path + "'");
    }
    return {};
}

}  // namespace

Result<VolumeFacts> probeVolume(const std::string& dir, const std::string& name, const std::string& knownFormat) {
    const std::string path = dir + "/" + name;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd) {
        if (errno == ELOOP) {
            return fail(ErrorCode::OperationInvalid, "'" + path + "' is a symbolic link", ErrorDomain::Storage);
        }
        return sysFail(errno, "cannot open volume '" + path + "'");
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return sysFail(errno, "cannot stat volume '" + path + "'");
    }
    if (!S_ISREG(st.st_mode)) {
        return fail(ErrorCode::OperationInvalid, "'" + path + "' is not a regular file", ErrorDomain::Storage);
    }
    VolumeFacts facts;
    facts.format = "raw";
    facts.physical = static_cast<std::uint64_t>(st.st_size);
    facts.capacity = facts.physical;
    facts.allocated = static_cast<std::uint64_t>(st.st_blocks) * 512;
    facts.mode = st.st_mode & 07777;
    facts.uid = st.st_uid;
    facts.gid = st.st_gid;
    if (knownFormat.empty() || knownFormat == "qcow2") {
        probeQcow2(fd.get(), facts);
    }
    if (facts.format == "raw") {
        probeLuks(fd.get(), facts);
    }
    return facts;
}

Result<void> applyPermissions(const std::string& path, const conf::StoragePerms& perms) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd) {
        return sysFail(errno, "cannot open '" + path + "'");
    }
    return applyPermsFd(fd.get(), path, perms);
}

Result<void> createEncryptedVolumeFile(const std::string& dir, const conf::StorageVolDef& def,
                                       std::span<const std::uint8_t> passphrase) {
    const std::string path = dir + "/" + def.name;
    host::LuksImageRequest request;
    request.path = path;
    request.format = def.format == "qcow2" ? "qcow2" : "luks";
    request.capacityBytes = def.capacity;
    request.passphrase = passphrase;
    // It refuses a name that exists (a planted link included) rather than write through it.
    CORRAL_TRY(host::createLuksImage(request));
    auto done = [&]() -> Result<void> {
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
        if (!fd) {
            return sysFail(errno, "cannot open volume '" + path + "'");
        }
        conf::StoragePerms perms = def.perms;
        if (!perms.mode) {
            perms.mode = 0600;
        }
        return applyPermsFd(fd.get(), path, perms);
    }();
    if (!done) {
        ::unlink(path.c_str());
    }
    return done;
}

Result<void> createVolumeFile(const std::string& dir, const conf::StorageVolDef& def, bool preallocMetadata) {
    const std::string path = dir + "/" + def.name;
    CORRAL_ASSIGN_OR_RETURN(UniqueFd fd, createExclusive(dir, def.name, 0600));
    auto made = [&]() -> Result<void> {
        if (def.format == "raw") {
            CORRAL_TRY(fillRaw(fd.get(), path, def.capacity, def.allocation.value_or(0)));
        } else {
            // qemu-img writes the file corrald made (and owns, mode 0600) by its path.
            std::vector<std::string> args = {"create", "-q", "-f", "qcow2", "-o", qcow2Options(def, preallocMetadata)};
            if (!def.backingPath.empty()) {
                args.insert(args.end(), {"-b", def.backingPath, "-F",
                                         def.backingFormat.empty() ? std::string("raw") : def.backingFormat});
            }
            args.insert(args.end(), {path, std::to_string(def.capacity)});
            CORRAL_TRY(runQemuImg(std::move(args), "creating volume '" + def.name + "'"));
        }
        conf::StoragePerms perms = def.perms;
        if (!perms.mode) {
            perms.mode = 0600;
        }
        return applyPermsFd(fd.get(), path, perms);
    }();
    if (!made) {
        ::unlink(path.c_str());
    }
    return made;
}

Result<void> copyVolumeFile(const std::string& dir, const conf::StorageVolDef& def, const std::string& sourcePath,
                            const std::string& sourceFormat, bool preallocMetadata) {
    const std::string path = dir + "/" + def.name;
    CORRAL_ASSIGN_OR_RETURN(UniqueFd fd, createExclusive(dir, def.name, 0600));
    auto made = [&]() -> Result<void> {
        // -n: write into the file made above rather than create one at the path again.
        std::vector<std::string> args = {"convert", "-q", "-n", "-f", sourceFormat, "-O", def.format};
        if (def.format == "qcow2") {
            // convert -n needs the target to exist with its format and size first.
            std::vector<std::string> create = {"create", "-q", "-f", "qcow2", "-o", qcow2Options(def, preallocMetadata)};
            if (!def.backingPath.empty()) {
                create.insert(create.end(), {"-b", def.backingPath, "-F",
                                             def.backingFormat.empty() ? std::string("raw") : def.backingFormat});
                args.insert(args.end(), {"-B", def.backingPath});
            }
            create.insert(create.end(), {path, std::to_string(def.capacity)});
            CORRAL_TRY(runQemuImg(std::move(create), "creating volume '" + def.name + "'"));
        } else {
            CORRAL_TRY(fillRaw(fd.get(), path, def.capacity, 0));
        }
        args.insert(args.end(), {sourcePath, path});
        CORRAL_TRY(runQemuImg(std::move(args), "copying '" + sourcePath + "' to volume '" + def.name + "'"));
        conf::StoragePerms perms = def.perms;
        if (!perms.mode) {
            perms.mode = 0600;
        }
        return applyPermsFd(fd.get(), path, perms);
    }();
    if (!made) {
        ::unlink(path.c_str());
    }
    return made;
}

Result<void> resizeVolumeFile(const std::string& path, const std::string& format, std::uint64_t capacity,
                              bool allocate) {
    if (format == "raw") {
        UniqueFd fd(::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) {
            return sysFail(errno, "cannot open volume '" + path + "'");
        }
        return fillRaw(fd.get(), path, capacity, allocate ? capacity : 0);
    }
    return runQemuImg({"resize", "-q", "--shrink", "-f", format, path, std::to_string(capacity)},
                      "resizing volume '" + path + "'");
}

Result<void> wipeVolumeFile(const std::string& dir, const std::string& name, const VolumeFacts& facts) {
    const std::string path = dir + "/" + name;
    if (facts.format == "qcow2") {
        conf::StorageVolDef def;
        def.name = name;
        def.format = "qcow2";
        def.capacity = facts.capacity;
        def.compat = facts.compat;
        def.lazyRefcounts = facts.lazyRefcounts;
        def.backingPath = facts.backingPath;
        def.backingFormat = facts.backingFormat;
        std::vector<std::string> args = {"create", "-q", "-f", "qcow2", "-o", qcow2Options(def, false)};
        if (!def.backingPath.empty()) {
            args.insert(args.end(), {"-b", def.backingPath, "-F", def.backingFormat});
        }
        args.insert(args.end(), {path, std::to_string(def.capacity)});
        return runQemuImg(std::move(args), "wiping volume '" + name + "'");
    }
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        return sysFail(errno, "cannot open volume '" + path + "'");
    }
    // Only the allocated extents need zeroes: walk them with SEEK_DATA / SEEK_HOLE.
    static const std::vector<char> zeros(1 << 20, 0);
    const auto end = static_cast<off_t>(facts.physical);
    off_t pos = 0;
    while (pos < end) {
        off_t data = ::lseek(fd.get(), pos, SEEK_DATA);
        if (data < 0) {
            break;  // ENXIO: no data after pos
        }
        off_t hole = ::lseek(fd.get(), data, SEEK_HOLE);
        if (hole < 0) {
            hole = end;
        }
        for (off_t at = data; at < hole;) {
            const auto n = static_cast<std::size_t>(std::min<off_t>(hole - at, static_cast<off_t>(zeros.size())));
            ssize_t w = ::pwrite(fd.get(), zeros.data(), n, at);
            if (w <= 0) {
                return sysFail(errno, "cannot wipe volume '" + path + "'");
            }
            at += w;
        }
        pos = hole;
    }
    if (::fsync(fd.get()) != 0) {
        return sysFail(errno, "cannot wipe volume '" + path + "'");
    }
    return {};
}

}  // namespace corral::drivers::storage
