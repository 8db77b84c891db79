// SPDX-License-Identifier: LGPL-2.1-or-later
// SASL authentication (AUTH_SASL_INIT/START/STEP) and its security layer, over Cyrus libsasl2.
// Both ends use Cyrus, so tokens and the layer's framing are byte-compatible with libvirt's.
//
// Naming. Two names are involved and they differ on purpose:
//  * the SASL *service* is "libvirt" on both sides: virsh puts it in its requests (DIGEST-MD5's
//    digest-uri "libvirt/<host>", GSSAPI's principal "libvirt/<fqdn>"), and Cyrus' DIGEST-MD5
//    server refuses a digest-uri whose service differs from its own, so the server must say
//    "libvirt" too;
//  * the *application* name is "corral": it only chooses the configuration file,
//    <root>/etc/sasl2/corral.conf, so Corral never reads or disturbs libvirt's
//    /etc/sasl2/libvirt.conf.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rpc/transport.hpp"
#include "util/result.hpp"

// Cyrus' connection handle; its header stays out of ours.
struct sasl_conn;

namespace corral::rpc {

struct SaslClientCallbacks;

/// The SASL service name both ends announce (see the comment at the top).
inline constexpr std::string_view kSaslService = "libvirt";
/// The Cyrus application name: the configuration file is <confdir>/corral.conf.
inline constexpr std::string_view kSaslAppName = "corral";
/// What a unix socket passes as externalSsf: the kernel is the only party between the ends, so it
/// counts as a secure channel (like TLS) and no security layer is negotiated on top of it.
inline constexpr unsigned kLocalSocketSsf = 256;
/// The largest plaintext we accept in one security-layer frame (libvirt asks for the same).
inline constexpr unsigned kSaslMaxBufSize = 65536;

/// Sets up Cyrus' server side for the whole process: application "corral", configuration in
/// `<root>/etc/sasl2` (root "" or "/" means the host's /etc/sasl2). Cyrus reads corral.conf here,
/// once, so call this before the first SaslServer. A second call with the same root does
/// nothing; one with another root fails, since Cyrus cannot be set up twice.
Result<void> initSaslServer(std::string_view root);
/// Sets up Cyrus' client side for the whole process (no configuration file). SaslClient::create
/// calls it; it is safe to call more than once.
Result<void> initSaslClient();

/// A token of the exchange. nullopt is SASL's "no data" (the wire's nil = 1), which is not the
/// same as an empty token.
using SaslData = std::optional<std::string>;

/// The outcome of one exchange step.
struct SaslStep {
    enum class State { Continue, Done };
    State state = State::Continue;
    SaslData data;  ///< what to send to the peer (with Done on the server: the final message)
};

/// What both ends share once negotiated: the SSF and the security layer. The layer is the
/// rpc::SecurityLayer the transport uses after the last authentication reply; encode() and
/// decode() may be called from different threads (one lock inside).
class SaslSession : public SecurityLayer {
public:
    ~SaslSession() override;
    SaslSession(const SaslSession&) = delete;
    SaslSession& operator=(const SaslSession&) = delete;

    /// The security layer's strength in bits, 0 when none (valid once Done).
    [[nodiscard]] unsigned ssf() const;
    /// True when the bytes are really wrapped (integrity or encryption): a layer was negotiated
    /// on a channel that was not secure by itself. When false, encode/decode pass bytes through.
    [[nodiscard]] bool hasLayer() const { return ssf() > 0 && externalSsf_ == 0; }
    /// The largest plaintext one encoded frame may carry (the peer's SASL_MAXOUTBUF).
    [[nodiscard]] unsigned maxOutput() const;

    /// Plaintext -> wire frames, cut so that no frame carries more than maxOutput() bytes.
    Result<std::vector<std::uint8_t>> encode(std::span<const std::uint8_t> plain) override;
    /// Wire bytes in any chunking -> the plaintext of the frames completed so far (Cyrus keeps
    /// a partial frame until the rest arrives).
    Result<std::vector<std::uint8_t>> decode(std::span<const std::uint8_t> wire) override;

protected:
    enum class Phase { Fresh, Started, Done, Failed };
    SaslSession(unsigned externalSsf, unsigned minSsf)
        : externalSsf_(externalSsf), minSsf_(minSsf) {}
    /// Applies the SSF rules to the new connection (see the .cpp).
    Result<void> setSecurityProperties();
    /// After the exchange: a channel that is not secure by itself needs a layer of minSsf bits.
    [[nodiscard]] bool strongEnough() const;
    [[nodiscard]] unsigned ssfLocked() const;
    /// Ends the Cyrus connection; subclasses call it first in their destructor when Cyrus
    /// holds pointers into them (callbacks).
    void dispose();
    /// Cyrus' text for the last failure of this connection.
    [[nodiscard]] std::string cyrusDetail() const;

