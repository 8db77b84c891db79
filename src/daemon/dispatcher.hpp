// SPDX-License-Identifier: LGPL-2.1-or-later
// Dispatcher: maps an RPC call to its handler, enforces what every call must pass (connection
// opened, read-only rules, known procedure) and turns every failure into a libvirt error reply.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "access/access_manager.hpp"
#include "daemon/auth_guard.hpp"
#include "daemon/client_session.hpp"
#include "daemon/console_stream.hpp"
#include "drivers/registry.hpp"
#include "rpc/generated/lxc_protocol.hpp"
#include "rpc/generated/qemu_protocol.hpp"
#include "rpc/generated/remote_protocol.hpp"
#include "rpc/packet.hpp"
#include "rpc/xdr.hpp"
#include "util/result.hpp"

namespace corral::objects {
class Store;
}

namespace corral::daemon {

/// What a handler sees of the call it serves.
struct CallContext {
    std::shared_ptr<ClientSession> session;
    const rpc::MessageHeader& header;
    drivers::DriverRegistry& registry;

    /// The driver opened by CONNECT_OPEN (never null inside handlers that need one).
    drivers::HypervisorDriver& driver() const { return *session->driver; }
    bool readOnly() const;
    /// CONNECT_OPEN has bound a driver to the session.
    bool connectionOpened() const;
    /// The listener's authentication (SASL) is done, or none was asked for.
    bool authenticated() const;
    /// Refuses a call on a read-only connection: "operation forbidden: read only access
    /// prevents virDomainXxx" (VIR_ERR_OPERATION_DENIED).
    Result<void> denyReadOnly(std::string_view api) const;
    /// Runs once the successful reply is queued (a stream's data must follow the reply).
    std::function<void()> afterReply = nullptr;
    /// Descriptors the client passed with a CALL_WITH_FDS (unix sockets only).
    std::vector<UniqueFd> fds = {};
    /// Descriptors to hand back: the reply becomes a REPLY_WITH_FDS.
    std::vector<UniqueFd> replyFds = {};
    /// SASL's layer, switched on right after this reply goes out in the clear.
    std::shared_ptr<rpc::SecurityLayer> layerAfterReply = nullptr;
    /// An authentication answer, failure or not, waits this long (AuthGuard); `closeAfterReply`
    /// ends the connection once it is out (max_auth_attempts reached).
    std::chrono::milliseconds replyDelay{0};
    bool closeAfterReply = false;
    /// Runs right before the successful reply is queued, at once or when a delayed reply is
    /// released: a SASL success takes effect then, not while its answer is held back.
    std::function<void()> whenAnswered = nullptr;
    /// Served on the I/O thread (Dispatcher::answerInline): the handler must not wait. One that
    /// would (a busy domain) sets `deferToWorker` instead of answering, and the call goes to a
    /// worker unanswered.
    bool onIoThread = false;
    bool deferToWorker = false;
};

/// What the authentication procedures need from the daemon's configuration.
struct AuthSettings {
    unsigned tcpMinSsf = 56;
    bool allowDigestMd5 = false;
    std::vector<std::string> saslAllowedUsernames;
    unsigned maxAuthAttempts = 3;
    objects::Store* store = nullptr;  ///< authentication successes and failures go to its audit table
};

class Dispatcher {
public:
    explicit Dispatcher(drivers::DriverRegistry& registry);

    /// Serves one CALL on a worker thread and sends the reply (or error) to the session.
    void handleCall(const std::shared_ptr<ClientSession>& session, rpc::Packet packet);
    /// Serves a CALL of a procedure registered with addInline right here, on the I/O thread,
    /// when it can be answered without waiting: no hop to a worker and back, which on a small
    /// host is most of a lookup's cost. False (nothing sent, `packet` untouched): hand it to a
    /// worker.
    bool answerInline(const std::shared_ptr<ClientSession>& session, rpc::Packet& packet);
    /// Whether the call goes to the high-priority pool (lookups and other quick calls).
    bool isHighPriority(const rpc::MessageHeader& header) const;
    /// The I/O thread closed `session`: drop its event subscriptions.
    void clientClosed(ClientSession& session);

    using Handler =
        std::function<Result<std::vector<std::uint8_t>>(CallContext&, std::span<const std::uint8_t>)>;

    /// Registers the handler of REMOTE procedure P: `fn(CallContext&, const Args&) -> Result<Ret>`.
    template <std::int32_t P, class Fn>
    void add(Fn fn) {
        handlers_[P] = makeHandler<rpc::proto::RemoteProc<P>>(std::move(fn));
    }

    /// As add, for a procedure that only reads what the daemon holds in memory (a lookup, a
    /// state, a list) and never waits on a guest, the disk or a lock held across either: it may
    /// be answered on the I/O thread (answerInline).
    template <std::int32_t P, class Fn>
    void addInline(Fn fn) {
        add<P>(std::move(fn));
        inline_.insert(P);
    }

