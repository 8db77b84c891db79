// SPDX-License-Identifier: LGPL-2.1-or-later
#include "security/dac_driver.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "util/logging.hpp"
#include "util/strings.hpp"
#include "util/unique_fd.hpp"

namespace corral::security {

namespace {

/// True when `uid`/`gid` may search directory `st` (the x bit of the class it falls in).
bool canSearch(const struct stat& st, uid_t uid, gid_t gid, const std::vector<gid_t>& groups) {
    if (st.st_uid == uid) {
        return (st.st_mode & S_IXUSR) != 0;
    }
    if (st.st_gid == gid || std::find(groups.begin(), groups.end(), st.st_gid) != groups.end()) {
        return (st.st_mode & S_IXGRP) != 0;
    }
    return (st.st_mode & S_IXOTH) != 0;
}

std::string octalMode(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

/// Where the inode open on `fd` is, every link resolved (the kernel's name for it).
Result<std::string> pathOfDescriptor(int fd, const std::string& path) {
    std::string link = "/proc/self/fd/" + std::to_string(fd);
    char buf[PATH_MAX];
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
    if (n <= 0 || static_cast<std::size_t>(n) >= sizeof buf || buf[0] != '/') {
        return fail(ErrorCode::OperationFailed, "cannot resolve '" + path + "' to the file it names",
                    ErrorDomain::Security);
    }
    return std::string(buf, static_cast<std::size_t>(n));
}

/// Opens `path` (O_PATH) without following any symbolic link on the way (openat2
/// RESOLVE_NO_SYMLINKS; on a kernel without openat2, O_NOFOLLOW for the last component).
UniqueFd openWithoutLinks(const std::string& path) {
    open_how how{};
    how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof how)));
    if (!fd && errno == ENOSYS) {
        fd.reset(::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    }
    return fd;
}

/// Whether `fd` is the inode `owner` journals: the same device and inode number, and still the
/// guest's (a number is reused as soon as its file is deleted: a new file with the same number
/// belongs to whoever created it).
bool isGivenInode(int fd, const OwnerJournal::Owner& owner) {
    struct stat st {};
    return fd >= 0 && ::fstat(fd, &st) == 0 && st.st_dev == owner.dev && st.st_ino == owner.ino &&
           st.st_uid == owner.givenUid && st.st_gid == owner.givenGid;
}

}  // namespace

Result<std::optional<UniqueFd>> DacDriver::openGivenInode(const std::string& path, const OwnerJournal::Owner& owner) {
    if (owner.target.empty()) {
        // Journaled by a corrald that recorded no inode: the path itself, never through a link.
        UniqueFd fd = openWithoutLinks(path);
        struct stat st {};
        if (!fd || ::fstat(fd.get(), &st) != 0) {
            if (errno == ENOENT) {
                return std::optional<UniqueFd>{};
            }
            return failErrno(errno, "cannot open it without following a link");
        }
        if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode)) {
            return fail(ErrorCode::OperationFailed, "it is not a file or a device (an older journal entry names no inode)",
                        ErrorDomain::Security);
        }
        return std::optional<UniqueFd>(std::move(fd));
    }
    // Where the inode was, with no link followed; then the path as the definition names it
    // (a disk's link may have been moved along with its file). Either only if it still leads to
    // the very inode that was given, still owned by the guest: a link re-pointed during the run,
    // or a file replaced, is left alone rather than given to someone else.
    UniqueFd fd = openWithoutLinks(owner.target);
    if (isGivenInode(fd.get(), owner)) {
        return std::optional<UniqueFd>(std::move(fd));
    }
    fd.reset(::open(path.c_str(), O_PATH | O_CLOEXEC));
    if (isGivenInode(fd.get(), owner)) {
        return std::optional<UniqueFd>(std::move(fd));
    }
    struct stat st {};
    if (::lstat(owner.target.c_str(), &st) != 0 && errno == ENOENT && ::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
        return std::optional<UniqueFd>{};
    }
    return fail(ErrorCode::OperationFailed,
                "neither '" + owner.target + "' nor '" + path + "' is still the file given to the guest (device " +
                    std::to_string(owner.dev) + ", inode " + std::to_string(owner.ino) + ", owned by " +
                    dacLabel(owner.givenUid, owner.givenGid) + "); left as it is",
                ErrorDomain::Security);
}

std::string dacLabel(uid_t uid, gid_t gid) { return "+" + std::to_string(uid) + ":+" + std::to_string(gid); }

Result<std::pair<uid_t, gid_t>> parseDacLabel(const std::string& label) {
    auto parts = splitString(label, ':');
    auto number = [](std::string s) -> std::optional<std::uint64_t> {
        if (!s.empty() && s[0] == '+') {
            s.erase(0, 1);
        }
        auto n = parseUnsigned(s);
        return n && *n < 0xffffffffULL ? n : std::nullopt;
    };
    if (parts.size() != 2 || !number(parts[0]) || !number(parts[1])) {
        return fail(ErrorCode::InvalidArg, "DAC label '" + label + "' is not '+UID:+GID'", ErrorDomain::Security);
    }
    return std::make_pair(static_cast<uid_t>(*number(parts[0])), static_cast<gid_t>(*number(parts[1])));
}