    sasl_conn* conn_ = nullptr;  ///< set by the subclass' create(), disposed here
    const unsigned externalSsf_;
    const unsigned minSsf_;
    Phase phase_ = Phase::Fresh;
    mutable std::mutex mutex_;  ///< serialises every call into conn_
};

struct SaslServerOptions {
    std::string localAddr;   ///< "IP;PORT" of our end, "" for a unix socket
    std::string remoteAddr;  ///< "IP;PORT" of the client, "" for a unix socket
    /// The channel's own strength: TLS gives its cipher's key bits, a unix socket
    /// kLocalSocketSsf, plain TCP 0. Non-zero means secure: then minSsf is met by the channel
    /// and no layer is negotiated; 0 means only mechanisms with a layer of minSsf bits are offered.
    unsigned externalSsf = 0;
    unsigned minSsf = 56;         ///< tcp_min_ssf
    bool allowDigestMd5 = false;  ///< sasl_allow_digest_md5: deprecated (RFC 6331), off by default
    std::vector<std::string> allowedUsernames;  ///< sasl_allowed_username_list globs; empty: all
};

/// The daemon's end of one connection's SASL exchange.
///
/// Every failure of start()/step() is AuthFailed with the bare message, so the wire says only
/// "authentication failed" whether the password was wrong, the user unknown or not allowed;
/// failureDetail() keeps the reason for the daemon's log. After a failure the object is spent:
/// a new attempt needs a new SaslServer. A SCRAM start for a user the database does not have is
/// answered like one for a real user (scram_decoy.hpp) and fails at the next step, where a
/// wrong password fails.
class SaslServer final : public SaslSession {
public:
    /// Needs initSaslServer() first.
    static Result<std::unique_ptr<SaslServer>> create(const SaslServerOptions& options);

    /// AUTH_SASL_INIT's answer: the mechanisms Cyrus can run under the SSF rules, less DIGEST-MD5
    /// unless allowed, comma-separated as libvirtd sends them ("SCRAM-SHA-256,DIGEST-MD5").
    /// An empty list is an error (nothing configured can meet the rules).
    Result<std::string> mechanisms();
    /// AUTH_SASL_START: `mech` must be one of mechanisms(); `clientData` is the client's initial
    /// response, nullopt when it sent none.
    Result<SaslStep> start(std::string_view mech, const SaslData& clientData);
    /// AUTH_SASL_STEP.
    Result<SaslStep> step(const SaslData& clientData);

    /// The authenticated user name (valid once Done), e.g. "bob".
    [[nodiscard]] std::string username() const;
    /// Why the last call failed, for the daemon's log only: it may tell a wrong password from an
    /// unknown or refused user, which the client must not learn.
    [[nodiscard]] std::string failureDetail() const;
    /// Messages the caller should log as warnings (deprecated mechanism offered or used); each
    /// is returned once.
    std::vector<std::string> takeWarnings();

private:
    explicit SaslServer(const SaslServerOptions& options);
    /// Turns a Cyrus result into the step outcome, running the final checks on SASL_OK.
    Result<SaslStep> finish(int rc, const char* out, unsigned outLen);
    Result<SaslStep> refuse(std::string detail);
    [[nodiscard]] std::vector<std::string> offered() const;

    bool allowDigestMd5_;
    std::vector<std::string> allowedUsernames_;
    std::string username_;
    std::optional<std::string> decoyUser_;  ///< set when start() answered with the SCRAM decoy
    std::string failureDetail_;
    std::vector<std::string> warnings_;
};

/// Where the client's credentials come from, asked only when the mechanism needs them.
/// Returning nullopt means the user gave none (a cancelled prompt): the exchange fails.
struct SaslCredentials {
    std::function<std::optional<std::string>()> username;
    std::function<std::optional<std::string>()> password;
};

struct SaslClientOptions {
    std::string serverHost;    ///< the host name from the URI (DIGEST-MD5's digest-uri, GSSAPI)
    std::string localAddr;     ///< "IP;PORT", "" for a unix socket
    std::string remoteAddr;    ///< "IP;PORT", "" for a unix socket
    unsigned externalSsf = 0;  ///< as SaslServerOptions::externalSsf
    unsigned minSsf = 56;      ///< what a plain TCP channel must reach through the layer
    SaslCredentials credentials;
};

/// corral's end: what virsh does in remoteAuthSASL, driven by the caller's RPC calls.
class SaslClient final : public SaslSession {
public:
    struct Choice {
        std::string mech;   ///< for AUTH_SASL_START
        SaslData data;      ///< the initial response, nullopt when the mechanism has none
        bool done = false;  ///< the client side is already complete: call step() no more
    };

    static Result<std::unique_ptr<SaslClient>> create(SaslClientOptions options);
    ~SaslClient() override;

    /// Picks a mechanism from the server's list (AUTH_SASL_INIT, commas or spaces). With
    /// `onlyMech` non-empty (?auth=sasl.MECH) only that one is tried.
    Result<Choice> start(std::string_view serverMechs, std::string_view onlyMech = {});
    /// Feeds the server's token. Call it also with the data of the server's final reply
    /// (complete = 1): that checks the server's proof (SCRAM's verifier, DIGEST-MD5's rspauth);
    /// the exchange is over only when this returns Done. Not to be called once Done.
    Result<SaslStep> step(const SaslData& serverData);

private:
    explicit SaslClient(SaslClientOptions options);
    Result<SaslStep> finish(int rc, const char* out, unsigned outLen);

    friend struct SaslClientCallbacks;
    SaslClientOptions options_;
    std::unique_ptr<SaslClientCallbacks> callbacks_;  ///< must outlive conn_
    std::optional<std::string> user_;    ///< answered through SASL_CB_AUTHNAME, asked once
    std::vector<unsigned char> secret_;  ///< a sasl_secret_t for SASL_CB_PASS; wiped on destruction
};

}  // namespace corral::rpc
