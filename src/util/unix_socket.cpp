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

ssize_t sendWithDescriptor(int socket, std::span<const char> bytes, int fd, int flags) {
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    ssize_t n = 0;
    do {
        n = ::sendmsg(socket, &msg, MSG_NOSIGNAL | flags);
    } while (n < 0 && errno == EINTR);
    return n;
}

Result<bool> sendDescriptor(int socket, int fd) {
    const char byte = '\0';
    ssize_t n = sendWithDescriptor(socket, std::span<const char>(&byte, 1), fd, MSG_DONTWAIT);
    if (n == 1) {
        return true;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return false;
    }
    return failErrno(n < 0 ? errno : EIO, "cannot pass a file descriptor over the socket");
}

ssize_t receiveWithDescriptors(int socket, std::span<std::uint8_t> buffer, std::vector<UniqueFd>& fds) {
    // Room for the most descriptors one message may carry in libvirt's protocol (32).
    alignas(cmsghdr) char control[CMSG_SPACE(32 * sizeof(int))];
    iovec iov{buffer.data(), buffer.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    if (n <= 0) {
        return n;
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int fd = -1;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            fds.emplace_back(fd);
        }
    }
    return n;
}

}  // namespace corral
