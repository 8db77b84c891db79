// SPDX-License-Identifier: LGPL-2.1-or-later
// DaemonStream: one libvirt data stream a client has open (a console, a volume upload or
// download), known to its session by the serial of the call that opened it. The I/O thread
// hands it what the client sends on that serial: data (STREAM, status CONTINUE), holes of a
// sparse stream (STREAM_HOLE), the client's finish (status OK) or abort (status ERROR). None of
// these may block the I/O thread: a stream queues, and says how much it holds (pendingInput())
// so that the I/O thread stops reading a client whose streams fall behind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "rpc/packet.hpp"
#include "util/error.hpp"


namespace corral::daemon {

class DaemonStream {
public:
    /// Input queued past this (all the client's streams together) stops the I/O thread from
    /// reading that client until the streams took it.
    static constexpr std::size_t kMaxPendingInput = 256u << 10;

    virtual ~DaemonStream() = default;
    [[nodiscard]] virtual std::uint32_t serial() const = 0;
    /// Data from the client.
    virtual void write(std::span<const std::uint8_t> data) = 0;
    /// A hole from the client (the payload of a STREAM_HOLE packet, not yet decoded).
    virtual void hole(std::span<const std::uint8_t> payload) = 0;
    /// The client finished (`abort` false) or aborted its side; it waits for an answer.
    virtual void finishByClient(bool abort) = 0;
    /// The client went away, or the daemon is done with the stream: stop, answer nothing.
    virtual void close() = 0;
    /// Bytes the client sent that the stream has not used yet.
    [[nodiscard]] virtual std::size_t pendingInput() const = 0;
};

/// The STREAM/ERROR packet that ends stream `stream` (its program, procedure and serial) with
/// `err`: the client reports it at its next read, write or finish of the stream.
std::vector<std::uint8_t> buildStreamError(const rpc::MessageHeader& stream, const Error& err);

}  // namespace corral::daemon