Result<std::pair<uid_t, gid_t>> DacDriver::chooseIdentity(const conf::DomainDef& def) {
    const conf::XmlNode* seclabel = seclabelFor(def, "dac");
    if (seclabel != nullptr && seclabel->attrOr("type") == "static") {
        return parseDacLabel(std::string(trimString(seclabel->childText("label"))));
    }
    if (config_.fixedUid) {
        return std::make_pair(*config_.fixedUid, config_.fixedGid.value_or(static_cast<gid_t>(*config_.fixedUid)));
    }
    // Start the search at a slot derived from the UUID: a guest tends to get the same uid each
    // run, and two daemons on one host (tests) rarely pick the same one.
    std::uint32_t start = 0;
    for (std::uint8_t b : def.uuid.bytes) {
        start = start * 31 + b;
    }
    std::lock_guard lock(mutex_);
    for (std::uint32_t i = 0; i < config_.idCount; ++i) {
        uid_t uid = config_.idMin + (start + i) % config_.idCount;
        if (!inUse_.contains(uid)) {
            inUse_.insert(uid);
            return std::make_pair(uid, static_cast<gid_t>(uid));
        }
    }
    return fail(ErrorCode::OperationFailed,
                "every guest identity of the range " + std::to_string(config_.idMin) + "-" +
                    std::to_string(config_.idMin + config_.idCount - 1) +
                    " is in use; raise guest_id_count in qemu.conf",
                ErrorDomain::Security);
}

void DacDriver::freeIdentity(uid_t uid) {
    std::lock_guard lock(mutex_);
    inUse_.erase(uid);
}

Result<void> DacDriver::prepare(const conf::DomainDef& def, const std::vector<GuestFile>& files,
                                GuestSecurity& security) {
    const conf::XmlNode* seclabel = seclabelFor(def, "dac");
    if (seclabel != nullptr && seclabel->attrOr("type") == "none") {
        // Unconfined by request: the process keeps root and no file changes hands.
        security.labels.push_back({"dac", "none", false, "", ""});
        return {};
    }
    CORRAL_ASSIGN_OR_RETURN(auto identity, chooseIdentity(def));
    auto [uid, gid] = identity;
    const bool relabel = seclabel == nullptr || seclabel->attrOr("relabel", "yes") == "yes";
    const std::string holder = def.uuid.toString();
    auto& plan = security.confinement;
    plan.changeIdentity = uid != 0 || gid != 0;
    plan.uid = uid;
    plan.gid = gid;
    plan.supplementaryGroups = config_.extraGroups;

    if (relabel && config_.dynamicOwnership && uid != 0) {
        for (const auto& file : files) {
            auto given = giveFile(file, holder, uid, gid);
            if (!given) {
                for (const auto& f : files) {
                    takeBack(f.path, holder);
                }
                if (!config_.fixedUid) {
                    freeIdentity(uid);
                }
                return given;
            }
        }
    }
    std::string type = seclabel != nullptr && seclabel->attrOr("type") == "static" ? "static" : "dynamic";
    security.labels.push_back({"dac", type, relabel, dacLabel(uid, gid), dacLabel(uid, gid)});
    return {};
}

Result<void> DacDriver::giveFile(const GuestFile& file, const std::string& holder, uid_t uid, gid_t gid) {
    if (!file.relabel || file.path.empty() || file.path[0] != '/') {
        return {};
    }
    // Every directory above the file must let the guest through, or QEMU fails later with a
    // bare "Permission denied": say which one and how to fix it now.
    for (std::size_t slash = file.path.find('/', 1); slash != std::string::npos; slash = file.path.find('/', slash + 1)) {
        std::string dir = file.path.substr(0, slash);
        struct stat dst {};
        if (::stat(dir.c_str(), &dst) == 0 && !canSearch(dst, uid, gid, config_.extraGroups)) {
            return fail(ErrorCode::OperationFailed,
                        "the guest's identity " + dacLabel(uid, gid) + " cannot reach '" + file.path + "': directory '" +
                            dir + "' is not searchable by it (chmod o+x '" + dir +
                            "', or set user and group in qemu.conf)",
                        ErrorDomain::Security);
        }
    }
    // One open, following links as QEMU's own open will; everything after acts on that inode,
    // so a link re-pointed between the check and the chown changes nothing.
    UniqueFd given(::open(file.path.c_str(), O_PATH | O_CLOEXEC));
    struct stat st {};
    if (!given || ::fstat(given.get(), &st) != 0) {
        return errno == ENOENT ? Result<void>{} : failErrno(errno, "cannot inspect '" + file.path + "'");
    }
    if (st.st_uid == uid && st.st_gid == gid) {
        return {};
    }
    if (file.shared && !file.write && (st.st_mode & S_IROTH) != 0) {
        return {};  // readable by everyone already: leave it to the guests sharing it
    }
    if (file.shared && st.st_uid >= config_.idMin && st.st_uid < config_.idMin + config_.idCount) {
        return fail(ErrorCode::OperationFailed,
                    "'" + file.path + "' is shared and already given to another running guest (" +
                        dacLabel(st.st_uid, st.st_gid) +
                        "); guests sharing a writable disk need one identity: set user and group in qemu.conf",
                    ErrorDomain::Security);
    }
    CORRAL_ASSIGN_OR_RETURN(std::string target, pathOfDescriptor(given.get(), file.path));
    OwnerJournal::Owner original{st.st_uid, st.st_gid, st.st_mode & 07777, st.st_dev, st.st_ino, target, uid, gid};
    if (!config_.rememberOwner) {
        original.uid = 0;  // as libvirt: without remembering, root gets it back
        original.gid = 0;
    }
    if (journal_ != nullptr) {
        CORRAL_TRY(journal_->remember(file.path, holder, original));
    }
    if (::fchownat(given.get(), "", uid, gid, AT_EMPTY_PATH) != 0) {
        int err = errno;
        if (journal_ != nullptr) {
            (void)journal_->release(file.path, holder);
        }
        return failErrno(err, "cannot give '" + file.path + "' to the guest's identity " + dacLabel(uid, gid));
    }
    return {};
}

