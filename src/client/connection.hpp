// SPDX-License-Identifier: LGPL-2.1-or-later
// Connection: a client of corrald (or of the embedded server) speaking libvirt's protocol.
// Calls are synchronous; events and keepalive packets that arrive meanwhile are handled in line.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "client/uri.hpp"
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

    /// Receives MESSAGE packets (events) until `deadline` or until `stop` returns true.
    using MessageHandler = std::function<void(const rpc::Packet&)>;
    void setMessageHandler(MessageHandler handler) { onMessage_ = std::move(handler); }
    Result<void> pump(std::chrono::steady_clock::time_point deadline, const std::function<bool()>& stop);

    /// UNREGISTER_CLOSE_CALLBACK + CONNECT_CLOSE; the destructor does it too.
    void close();

    [[nodiscard]] const Uri& uri() const { return uri_; }
    [[nodiscard]] const std::string& uriText() const { return uriText_; }

private:
    Connection() = default;
    Result<std::vector<std::uint8_t>> callRaw(std::int32_t proc, const std::vector<std::uint8_t>& args);
    /// Reads until a packet arrives (or the deadline passes: returns nullopt packet).
    Result<std::optional<rpc::Packet>> readPacket(int timeoutMs);
    Result<void> sendAll(const std::vector<std::uint8_t>& bytes);
    void handleAsync(const rpc::Packet& packet);

    Uri uri_;
    std::string uriText_;
    UniqueFd fd_;
    rpc::PacketAssembler assembler_;
    std::uint32_t serial_ = 0;
    bool opened_ = false;
    bool closeCallback_ = false;
    MessageHandler onMessage_;
    std::unique_ptr<daemon::EmbeddedServer> embedded_;
};

}  // namespace corral::client
