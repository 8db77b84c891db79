// SPDX-License-Identifier: LGPL-2.1-or-later
// DaemonPaths: layout and directory creation.
#include "daemon/paths.hpp"

#include <sys/stat.h>

#include <cerrno>

#include "util/files.hpp"

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

Result<void> DaemonPaths::createDirectories() const {
    CORRAL_TRY(makeDirectories(stateDir, 0700));
    CORRAL_TRY(makeDirectories(runDir, 0755));
    CORRAL_TRY(makeDirectories(logDir, 0700));
    CORRAL_TRY(makeDirectories(configDir, 0755));
    return {};
}

}  // namespace corral::daemon