    /// Registers the handler of QEMU-program procedure P (monitor pass-through).
    template <std::int32_t P, class Fn>
    void addQemu(Fn fn) {
        qemuHandlers_[P] = makeHandler<rpc::proto::QemuProc<P>>(std::move(fn));
    }

    /// Registers the handler of LXC-program procedure P (namespace descriptors).
    template <std::int32_t P, class Fn>
    void addLxc(Fn fn) {
        lxcHandlers_[P] = makeHandler<rpc::proto::LxcProc<P>>(std::move(fn));
    }

    void setAuthSettings(AuthSettings settings) { auth_ = std::move(settings); }
    /// The access rules every call passes (access_rules_file); the default policy without one.
    void setAccessRules(access::AccessManager rules) { access_ = std::move(rules); }
    [[nodiscard]] const AuthSettings& authSettings() const { return auth_; }
    AuthGuard& authGuard() { return guard_; }
    /// Who holds which console (one per console, as libvirt).
    ConsoleRegistry& consoles() { return consoles_; }
    /// Records an authentication success or failure in the store's audit table and the log.
    void auditAuthentication(const PeerIdentity& peer, const std::string& mechanism, const std::string& identity,
                             bool success, const std::string& detail);

    /// Sends lifecycle events of `session`'s driver to it per its registrations (events.cpp).
    void subscribeEvents(const std::shared_ptr<ClientSession>& session);
    /// Sends the pool events of `storage` (the session's storage facet) to the session per its
    /// pool event registrations (dispatch_pool_events.cpp). NoSupport when it raises none.
    Result<void> subscribePoolEvents(const std::shared_ptr<ClientSession>& session, drivers::StorageFacet& storage);

private:
    /// Decodes Proc's arguments, runs `fn`, encodes its reply.
    template <class Proc, class Fn>
    static Handler makeHandler(Fn fn) {
        return [fn = std::move(fn)](CallContext& ctx, std::span<const std::uint8_t> in)
                   -> Result<std::vector<std::uint8_t>> {
            typename Proc::Args args{};
            if (!rpc::proto::decodeFromBytes(in, args)) {
                return fail(ErrorCode::Rpc, "Unable to decode message payload of procedure " + std::string(Proc::name),
                            ErrorDomain::Rpc);
            }
            CORRAL_ASSIGN_OR_RETURN(typename Proc::Ret ret, fn(ctx, args));
            return rpc::proto::encodeToBytes(ret);
        };
    }

    using HandlerTable = std::unordered_map<std::int32_t, Handler>;
    /// Runs the call and sends its reply; false when an inline handler deferred it (nothing sent).
    bool serve(const std::shared_ptr<ClientSession>& session, rpc::Packet& packet, bool onIoThread);
    Result<std::vector<std::uint8_t>> dispatchRemote(CallContext& ctx, std::span<const std::uint8_t> payload);
    /// The QEMU and LXC programs: driver-specific extras, served once the connection is open.
    Result<std::vector<std::uint8_t>> dispatchProgram(CallContext& ctx, const rpc::proto::ProcedureInfo* info,
                                                      access::Program program, std::string_view driverWord,
                                                      const HandlerTable& handlers,
                                                             std::span<const std::uint8_t> payload);

    drivers::DriverRegistry& registry_;
    AuthSettings auth_;
    AuthGuard guard_;
    ConsoleRegistry consoles_;
    access::AccessManager access_;
    HandlerTable handlers_;
    HandlerTable qemuHandlers_;
    HandlerTable lxcHandlers_;
    std::unordered_set<std::int32_t> inline_;  ///< REMOTE procedures registered with addInline
};

/// "DOMAIN_GET_XML_DESC" -> "virDomainGetXmlDesc"-style public API name for messages.
std::string apiNameOf(std::string_view procName);

// Handler families, each in its own file.
void registerConnectHandlers(Dispatcher& d);
void registerHostHandlers(Dispatcher& d);
void registerDomainHandlers(Dispatcher& d);
void registerDeviceHandlers(Dispatcher& d);
void registerDomainOpsHandlers(Dispatcher& d);
void registerEventHandlers(Dispatcher& d);
/// An event MESSAGE of REMOTE procedure `proc` carrying `body` (dispatch_events.cpp).
std::vector<std::uint8_t> eventPacket(std::int32_t proc, std::vector<std::uint8_t> body);
void registerStatsHandlers(Dispatcher& d);
void registerNetworkHandlers(Dispatcher& d);
void registerSecretHandlers(Dispatcher& d);
void registerNodeDeviceHandlers(Dispatcher& d);
void registerInterfaceHandlers(Dispatcher& d);
void registerStorageHandlers(Dispatcher& d);
void registerPoolEventHandlers(Dispatcher& d);
void registerTuningHandlers(Dispatcher& d);
void registerAgentHandlers(Dispatcher& d);
void registerContainerHandlers(Dispatcher& d);
void registerAuthHandlers(Dispatcher& d);

}  // namespace corral::daemon
