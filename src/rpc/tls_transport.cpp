// SPDX-License-Identifier: LGPL-2.1-or-later
#include "rpc/tls_transport.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace corral::rpc {

Result<std::unique_ptr<TlsTransport>> TlsTransport::create(std::shared_ptr<const TlsCredentials> creds,
                                                           UniqueFd socket, std::string hostname) {
    CORRAL_ASSIGN_OR_RETURN(auto session, TlsSession::create(std::move(creds), socket.get(), std::move(hostname)));
    return std::unique_ptr<TlsTransport>(new TlsTransport(std::move(socket), std::move(session)));
}

ssize_t TlsTransport::receive(std::span<std::uint8_t> buffer, std::vector<UniqueFd>& fds) {
    (void)fds;  // descriptors never travel over TCP
    auto io = session_->read(buffer);
    if (!io) {
        errno = EPROTO;
        return -1;
    }
    if (io->progress != Progress::Done) {
        errno = EAGAIN;
        return -1;
    }
    return static_cast<ssize_t>(io->bytes);
}

ssize_t TlsTransport::send(std::span<const std::uint8_t> bytes) {
    auto io = session_->write(bytes);
    if (!io) {
        errno = EPIPE;
        return -1;
    }
    if (io->progress != Progress::Done) {
        errno = EAGAIN;
        return -1;
    }
    return static_cast<ssize_t>(io->bytes);
}

void TlsTransport::shutdown() {
    (void)session_->bye();  // best effort: the peer may be gone already
    ::shutdown(socket_.get(), SHUT_RDWR);
}

}  // namespace corral::rpc
