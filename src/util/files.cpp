// SPDX-License-Identifier: LGPL-2.1-or-later
#include "util/files.hpp"

#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "util/name_escape.hpp"
#include "util/unique_fd.hpp"

namespace corral {

Result<void> makeDirectories(const std::string& path, mode_t mode) {
    for (std::size_t pos = 1; pos <= path.size(); ++pos) {
        if (pos != path.size() && path[pos] != '/') {
            continue;
        }
        std::string part = path.substr(0, pos);
        if (::mkdir(part.c_str(), mode) != 0 && errno != EEXIST) {
            return failErrno(errno, "cannot create directory '" + part + "'");
        }
    }
    return {};
}

namespace {

/// The mode check both secret readers share.
Result<void> ownerOnly(const struct stat& st, const std::string& path, std::string_view what) {
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        // A system error (its wire message is the message alone), as the TLS key check always
        // reported it.
        return fail(ErrorCode::SystemError, std::string(what) + " '" + path +
                                                "' is accessible by group or others (mode " + mode +
                                                "); restrict it with 'chmod 600 " + path + "'");
    }
    return {};
}

Result<std::string> readAll(int fd, const std::string& path) {
    std::string content;
    char buf[4096];
    while (true) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return failErrno(errno, "cannot read '" + path + "'");
        }
        if (n == 0) {
            return content;
        }
        content.append(buf, static_cast<std::size_t>(n));
    }
}

}  // namespace

Result<void> requireOwnerOnlyAccess(const std::string& path, std::string_view what) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return failErrno(errno, "cannot access " + std::string(what) + " '" + path + "'");
    }
    return ownerOnly(st, path, what);
}

Result<std::string> readPrivateFile(const std::string& path, std::string_view what) {
    // One open, and every check on what was opened: the file cannot be swapped in between.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0) {
        return failErrno(errno, "cannot access " + std::string(what) + " '" + path + "'");
    }
    if (!S_ISREG(st.st_mode)) {
        return fail(ErrorCode::SystemError, std::string(what) + " '" + path + "' is not a regular file");
    }
    if (st.st_uid != ::geteuid() && st.st_uid != 0) {
        return fail(ErrorCode::SystemError, std::string(what) + " '" + path + "' belongs to uid " +
                                                std::to_string(st.st_uid) + ", neither root nor this process's user");
    }
    CORRAL_TRY(ownerOnly(st, path, what));
    return readAll(fd.get(), path);
}

Result<std::string> readTextFile(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return failErrno(errno, "cannot read '" + path + "'");
    }
    return readAll(fd.get(), path);
}

Result<void> writeKernelFile(const std::string& path, std::string_view content) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) {
        return failErrno(errno, "cannot open '" + path + "' for writing");
    }
    ssize_t n;
    do {
        n = ::write(fd.get(), content.data(), content.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return failErrno(errno, "cannot write '" + std::string(content) + "' to '" + path + "'");
    }
    return {};
}

Result<void> writeFileAtomically(const std::string& path, std::string_view content, mode_t mode) {
    std::string tmp = path + ".new";
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (!fd) {
        return failErrno(errno, "cannot write '" + path + "'");
    }
    if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()) ||
        ::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return failErrno(err, "cannot write '" + path + "'");
    }
    return {};
}

void moveLegacyFile(const std::string& dir, std::string_view name, std::string_view suffix) {
    const auto legacy = legacyPathComponent(name);
    if (!legacy) {
        return;
    }
    const std::string from = dir + "/" + *legacy + std::string(suffix);
    const std::string to = pathForName(dir, name, suffix);
    // Never over a file at the new path; a failure (nothing there) leaves things as they are.
    (void)::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE);
}

}  // namespace corral
