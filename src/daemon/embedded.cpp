// SPDX-License-Identifier: LGPL-2.1-or-later
// EmbeddedServer: a socketpair with the real server loop on the other end.
#include "daemon/embedded.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include "daemon/dispatcher.hpp"
#include "daemon/server.hpp"
#include "drivers/registry.hpp"
#include "util/unique_fd.hpp"

namespace corral::daemon {

Result<std::unique_ptr<EmbeddedServer>> EmbeddedServer::start(std::optional<std::size_t> maxQueuedOutput) {
    std::unique_ptr<EmbeddedServer> e(new EmbeddedServer());
    // No store: the embedded drivers live and die with the client process.
    CORRAL_ASSIGN_OR_RETURN(e->registry_, drivers::DriverRegistry::create(nullptr, {}, /*testOnly=*/true));
    e->dispatcher_ = std::make_unique<Dispatcher>(*e->registry_);
    ServerLimits limits;
    limits.minWorkers = 1;
    limits.workers = 2;
    limits.prioWorkers = 1;
    limits.keepaliveInterval = 0;
    if (maxQueuedOutput) {
        limits.maxQueuedOutput = *maxQueuedOutput;
    }
    CORRAL_ASSIGN_OR_RETURN(e->server_, Server::create(*e->dispatcher_, limits));
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
        return failErrno(errno, "cannot create socket pair for the embedded driver");
    }
    UniqueFd serverEnd(fds[0]);
    e->clientFd_ = fds[1];
    CORRAL_TRY(e->server_->adoptClient(std::move(serverEnd), false));
    e->ioThread_ = std::thread([server = e->server_.get()] { server->run(); });
    return e;
}

EmbeddedServer::~EmbeddedServer() {
    if (server_) {
        server_->stop();
    }
    if (ioThread_.joinable()) {
        ioThread_.join();
    }
    if (clientFd_ >= 0) {
        ::close(clientFd_);
    }
}

int EmbeddedServer::takeClientFd() {
    int fd = clientFd_;
    clientFd_ = -1;
    return fd;
}

}  // namespace corral::daemon
