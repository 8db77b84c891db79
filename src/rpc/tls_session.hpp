// SPDX-License-Identifier: LGPL-2.1-or-later
// TLS for remote management (qemu+tls://, port 16514), over GnuTLS: the credentials a process
// loads once from libvirt's PKI files, and one non-blocking session per connection that an
// event loop drives. The checks of the peer follow libvirtd's observable behaviour
// (PROTOCOL-NOTES.md 4.3): a client certificate is required, it must verify against the CA (and
// CRL) and be within its dates, and its DN, in GnuTLS' get_dn form ("C=GB,O=Test,CN=client1"),
// must match one glob of tls_allowed_dn_list; the client checks the server's chain and host name.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rpc/transport.hpp"
#include "util/result.hpp"

// GnuTLS' handles; its header stays out of ours.
struct gnutls_session_int;
struct gnutls_certificate_credentials_st;
struct gnutls_priority_st;

namespace corral::rpc {

/// TLS 1.2 and 1.3 only: GnuTLS' NORMAL still offers 1.0 and 1.1 on Debian. Used when the
/// configuration names no priority string.
inline constexpr std::string_view kTlsDefaultPriority =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";

enum class TlsRole { Server, Client };

/// Where the credentials come from and how strictly the peer is checked. The file names are
/// libvirtd.conf's ca_file, crl_file, cert_file and key_file (or the client's ~/.pki/libvirt).
struct TlsConfig {
    TlsRole role = TlsRole::Server;
    std::string caFile;    ///< required: the CA(s) peers' certificates must chain to
    std::string crlFile;   ///< optional ("" = none); a name given must exist
    std::string certFile;  ///< our certificate: required for a server, optional for a client
    std::string keyFile;   ///< its private key; must not be accessible by group or others
    std::string priority;  ///< tls_priority; "" means kTlsDefaultPriority
    /// false is tls_no_verify_certificate=1 (server) or ?no_verify=1 (client): no check of the
    /// peer at all, not even that a client sent a certificate.
    bool verifyPeer = true;
    /// false is tls_no_sanity_certificate=1 (server) or ?no_sanity=1 (client): our own
    /// certificate is loaded even when out of its validity dates.
    bool checkOwnCertificate = true;
    /// tls_allowed_dn_list (server only): globs with '*' and '?'; empty allows any client whose
    /// certificate verifies.
    std::vector<std::string> allowedDns;
};

/// Whether `dn` matches one of `patterns` (GLib-style globs, as libvirt matches them). An empty
/// list allows every DN.
[[nodiscard]] bool tlsDnAllowed(std::string_view dn, const std::vector<std::string>& patterns);

/// Refuses a private key file that group or others can access: the error names the path and
/// the fix (chmod 600). Any other stat() failure is reported with errno.
Result<void> checkPrivateKeyMode(const std::string& path);

/// Certificates, key, CRL and priority, loaded and checked once (at daemon start or connect),
/// then shared by every session; immutable after create(), so sessions may use it from any
/// thread. Sessions keep it alive through the shared_ptr.
class TlsCredentials {
public:
    /// Loads and checks the files: an unreadable or unparsable file, a key that does not match
    /// the certificate, a key file with group/other access, our own certificate being expired
    /// or not yet valid (unless checkOwnCertificate is off), or a bad priority string each fail
    /// here, naming the file or key.
    static Result<std::shared_ptr<const TlsCredentials>> create(TlsConfig config);
    ~TlsCredentials();
    TlsCredentials(const TlsCredentials&) = delete;
    TlsCredentials& operator=(const TlsCredentials&) = delete;

    [[nodiscard]] const TlsConfig& config() const { return config_; }

private:
    explicit TlsCredentials(TlsConfig config) : config_(std::move(config)) {}
    Result<void> load();
    Result<void> checkOwnCertificateDates() const;

    friend class TlsSession;
    TlsConfig config_;
    gnutls_certificate_credentials_st* cred_ = nullptr;
    gnutls_priority_st* priority_ = nullptr;
};

/// One TLS connection over a connected, non-blocking socket that the caller owns and keeps
/// open for the session's life. Every call does what it can without waiting; WantRead /
/// WantWrite say which readiness to wait for before calling the same function again.
///
/// Threads: handshake() from one thread; afterwards one thread may read() while another
/// write()s (GnuTLS keeps the two directions apart), but not two readers or two writers.
class TlsSession {
public:
    using Progress = HandshakingTransport::Progress;

    /// The outcome of read()/write(): with Progress::Done, `bytes` were moved (read: 0 means the
    /// peer closed the stream); otherwise nothing was, wait as told and call again.
    struct Io {
        Progress progress = Progress::Done;
        std::size_t bytes = 0;
    };

    /// `hostname` (client only) is the host from the URI; the server's certificate must match
    /// it (DNS or IP subjectAltName, or CN) and, unless it is an address, it goes out as SNI.
    static Result<std::unique_ptr<TlsSession>> create(std::shared_ptr<const TlsCredentials> creds,
                                                      int fd, std::string hostname = {});
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    /// One non-blocking step of the handshake; on Done the peer has been checked (unless
    /// verification is off). Errors say why: "TLS handshake failed: ..." for the protocol
    /// (versions, ciphers, an alert from the peer), AuthFailed with the reason for the peer's
    /// certificate (none sent, untrusted CA, expired, not yet valid, revoked, wrong host name,
    /// DN not in tls_allowed_dn_list). After an error the session is spent: close the socket.
    Result<Progress> handshake();
    /// Decrypted bytes into `buffer` (only after handshake() returned Done).
    Result<Io> read(std::span<std::uint8_t> buffer);
    /// Encrypts and sends `bytes`. After WantWrite, call again with the same bytes: GnuTLS has
    /// kept the record and sends it first.
    Result<Io> write(std::span<const std::uint8_t> bytes);
    /// Sends close_notify (our direction only). Done, or wait as told and call again.
    Result<Progress> bye();

    /// Plaintext GnuTLS already holds: read() returns it without the socket being readable,
    /// so an event loop must drain it before waiting.
    [[nodiscard]] std::size_t pending() const;
    /// The peer certificate's DN in GnuTLS' get_dn form, "" when it sent none or it was not
    /// verified (verifyPeer off) (valid once Done).
    [[nodiscard]] const std::string& peerDn() const { return peerDn_; }
    /// The cipher's key size in bits (SASL's external SSF over TLS), 0 before Done.
    [[nodiscard]] unsigned ssf() const;
    /// "TLS1.3", "TLS1.2" (valid once Done; for logs).
    [[nodiscard]] std::string protocolName() const;

private:
    TlsSession(std::shared_ptr<const TlsCredentials> creds, std::string hostname)
        : creds_(std::move(creds)), hostname_(std::move(hostname)) {}
    Result<void> setUp(int fd);
    Result<void> verifyPeer();
    [[nodiscard]] Progress waitDirection() const;
    /// GnuTLS' text for `rc`, with the alert's name when the peer sent one.
    [[nodiscard]] std::string describe(int rc) const;
    [[nodiscard]] bool isServer() const { return creds_->config().role == TlsRole::Server; }

    std::shared_ptr<const TlsCredentials> creds_;  ///< outlives session_, which points into it
    std::string hostname_;
    gnutls_session_int* session_ = nullptr;
    std::string peerDn_;
    int refusalAlert_ = 0;  ///< the gnutls_alert_description_t sent when verifyPeer() refuses
    bool handshakeDone_ = false;
    bool failed_ = false;
};

}  // namespace corral::rpc
