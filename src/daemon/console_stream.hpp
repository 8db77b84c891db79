// SPDX-License-Identifier: LGPL-2.1-or-later
// ConsoleStream: one open console (virsh console) carried as a libvirt stream. What the guest
// writes is read from the backend's descriptor on a thread of the stream's own and sent to the
// client as STREAM packets of the OPEN_CONSOLE call's serial; what the client types arrives on
// the I/O thread, is queued here and written by the same thread as the guest takes it, so a
// guest that never reads its console cannot block the I/O thread (the client is held back
// instead, ClientSession::consoleInputPending). Either side ending closes it.
//
// ConsoleRegistry: who holds which console. As libvirt, a console already open is refused to a
// second client unless it forces (VIR_DOMAIN_CONSOLE_FORCE), which ends the first one's stream.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "daemon/daemon_stream.hpp"
#include "rpc/packet.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::daemon {

class ClientSession;

class ConsoleStream final : public DaemonStream, public std::enable_shared_from_this<ConsoleStream> {
public:
    /// `call` is the OPEN_CONSOLE call; its program, procedure and serial name the stream.
    ConsoleStream(std::weak_ptr<ClientSession> session, const rpc::MessageHeader& call, UniqueFd fd);
    ~ConsoleStream() override;
    ConsoleStream(const ConsoleStream&) = delete;
    ConsoleStream& operator=(const ConsoleStream&) = delete;

    /// Starts relaying to the client (after the call's reply went out: data must follow it).
    void start();
    /// Keys from the client (a STREAM packet with status CONTINUE): queued, never blocking.
    void write(std::span<const std::uint8_t> data) override;
    /// A console is no sparse stream: a hole ends it, as libvirt's "Unexpected stream hole".
    void hole(std::span<const std::uint8_t> payload) override;
    /// The client finished (status OK) or aborted (status ERROR) the stream: it is answered
    /// (an empty OK) once the relay is done, and forgotten.
    void finishByClient(bool abort) override;
    /// Stops relaying (the client went away, or the daemon is done with it).
    void close() override;
    /// Another client forced the console open: this stream ends with an error saying so.
    void takeOver();

    [[nodiscard]] std::uint32_t serial() const override { return header_.serial; }
    [[nodiscard]] bool closed() const { return closed_.load(); }
    /// Keys queued and not yet taken by the guest.
    [[nodiscard]] std::size_t pendingInput() const override;

private:
    void relay();
    /// Writes what the guest takes of the queued keys; false when its side is gone.
    bool writeInput();
    /// The relay is done: the end of data, or the take-over error, or the answer to the
    /// client's finish when it asked first.
    void end(ClientSession& session);
    void answerClient(ClientSession& session);

    std::weak_ptr<ClientSession> session_;
    rpc::MessageHeader header_;
    std::mutex fdMutex_;  ///< close() and write() against the relay letting go of fd_ and wake_
    UniqueFd fd_;
    UniqueFd wake_;  ///< an eventfd: new keys to write, or close()
    std::atomic<bool> closed_{false};
    /// Why the stream ends with an error rather than the end of data.
    enum class EndError : std::uint8_t { None, TakenOver, UnexpectedHole };
    std::atomic<EndError> endError_{EndError::None};
    std::mutex endMutex_;
    bool clientEnded_ = false;  ///< guarded by endMutex_
    bool relayDone_ = false;    ///< guarded by endMutex_
    mutable std::mutex inputMutex_;
    std::string input_;
    std::thread thread_;
};

class ConsoleRegistry {
public:
    /// Opens console `key` (driver, domain, device) with `open` unless another stream holds it:
    /// then, without `force`, fails as libvirt does ("Active console session exists for this
    /// domain"); with it, the holder is taken over (takeOver()) and `open` runs. Two opens of one
    /// console never run at once.
    Result<std::shared_ptr<ConsoleStream>> open(const std::string& key, bool force,
                                                const std::function<Result<std::shared_ptr<ConsoleStream>>()>& open);

private:
    std::mutex mutex_;
    std::map<std::string, std::weak_ptr<ConsoleStream>> holders_;
};

}  // namespace corral::daemon
