// SPDX-License-Identifier: LGPL-2.1-or-later
// Connection: a client of corrald (or of the embedded server) speaking libvirt's protocol.
// Calls are synchronous; events and keepalive packets that arrive meanwhile are handled in line.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "client/ssh_tunnel.hpp"
#include "rpc/tls_transport.hpp"
#include "client/uri.hpp"
#include "rpc/generated/lxc_protocol.hpp"
#include "rpc/generated/qemu_protocol.hpp"
#include "rpc/generated/remote_protocol.hpp"
#include "rpc/packet.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::daemon {
class EmbeddedServer;
}

namespace corral::client {

class Connection {
public:
    /// Connects and performs virsh's handshake (AUTH_LIST, CONNECT_OPEN, features).
    static Result<std::unique_ptr<Connection>> open(const Uri& uri, bool readOnly);
    ~Connection();

    /// Calls REMOTE procedure P. A REPLY/ERROR becomes an Error carrying the server's code,
    /// domain and message verbatim.
    template <std::int32_t P>
    Result<typename rpc::proto::RemoteProc<P>::Ret> call(const typename rpc::proto::RemoteProc<P>::Args& args) {
        using Ret = typename rpc::proto::RemoteProc<P>::Ret;
        CORRAL_ASSIGN_OR_RETURN(std::vector<std::uint8_t> payload,
                                callRaw(P, rpc::proto::encodeToBytes(args)));
        Ret ret{};
        if (!rpc::proto::decodeFromBytes(payload, ret)) {
            return fail(ErrorCode::Rpc, "Unable to decode the reply of " + std::string(rpc::proto::RemoteProc<P>::name),
                        ErrorDomain::Rpc);
        }
        return ret;
    }

    /// Calls REMOTE procedure P handing `files` to the server beside the arguments
    /// (CALL_WITH_FDS: unix sockets only), e.g. DOMAIN_CREATE_WITH_FILES.
    template <std::int32_t P>
    Result<typename rpc::proto::RemoteProc<P>::Ret> callWithFiles(const typename rpc::proto::RemoteProc<P>::Args& args,
                                                                  std::span<const int> files) {
        CORRAL_ASSIGN_OR_RETURN(std::vector<std::uint8_t> payload,
                                callRaw(rpc::proto::REMOTE_PROGRAM, P, rpc::proto::encodeToBytes(args), files, nullptr));
        return decodeReply<typename rpc::proto::RemoteProc<P>::Ret>(payload, rpc::proto::RemoteProc<P>::name);
    }

    /// Calls LXC-program procedure P; the descriptors of the REPLY_WITH_FDS go to `replyFds`.
    template <std::int32_t P>
    Result<typename rpc::proto::LxcProc<P>::Ret> callLxc(const typename rpc::proto::LxcProc<P>::Args& args,
                                                        std::vector<UniqueFd>& replyFds) {
        CORRAL_ASSIGN_OR_RETURN(std::vector<std::uint8_t> payload,
                                callRaw(rpc::proto::LXC_PROGRAM, P, rpc::proto::encodeToBytes(args), {}, &replyFds));
        return decodeReply<typename rpc::proto::LxcProc<P>::Ret>(payload, rpc::proto::LxcProc<P>::name);
    }

    /// Calls QEMU-program procedure P (qemu-agent-command).
    template <std::int32_t P>
    Result<typename rpc::proto::QemuProc<P>::Ret> callQemu(const typename rpc::proto::QemuProc<P>::Args& args) {
        CORRAL_ASSIGN_OR_RETURN(std::vector<std::uint8_t> payload,
                                callRaw(rpc::proto::QEMU_PROGRAM, P, rpc::proto::encodeToBytes(args), {}, nullptr));
        return decodeReply<typename rpc::proto::QemuProc<P>::Ret>(payload, rpc::proto::QemuProc<P>::name);
    }

