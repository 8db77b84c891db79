// SPDX-License-Identifier: LGPL-2.1-or-later
// SASL authentication: AUTH_SASL_INIT, START and STEP over Cyrus (rpc/sasl_session.hpp), with
// libvirt's rules (a security layer of tcp_min_ssf bits on plain TCP, sasl_allowed_username_list)
// and Corral's guards: every outcome audited, each failure slowing the next answers to that
// source and for that user (auth_guard.hpp), max_auth_attempts failures ending the connection.
#include "daemon/dispatcher.hpp"
#include "objects/store.hpp"
#include "rpc/scram_decoy.hpp"
#include "util/logging.hpp"

namespace corral::daemon {

namespace proto = rpc::proto;
using proto::xdr_void;

namespace {

Error authFailed() {
    // The client learns nothing more (wrong password, unknown user, refused user alike).
    return Error{ErrorCode::AuthFailed, ErrorDomain::Rpc, "authentication failed"};
}

rpc::SaslData fromWire(int nil, const std::vector<char>& data) {
    if (nil != 0) {
        return std::nullopt;
    }
    return std::string(data.begin(), data.end());
}

template <class Ret>
Ret toWire(const rpc::SaslStep& step) {
    Ret ret{};
    ret.complete = step.state == rpc::SaslStep::State::Done ? 1 : 0;
    ret.nil = step.data ? 0 : 1;
    if (step.data) {
        ret.data.assign(step.data->begin(), step.data->end());
    }
    return ret;
}

/// The channel's own strength for SASL's SSF rules: TLS and unix sockets are secure already.
unsigned externalSsf(const ClientSession& session) {
    const auto& transport = session.peer().transport;
    if (transport == "tls") {
        return 256;
    }
    return transport == "unix" ? rpc::kLocalSocketSsf : 0;
}

/// The SASL exchange of this session, when a step may run now: SASL is what the listener wants,
/// the session is not authenticated yet, and no answer is still held back (a client that does
/// not wait for its answers gets no extra guesses: every call fails until then).
Result<std::shared_ptr<rpc::SaslServer>> saslInProgress(ClientSession& session) {
    std::lock_guard lock(session.stateMutex());
    if (session.authScheme != AuthScheme::Sasl || session.authenticated || !session.sasl ||
        session.hasHeldReplies()) {
        return unexpected(authFailed());
    }
    return session.sasl;
}

/// One AUTH_SASL_START or STEP as the AuthGuard sees it: who tries, for whom, and when the
/// answer may go out (fixed before the attempt is judged, so it cannot depend on the outcome).
struct Attempt {
    std::string source;
    std::string user;  ///< the name the client claimed so far, "" when none
    std::optional<AuthGuard::Clock::time_point> answerAt;  ///< nullopt: too many failures, not judged
};

Attempt beginAttempt(Dispatcher& d, ClientSession& session, const std::string& mech, const rpc::SaslData& data) {
    Attempt a;
    a.source = AuthGuard::sourceOf(session.peer().address, session.peer().uid);
    std::string claimed = data ? rpc::claimedSaslUser(mech, *data) : std::string();
    {
        std::lock_guard lock(session.stateMutex());
        if (!claimed.empty()) {
            session.saslClaimedUser = claimed;  // SCRAM names it at START, DIGEST-MD5 at STEP
        }
        a.user = session.saslClaimedUser;
    }
    a.answerAt = d.authGuard().answerAt(a.source, a.user);
    return a;
}

/// Turns a finished or failed step into the session's state and the reply, which goes out at
/// the attempt's time whatever the outcome.
template <class Ret>
Result<Ret> conclude(Dispatcher& d, CallContext& ctx, const std::string& mech, const Attempt& attempt,
                     Result<rpc::SaslStep> step) {
    auto& session = *ctx.session;
    std::shared_ptr<rpc::SaslServer> sasl;
    {
        std::lock_guard lock(session.stateMutex());
        sasl = session.sasl;
    }
    if (sasl) {
        for (const auto& warning : sasl->takeWarnings()) {
            logWarning(warning);
        }
    }
    const auto now = AuthGuard::Clock::now();
    if (attempt.answerAt && *attempt.answerAt > now) {
        ctx.replyDelay = std::chrono::ceil<std::chrono::milliseconds>(*attempt.answerAt - now);
    }
    if (!step || !attempt.answerAt) {
        std::string detail = !attempt.answerAt
                                 ? "not judged: too many failed attempts from this source or for this user"
                             : sasl ? sasl->failureDetail()
                                    : step.error().message;
        unsigned attempts = 0;
        {
            std::lock_guard lock(session.stateMutex());
            session.sasl.reset();  // spent: another attempt starts with AUTH_SASL_INIT
            attempts = ++session.failedAuthAttempts;
        }
        d.auditAuthentication(session.peer(), mech, attempt.user, false, detail);
        if (attempt.answerAt) {
            d.authGuard().failed(attempt.source, attempt.user);
        }
        ctx.closeAfterReply = attempts >= d.authSettings().maxAuthAttempts;
        return unexpected(authFailed());
    }
    if (step->state == rpc::SaslStep::State::Done) {
        std::string user = sasl->username();
        d.auditAuthentication(session.peer(), mech, user, true, "ssf " + std::to_string(sasl->ssf()));
        d.authGuard().succeeded(attempt.source, attempt.user);
        // The session counts as authenticated only once the answer is out: a call sent behind
        // the last step (AUTH_LIST, CONNECT_OPEN) must not tell the result before its time.
        std::weak_ptr<ClientSession> weak = ctx.session;
        ctx.whenAnswered = [weak, user] {
            if (auto s = weak.lock()) {
                std::lock_guard lock(s->stateMutex());
                s->authenticated = true;
                s->saslUser = user;
                s->sasl.reset();  // done: the layer lives on in the session's transport
            }
        };
        // From the next packet on, both directions go through the layer (libvirt switches
        // whatever the SSF; with none negotiated Cyrus passes bytes through unchanged).
        ctx.layerAfterReply = sasl;
    }
    return toWire<Ret>(*step);
}

}  // namespace

void Dispatcher::auditAuthentication(const PeerIdentity& peer, const std::string& mechanism,
                                     const std::string& identity, bool success, const std::string& detail) {
    std::string who = identity.empty() ? "-" : identity;
    std::string line = std::string("authentication ") + (success ? "succeeded" : "failed") + ": " + peer.transport +
                       " client " + peer.address + " mechanism " + mechanism + " identity " + who +
                       (detail.empty() ? "" : " (" + detail + ")");
    success ? logInfo(line) : logWarning(line);
    if (auth_.store == nullptr) {
        return;
    }
    objects::AuditRecord rec;
    rec.kind = "auth";
    rec.subject = who;
    rec.object = peer.transport + " " + peer.address;
    rec.detail = mechanism + (detail.empty() ? "" : " " + detail);
    rec.success = success;
    if (auto stored = auth_.store->appendAudit(rec); !stored) {
        logWarning("cannot record the authentication in the audit table: " + stored.error().wireMessage());
    }
}

void registerAuthHandlers(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_AUTH_SASL_INIT>([&d](CallContext& ctx, const xdr_void&)
                                                 -> Result<proto::remote_auth_sasl_init_ret> {
        auto& session = *ctx.session;
        {
            std::lock_guard lock(session.stateMutex());
            if (session.authScheme != AuthScheme::Sasl || session.authenticated || session.hasHeldReplies()) {
                return unexpected(authFailed());  // libvirtd: "client tried invalid SASL init request"
            }
        }
        rpc::SaslServerOptions options;
        if (session.peer().transport != "unix") {
            options.localAddr = session.peer().localAddress;
            options.remoteAddr = session.peer().address;
        }
        options.externalSsf = externalSsf(session);
        options.minSsf = d.authSettings().tcpMinSsf;
        options.allowDigestMd5 = d.authSettings().allowDigestMd5;
        options.allowedUsernames = d.authSettings().saslAllowedUsernames;
        auto server = rpc::SaslServer::create(options);
        if (!server) {
            logWarning("SASL set-up failed for " + session.peer().address + ": " + server.error().wireMessage());
            return unexpected(authFailed());
        }
        auto mechs = (*server)->mechanisms();
        for (const auto& warning : (*server)->takeWarnings()) {
            logWarning(warning);
        }
        if (!mechs) {
            logWarning("no SASL mechanism can serve " + session.peer().address + ": " + mechs.error().wireMessage());
            return unexpected(authFailed());
        }
        {
            std::lock_guard lock(session.stateMutex());
            session.sasl = std::move(*server);
        }
        proto::remote_auth_sasl_init_ret ret;
        ret.mechlist = *mechs;
        return ret;
    });
    d.add<proto::REMOTE_PROC_AUTH_SASL_START>([&d](CallContext& ctx, const proto::remote_auth_sasl_start_args& a)
                                                  -> Result<proto::remote_auth_sasl_start_ret> {
        rpc::SaslData data = fromWire(a.nil, a.data);
        auto sasl = saslInProgress(*ctx.session);
        if (sasl) {
            std::lock_guard lock(ctx.session->stateMutex());
            ctx.session->saslMechanism = a.mech;  // for the audit record of the later steps
            ctx.session->saslClaimedUser.clear();
        }
        Attempt attempt = beginAttempt(d, *ctx.session, a.mech, data);
        if (!sasl || !attempt.answerAt) {
            return conclude<proto::remote_auth_sasl_start_ret>(d, ctx, a.mech, attempt, unexpected(authFailed()));
        }
        return conclude<proto::remote_auth_sasl_start_ret>(d, ctx, a.mech, attempt, (*sasl)->start(a.mech, data));
    });
    d.add<proto::REMOTE_PROC_AUTH_SASL_STEP>([&d](CallContext& ctx, const proto::remote_auth_sasl_step_args& a)
                                                 -> Result<proto::remote_auth_sasl_step_ret> {
        std::string mech;
        {
            std::lock_guard lock(ctx.session->stateMutex());
            mech = ctx.session->saslMechanism;
        }
        rpc::SaslData data = fromWire(a.nil, a.data);
        auto sasl = saslInProgress(*ctx.session);
        Attempt attempt = beginAttempt(d, *ctx.session, mech, data);
        if (!sasl || !attempt.answerAt) {
            return conclude<proto::remote_auth_sasl_step_ret>(d, ctx, mech, attempt, unexpected(authFailed()));
        }
        return conclude<proto::remote_auth_sasl_step_ret>(d, ctx, mech, attempt, (*sasl)->step(data));
    });
}

}  // namespace corral::daemon
