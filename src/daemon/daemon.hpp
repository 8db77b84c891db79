// SPDX-License-Identifier: LGPL-2.1-or-later
// Daemon: assembles corrald from its parts (config, store, drivers, dispatcher, server).
#pragma once

#include <memory>
#include <string>

#include "daemon/daemon_config.hpp"
#include "daemon/paths.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::objects {
class Store;
}
namespace corral::drivers {
class DriverRegistry;
}

namespace corral::daemon {

class Dispatcher;
class MetricsEndpoint;
class Server;

struct DaemonOptions {
    std::string root;        ///< --root DIR; "" for system paths
    std::string configFile;  ///< --config FILE; "" for the default under the root
};

class Daemon {
public:
    /// Locks the state directory (a second daemon on the same tree fails here, before it has
    /// touched the store, a guest or a socket), reads the configuration, opens the store, loads
    /// the drivers and binds the sockets. Every failure names what was wrong (file, line, key;
    /// path; socket).
    static Result<std::unique_ptr<Daemon>> create(const DaemonOptions& options);
    ~Daemon();

    /// Serves clients until stop() (or SIGTERM/SIGINT through the caller's handler).
    void run();
    void stop();

    const DaemonPaths& paths() const { return paths_; }

private:
    Daemon() = default;

    /// First member, so released last: held from before the store opens until everything
    /// below is gone (see DaemonPaths::lockTree).
    UniqueFd treeLock_;
    DaemonPaths paths_;
    DaemonConfig config_;
    std::unique_ptr<objects::Store> store_;
    std::unique_ptr<drivers::DriverRegistry> registry_;
    std::unique_ptr<Dispatcher> dispatcher_;
    std::unique_ptr<Server> server_;
    /// Last: its thread reads the drivers and the server, so it stops before they go.
    std::unique_ptr<MetricsEndpoint> metrics_;
};

}  // namespace corral::daemon