    /// Receives MESSAGE packets (events) until `deadline` or until `stop` returns true.
    using MessageHandler = std::function<void(const rpc::Packet&)>;
    void setMessageHandler(MessageHandler handler) { onMessage_ = std::move(handler); }
    Result<void> pump(std::chrono::steady_clock::time_point deadline, const std::function<bool()>& stop);

    // --- streams (virsh console): the call that opens one names it by its serial ---
    /// STREAM and STREAM_HOLE packets of open streams go here as they arrive (during calls and
    /// pumps).
    void setStreamHandler(MessageHandler handler) { onStream_ = std::move(handler); }
    /// The serial of the last call made, which names the stream it opened.
    [[nodiscard]] std::uint32_t lastSerial() const { return serial_ - 1; }
    /// Sends stream data (STREAM/CONTINUE), or ends our side (STREAM/OK when `data` is empty
    /// and `finish`), or aborts it (STREAM/ERROR).
    Result<void> sendStream(std::int32_t proc, std::uint32_t serial, std::span<const std::uint8_t> data);
    Result<void> finishStream(std::int32_t proc, std::uint32_t serial, bool abort);
    /// Sends a hole of `length` bytes (STREAM_HOLE) on a sparse stream.
    Result<void> sendStreamHole(std::int32_t proc, std::uint32_t serial, std::uint64_t length);
    /// The socket, for a caller that polls it beside other descriptors (the console's stdin).
    [[nodiscard]] int pollFd() const { return fd_.get(); }
    /// Reads what has arrived without waiting and handles each whole packet.
    Result<void> pumpAvailable();

    /// UNREGISTER_CLOSE_CALLBACK + CONNECT_CLOSE; the destructor does it too.
    void close();

    [[nodiscard]] const Uri& uri() const { return uri_; }
    [[nodiscard]] const std::string& uriText() const { return uriText_; }

private:
    Connection() = default;
    /// AUTH_LIST, CONNECT_OPEN and the feature probes, on a connected transport.
    Result<void> handshake(const Uri& uri, bool readOnly);
    Result<std::vector<std::uint8_t>> callRaw(std::int32_t proc, const std::vector<std::uint8_t>& args) {
        return callRaw(rpc::proto::REMOTE_PROGRAM, proc, args, {}, nullptr);
    }
    Result<std::vector<std::uint8_t>> callRaw(std::uint32_t prog, std::int32_t proc,
                                              const std::vector<std::uint8_t>& args, std::span<const int> files,
                                              std::vector<UniqueFd>* replyFds);
    template <class Ret>
    static Result<Ret> decodeReply(const std::vector<std::uint8_t>& payload, std::string_view procName) {
        Ret ret{};
        if (!rpc::proto::decodeFromBytes(payload, ret)) {
            return fail(ErrorCode::Rpc, "Unable to decode the reply of " + std::string(procName), ErrorDomain::Rpc);
        }
        return ret;
    }
    /// Reads until a packet arrives (or the deadline passes: returns nullopt packet).
    Result<std::optional<rpc::Packet>> readPacket(int timeoutMs);
    Result<void> sendAll(const std::vector<std::uint8_t>& plain);
    /// AUTH_SASL_INIT/START/STEP with the credentials libvirt's clients use; then the layer.
    Result<void> authenticateSasl(const Uri& uri);
    /// One descriptor after a CALL_WITH_FDS, as sendDescriptor() sends it.
    Result<void> sendFile(int file);
    void handleAsync(const rpc::Packet& packet);

    Uri uri_;
    std::string uriText_;
    UniqueFd fd_;
    rpc::PacketAssembler assembler_;
    std::uint32_t serial_ = 0;
    bool opened_ = false;
    bool closeCallback_ = false;
    MessageHandler onMessage_;
    MessageHandler onStream_;
    std::unique_ptr<daemon::EmbeddedServer> embedded_;
    std::unique_ptr<SshTunnel> ssh_;
    std::unique_ptr<rpc::TlsTransport> tls_;  ///< tls:// (fd_ is a duplicate, for polling)
    std::shared_ptr<rpc::SecurityLayer> layer_;  ///< SASL's, once negotiated
};

}  // namespace corral::client
