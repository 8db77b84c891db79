// SPDX-License-Identifier: LGPL-2.1-or-later
// Listening TCP sockets by address and port: corrald's TCP/TLS listeners and its metrics endpoint.
#pragma once

#include <string>
#include <vector>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral {

/// Non-blocking, close-on-exec sockets listening on every address getaddrinfo gives for
/// `address`:`port` ("" = every local address), with SO_REUSEADDR; an IPv6 socket is v6-only, so
/// each family has its own. Errors name "ADDRESS:PORT".
Result<std::vector<UniqueFd>> listenTcpSockets(const std::string& address, const std::string& port,
                                               int backlog = 256);

}  // namespace corral
