// SPDX-License-Identifier: LGPL-2.1-or-later
// DaemonPaths: layout and directory creation.
#include "daemon/paths.hpp"

#include <sys/stat.h>

#include <cerrno>

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
    return p;
}

namespace {
Result<void> makeDirs(const std::string& path, mode_t mode) {
    // mkdir -p: create each missing component; existing ones are left as they are.
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
}  // namespace

Result<void> DaemonPaths::createDirectories() const {
    CORRAL_TRY(makeDirs(stateDir, 0700));
    CORRAL_TRY(makeDirs(runDir, 0755));
    CORRAL_TRY(makeDirs(logDir, 0700));
    CORRAL_TRY(makeDirs(configDir, 0755));
    return {};
}

}  // namespace corral::daemon
