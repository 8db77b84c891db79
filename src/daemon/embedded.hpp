// SPDX-License-Identifier: LGPL-2.1-or-later
// EmbeddedServer: the daemon's dispatcher and test driver running inside a client process, so
// `corral -c test:///default` works with no daemon, as libvirt's test driver does in virsh.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <thread>

#include "util/result.hpp"

namespace corral::drivers {
class DriverRegistry;
}

namespace corral::daemon {

class Dispatcher;
class Server;

class EmbeddedServer {
public:
    /// Starts an in-process server (own I/O thread and workers) with fresh, in-memory drivers.
    /// `maxQueuedOutput` overrides the replies a client may leave unread (tests shrink it).
    static Result<std::unique_ptr<EmbeddedServer>> start(std::optional<std::size_t> maxQueuedOutput = std::nullopt);
    ~EmbeddedServer();

    /// A connected socket speaking the remote protocol to the embedded server. Call once.
    int takeClientFd();
    /// The drivers it serves (tests reach a domain's lock through them).
    drivers::DriverRegistry& registry() { return *registry_; }

private:
    EmbeddedServer() = default;

    std::unique_ptr<drivers::DriverRegistry> registry_;
    std::unique_ptr<Dispatcher> dispatcher_;
    std::unique_ptr<Server> server_;
    std::thread ioThread_;
    int clientFd_ = -1;
};

}  // namespace corral::daemon
