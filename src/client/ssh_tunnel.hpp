// SPDX-License-Identifier: LGPL-2.1-or-later
// The ssh transport of driver+ssh://[user@]host[:port]/path URIs: ssh runs corral-ssh-helper
// (or nc -U, the fallback libvirt's clients use) on the far host, and the protocol flows over
// its stdin and stdout, which are our end of a socket pair.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "client/uri.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::client {

class SshTunnel {
public:
    /// Starts ssh for `uri` (params: keyfile, no_verify, no_tty, known_hosts, command, netcat,
    /// socket, proxy=auto|netcat|native). The returned tunnel's fd() is ready for packets.
    static Result<SshTunnel> open(const Uri& uri, bool readOnly);
    SshTunnel(SshTunnel&& other) noexcept
        : socket_(std::move(other.socket_)),
          stderr_(std::move(other.stderr_)),
          pid_(std::exchange(other.pid_, -1)),
          host_(std::move(other.host_)),
          port_(std::move(other.port_)) {}
    SshTunnel& operator=(SshTunnel&&) = delete;
    ~SshTunnel();

    [[nodiscard]] int fd() const { return socket_.get(); }
    /// Our end of the pair, handed to the connection (the tunnel keeps ssh's pid and stderr).
    UniqueFd takeSocket() { return std::move(socket_); }
    /// An error for a connection that broke: what ssh said, turned into the fix when it is a
    /// known problem (unknown or changed host key, refused key), else `original`.
    [[nodiscard]] Error explain(const Error& original);

    /// The argv ssh runs with, for `uri` (exposed for tests).
    static std::vector<std::string> sshArguments(const Uri& uri, bool readOnly);

private:
    SshTunnel() = default;
    UniqueFd socket_;
    UniqueFd stderr_;
    pid_t pid_ = -1;
    std::string host_;
    std::string port_;
};

}  // namespace corral::client