void DacDriver::takeBack(const std::string& path, const std::string& holder) {
    if (journal_ == nullptr) {
        return;
    }
    auto original = journal_->release(path, holder);
    if (!original) {
        logError("cannot restore the owner of '" + path + "': " + original.error().wireMessage());
        return;
    }
    if (!*original) {
        return;  // another guest still uses it, or it was never given
    }
    const OwnerJournal::Owner& owner = **original;
    auto inode = openGivenInode(path, owner);
    if (!inode) {
        logError("not giving '" + path + "' back to " + dacLabel(owner.uid, owner.gid) + ": " +
                 inode.error().wireMessage());
        return;
    }
    if (!*inode) {
        return;  // the file is gone: nothing to give back
    }
    // The owner first: chown clears the set-user-ID and set-group-ID bits the mode may restore.
    // The mode through /proc/self/fd: fchmod refuses an O_PATH descriptor, and the magic link
    // names the inode itself, not a path that could be re-pointed.
    const int fd = (*inode)->get();
    const std::string self = "/proc/self/fd/" + std::to_string(fd);
    if (::fchownat(fd, "", owner.uid, owner.gid, AT_EMPTY_PATH) != 0 || ::chmod(self.c_str(), owner.mode) != 0) {
        logError("cannot give '" + path + "' back to " + dacLabel(owner.uid, owner.gid) + " with mode " +
                 octalMode(owner.mode) + ": " + std::strerror(errno));
    }
}

void DacDriver::release(const conf::DomainDef& liveDef, const std::vector<GuestFile>& files) {
    const std::string holder = liveDef.uuid.toString();
    for (const auto& file : files) {
        takeBack(file.path, holder);
    }
    // Anything journaled for this guest but no longer in its definition goes back too.
    if (journal_ != nullptr) {
        if (auto held = journal_->pathsHeldBy(holder)) {
            for (const auto& path : *held) {
                takeBack(path, holder);
            }
        }
    }
    const conf::XmlNode* seclabel = seclabelFor(liveDef, "dac");
    if (seclabel != nullptr && !config_.fixedUid) {
        if (auto id = parseDacLabel(std::string(trimString(seclabel->childText("label"))))) {
            freeIdentity(id->first);
        }
    }
}

Result<void> DacDriver::reserve(const conf::DomainDef& liveDef) {
    const conf::XmlNode* seclabel = seclabelFor(liveDef, "dac");
    if (seclabel == nullptr || seclabel->attrOr("type") == "none" || config_.fixedUid) {
        return {};
    }
    CORRAL_ASSIGN_OR_RETURN(auto id, parseDacLabel(std::string(trimString(seclabel->childText("label")))));
    std::lock_guard lock(mutex_);
    inUse_.insert(id.first);
    return {};
}

void DacDriver::restoreOrphans(const std::vector<std::string>& runningHolders) {
    if (journal_ == nullptr) {
        return;
    }
    auto holders = journal_->holders();
    if (!holders) {
        logError("cannot read the file-owner journal: " + holders.error().wireMessage());
        return;
    }
    for (const auto& holder : *holders) {
        if (std::find(runningHolders.begin(), runningHolders.end(), holder) != runningHolders.end()) {
            continue;
        }
        if (auto held = journal_->pathsHeldBy(holder)) {
            for (const auto& path : *held) {
                logInfo("giving '" + path + "' back to its owner: guest " + holder + " is no longer running");
                takeBack(path, holder);
            }
        }
    }
}

}  // namespace corral::security
