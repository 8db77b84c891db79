// SPDX-License-Identifier: LGPL-2.1-or-later
// Transport: the byte stream under libvirt's RPC packets. A plain socket (unix, which can also
// pass descriptors, or TCP), or TLS over a TCP socket; SASL's security layer, when negotiated,
// wraps whatever is below it (SecurityLayer). Non-blocking: nothing here waits.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::rpc {

class Transport {
public:
    virtual ~Transport() = default;
    /// As recv(2): bytes read, 0 at the end of the stream, -1 with errno (EAGAIN: nothing now).
    /// Descriptors that came with the bytes (unix sockets) are appended to `fds`.
    virtual ssize_t receive(std::span<std::uint8_t> buffer, std::vector<UniqueFd>& fds) = 0;
    /// As send(2): bytes taken, or -1 with errno (EAGAIN: full; call again with the same bytes).
    virtual ssize_t send(std::span<const std::uint8_t> bytes) = 0;
    /// Whether the transport holds input it already read from the socket (a TLS record): the
    /// caller must receive() again before waiting for the socket to become readable.
    [[nodiscard]] virtual bool hasBufferedInput() const { return false; }
    /// Whether descriptors can travel with the bytes (unix sockets only).
    [[nodiscard]] virtual bool passesDescriptors() const { return false; }
    /// Sends `fd` beside the stream (one dummy byte). True when sent, false when the socket is
    /// full. Only where passesDescriptors().
    virtual Result<bool> sendDescriptor(int fd);
    /// Wakes a peer blocked on us and ends both directions (the fd closes with the object).
    virtual void shutdown() = 0;
    [[nodiscard]] virtual int fd() const = 0;
};

/// A connected socket as it is: unix (descriptors pass) or TCP.
class SocketTransport final : public Transport {
public:
    SocketTransport(UniqueFd fd, bool unixSocket) : fd_(std::move(fd)), unix_(unixSocket) {}
    ssize_t receive(std::span<std::uint8_t> buffer, std::vector<UniqueFd>& fds) override;
    ssize_t send(std::span<const std::uint8_t> bytes) override;
    [[nodiscard]] bool passesDescriptors() const override { return unix_; }
    Result<bool> sendDescriptor(int fd) override;
    void shutdown() override;
    [[nodiscard]] int fd() const override { return fd_.get(); }

private:
    UniqueFd fd_;
    bool unix_;
};

/// A transport that must first complete a handshake (TLS) before it carries packets.
class HandshakingTransport : public Transport {
public:
    enum class Progress { Done, WantRead, WantWrite };
    /// One non-blocking step of the handshake, then (when Done) the checks of the peer.
    /// Errors say why the peer was refused (untrusted CA, DN not allowed ...).
    virtual Result<Progress> handshake() = 0;
    /// The peer's identity once Done (a client certificate's DN), "" when none.
    [[nodiscard]] virtual std::string peerIdentity() const { return {}; }
};

/// SASL's security layer (integrity, or confidentiality) over the stream, once negotiated.
/// encode() turns outgoing bytes into frames; decode() takes arriving bytes in any chunking and
/// returns the plain bytes of the frames completed so far.
class SecurityLayer {
public:
    virtual ~SecurityLayer() = default;
    virtual Result<std::vector<std::uint8_t>> encode(std::span<const std::uint8_t> plain) = 0;
    virtual Result<std::vector<std::uint8_t>> decode(std::span<const std::uint8_t> wire) = 0;
};

}  // namespace corral::rpc
