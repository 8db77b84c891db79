// SPDX-License-Identifier: LGPL-2.1-or-later
// DaemonPaths: layout and directory creation.
#include "daemon/paths.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "util/files.hpp"
#include "util/strings.hpp"

namespace corral::daemon {

DaemonPaths DaemonPaths::forRoot(const std::string& rootIn) {
    DaemonPaths p;
    std::string root = rootIn;
    while (root.size() > 1 && root.back() == '/') {
        root.pop_back();
    }
    p.root = root;
    if (root.empty()) {
        p.configDir = "/etc/corral";
        p.stateDir = "/var/lib/corral";
        p.runDir = "/run/corral";
        p.logDir = "/var/log/corral";
        p.pkiDir = "/etc/pki";
    } else {
        p.configDir = root + "/etc/corral";
        p.stateDir = root + "/lib/corral";
        p.runDir = root + "/run/corral";
        p.logDir = root + "/log/corral";
        p.pkiDir = root + "/etc/pki";
    }
    p.rwSocket = p.runDir + "/corral-sock";
    p.roSocket = p.runDir + "/corral-sock-ro";
    p.storeFile = p.stateDir + "/corral.db";
    p.configFile = p.configDir + "/corrald.conf";
    p.pidFile = p.runDir + "/corrald.pid";
    p.lockFile = p.stateDir + "/corrald.lock";
    return p;
}

Result<void> DaemonPaths::createDirectories() const {
    CORRAL_TRY(makeDirectories(stateDir, 0700));
    CORRAL_TRY(makeDirectories(runDir, 0755));
    CORRAL_TRY(makeDirectories(logDir, 0700));
    CORRAL_TRY(makeDirectories(configDir, 0755));
    return {};
}

// The lock is on a file of the state directory, not on the sockets: a daemon that finds the
// sockets of another one has already opened the store and reconnected (or killed) its guests.
// flock() locks go with the open file description, so the kernel drops this one when the
// daemon exits however it exits, and no stale lock survives a kill -9.
Result<UniqueFd> DaemonPaths::lockTree() const {
    CORRAL_TRY(makeDirectories(stateDir, 0700));
    UniqueFd fd(::open(lockFile.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) {
        return failErrno(errno, "cannot open the lock file '" + lockFile + "'");
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            return failErrno(errno, "cannot lock '" + lockFile + "'");
        }
        // The holder wrote its pid there; best effort, only for the message.
        char buf[32] = {};
        ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
        std::string holder = n > 0 ? std::string(trimString(std::string_view(buf, static_cast<std::size_t>(n)))) : "";
        return fail(ErrorCode::OperationFailed,
                    "another daemon is already running on '" + (root.empty() ? std::string("/") : root) + "'" +
                        (holder.empty() ? "" : " (pid " + holder + ")") + ": '" + lockFile +
                        "' is locked; nothing was changed");
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        return failErrno(errno, "cannot write the lock file '" + lockFile + "'");
    }
    return fd;
}

}  // namespace corral::daemon
