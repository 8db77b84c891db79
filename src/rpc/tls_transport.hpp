// SPDX-License-Identifier: LGPL-2.1-or-later
// TlsTransport: a TlsSession over the socket it owns, as the Transport the RPC stream uses.
#pragma once

#include <memory>

#include "rpc/tls_session.hpp"
#include "rpc/transport.hpp"

namespace corral::rpc {

class TlsTransport final : public HandshakingTransport {
public:
    /// `socket` must be non-blocking. `hostname` as TlsSession::create (clients only).
    static Result<std::unique_ptr<TlsTransport>> create(std::shared_ptr<const TlsCredentials> creds, UniqueFd socket,
                                                        std::string hostname = {});

    Result<Progress> handshake() override { return session_->handshake(); }
    [[nodiscard]] std::string peerIdentity() const override { return session_->peerDn(); }
    ssize_t receive(std::span<std::uint8_t> buffer, std::vector<UniqueFd>& fds) override;
    ssize_t send(std::span<const std::uint8_t> bytes) override;
    [[nodiscard]] bool hasBufferedInput() const override { return session_->pending() > 0; }
    void shutdown() override;
    [[nodiscard]] int fd() const override { return socket_.get(); }
    [[nodiscard]] const TlsSession& session() const { return *session_; }

private:
    TlsTransport(UniqueFd socket, std::unique_ptr<TlsSession> session)
        : socket_(std::move(socket)), session_(std::move(session)) {}
    UniqueFd socket_;
    std::unique_ptr<TlsSession> session_;  ///< declared after socket_: destroyed first
};

}  // namespace corral::rpc
