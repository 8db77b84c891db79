// SPDX-License-Identifier: LGPL-2.1-or-later
#include "rpc/transport.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "util/unix_socket.hpp"

namespace corral::rpc {

Result<bool> Transport::sendDescriptor(int fd) {
    (void)fd;
    return fail(ErrorCode::OperationUnsupported, "file descriptors can only be passed over a local unix socket",
                ErrorDomain::Rpc);
}

ssize_t SocketTransport::receive(std::span<std::uint8_t> buffer, std::vector<UniqueFd>& fds) {
    if (unix_) {
        return receiveWithDescriptors(fd_.get(), buffer, fds);
    }
    return ::recv(fd_.get(), buffer.data(), buffer.size(), 0);
}

ssize_t SocketTransport::send(std::span<const std::uint8_t> bytes) {
    return ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

Result<bool> SocketTransport::sendDescriptor(int fd) {
    if (!unix_) {
        return Transport::sendDescriptor(fd);
    }
    return corral::sendDescriptor(fd_.get(), fd);
}

void SocketTransport::shutdown() { ::shutdown(fd_.get(), SHUT_RDWR); }

}  // namespace corral::rpc
