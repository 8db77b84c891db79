// SPDX-License-Identifier: LGPL-2.1-or-later
// DaemonPaths: every file and socket location of corrald, optionally under a --root prefix.
#pragma once

#include <string>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::daemon {

struct DaemonPaths {
    std::string root;        ///< "" for the system layout
    std::string configDir;   ///< etc/corral
    std::string stateDir;    ///< lib/corral
    std::string runDir;      ///< run/corral
    std::string logDir;      ///< log/corral
    std::string pkiDir;      ///< etc/pki (CA and certificates, libvirt's layout)
    std::string rwSocket;    ///< run/corral/corral-sock
    std::string roSocket;    ///< run/corral/corral-sock-ro
    std::string storeFile;   ///< lib/corral/corral.db
    std::string configFile;  ///< etc/corral/corrald.conf
    std::string pidFile;     ///< run/corral/corrald.pid
    std::string lockFile;    ///< lib/corral/corrald.lock: held by the daemon that owns this tree

    /// System paths (/etc/corral, /var/lib/corral, /run/corral, /var/log/corral) or, with
    /// `root`, the same tree below it.
    static DaemonPaths forRoot(const std::string& root);

    /// Creates the state, run and log directories (0700/0755) if missing.
    Result<void> createDirectories() const;

    /// Creates the state directory if missing and takes an exclusive lock (flock) on lockFile,
    /// held as long as the returned descriptor is open (close-on-exec: no guest inherits it).
    /// A second daemon on the same tree gets OperationFailed naming the lock file and the pid
    /// that holds it, and must then leave everything as it is.
    Result<UniqueFd> lockTree() const;
};

}  // namespace corral::daemon
