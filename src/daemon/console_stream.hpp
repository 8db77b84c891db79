// SPDX-License-Identifier: LGPL-2.1-or-later
// ConsoleStream: one open console (virsh console) carried as a libvirt stream. What the guest
// writes is read from the backend's descriptor on a thread of the stream's own and sent to the
// client as STREAM packets of the OPEN_CONSOLE call's serial; what the client sends arrives on
// the I/O thread and is written to the descriptor. The client ending its side (finish or abort)
// is confirmed with STREAM/OK; the guest's side ending is sent as an empty STREAM/CONTINUE (end
// of data), and the stream stays until the client finishes or aborts it, as libvirtd does (a
// libvirt client drops its connection on a confirmation it did not ask for).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <thread>

#include "rpc/packet.hpp"
#include "util/unique_fd.hpp"

namespace corral::daemon {

class ClientSession;

class ConsoleStream : public std::enable_shared_from_this<ConsoleStream> {
public:
    /// `call` is the OPEN_CONSOLE call; its program, procedure and serial name the stream.
    ConsoleStream(std::weak_ptr<ClientSession> session, const rpc::MessageHeader& call, UniqueFd fd);
    ~ConsoleStream();
    ConsoleStream(const ConsoleStream&) = delete;
    ConsoleStream& operator=(const ConsoleStream&) = delete;

    /// Starts relaying to the client (after the call's reply went out: data must follow it).
    void start();
    /// Keys from the client (a STREAM packet with status CONTINUE).
    void write(std::span<const std::uint8_t> data);
    /// The client finished (status OK) or aborted (status ERROR), or went away.
    void close();

    [[nodiscard]] std::uint32_t serial() const { return header_.serial; }

private:
    void relay();
    /// STREAM/OK to the client (the end it asked for) and the session forgets the stream.
    void confirmEnd();

    std::weak_ptr<ClientSession> session_;
    rpc::MessageHeader header_;
    UniqueFd fd_;
    std::mutex endMutex_;                // orders the two ends below
    std::atomic<bool> closed_{false};    // the client ended its side (or went away)
    bool guestEnded_ = false;            // end of data was sent; the relay is over
    std::thread thread_;
};

}  // namespace corral::daemon
