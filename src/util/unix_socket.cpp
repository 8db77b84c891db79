// SPDX-License-Identifier: LGPL-2.1-or-later
#include "util/unix_socket.hpp"

#include <sys/stat.h>

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace corral {

Result<sockaddr_un> unixSocketAddress(const std::string& path) {
    sockaddr_un addr{};
    if (path.empty() || path.size() >= sizeof addr.sun_path) {
        return fail(ErrorCode::InvalidArg, "socket path '" + path + "' is empty or too long (at most " +
                                               std::to_string(sizeof addr.sun_path - 1) + " bytes)");
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

Result<UniqueFd> connectUnixSocket(const std::string& path) {
    CORRAL_ASSIGN_OR_RETURN(sockaddr_un addr, unixSocketAddress(path));
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        return failErrno(errno, "cannot create a socket for '" + path + "'");
    }
    int rc = 0;
    do {
        rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        int err = errno;
        return fail(ErrorCode::SystemError, "Failed to connect socket to '" + path + "': " + std::strerror(err));
    }
    return fd;
}

Result<UniqueFd> listenUnixSocket(const std::string& path, mode_t mode) {
    CORRAL_ASSIGN_OR_RETURN(sockaddr_un addr, unixSocketAddress(path));
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        return failErrno(errno, "cannot create a socket for '" + path + "'");
    }
    ::unlink(path.c_str());
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        return failErrno(errno, "cannot bind socket '" + path + "'");
    }
    ::chmod(path.c_str(), mode);
    if (::listen(fd.get(), 4) != 0) {
        return failErrno(errno, "cannot listen on socket '" + path + "'");
    }
    return fd;
}

}  // namespace corral
