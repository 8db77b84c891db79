// SPDX-License-Identifier: LGPL-2.1-or-later
#include "util/tcp_socket.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>

namespace corral {

Result<std::vector<UniqueFd>> listenTcpSockets(const std::string& address, const std::string& port,
                                               int backlog) {
    const std::string where = address + ":" + port;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(address.empty() ? nullptr : address.c_str(), port.c_str(), &hints,
                               &found);
        rc != 0) {
        return fail(ErrorCode::SystemError,
                    "cannot resolve the listen address " + where + ": " + gai_strerror(rc));
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, &::freeaddrinfo);
    std::vector<UniqueFd> sockets;
    for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
        UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                             ai->ai_protocol));
        if (!fd) {
            return failErrno(errno, "cannot create a socket for " + where);
        }
        int one = 1;
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ai->ai_family == AF_INET6) {
            ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one,
                         sizeof one);  // v4 gets its own socket
        }
        if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
            return failErrno(errno, "cannot listen on " + where);
        }
        if (::listen(fd.get(), backlog) != 0) {
            return failErrno(errno, "cannot listen on " + where);
        }
        sockets.push_back(std::move(fd));
    }
    if (sockets.empty()) {
        return fail(ErrorCode::SystemError, "no address to listen on for " + where);
    }
    return sockets;
}

}  // namespace corral
