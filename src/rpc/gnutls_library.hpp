// SPDX-License-Identifier: LGPL-2.1-or-later
// GnuTLS, loaded the first time TLS or SASL (for its SCRAM decoy, scram_decoy.hpp) is used: a
// corrald without either never maps it (with p11-kit, nettle, hogweed and gmp about 2.2 MiB of
// resident pages, and their start-up work). The types and constants come from GnuTLS's headers
// as usual; the functions are called through the table loadGnutls() fills.
#pragma once

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "util/result.hpp"

namespace corral::rpc {

// Every GnuTLS function Corral calls, without the gnutls_ prefix: one list declares the table
// and loads it, so the two cannot drift apart.
#define CORRAL_GNUTLS_FUNCTIONS(X)                                                                  \
    X(alert_get) X(alert_get_name) X(alert_send) X(alert_send_appropriate) X(bye)                   \
    X(certificate_allocate_credentials) X(certificate_free_credentials) X(certificate_get_crt_raw)  \
    X(certificate_get_peers)                                                                        \
    X(certificate_send_x509_rdn_sequence) X(certificate_server_set_request)                         \
    X(certificate_set_x509_crl_file) X(certificate_set_x509_key_file)                               \
    X(certificate_set_x509_trust_file) X(certificate_verification_status_print)                     \
    X(certificate_verify_peers) X(cipher_get) X(cipher_get_key_size) X(credentials_set) X(deinit)   \
    X(error_is_fatal) X(handshake) X(hmac_fast) X(init) X(pbkdf2) X(priority_deinit)                \
    X(priority_init) X(priority_set)                                                                \
    X(protocol_get_name) X(protocol_get_version) X(record_check_pending) X(record_get_direction)    \
    X(record_recv) X(record_send) X(server_name_set) X(strerror) X(transport_set_int2)              \
    X(x509_crt_deinit) X(x509_crt_get_activation_time) X(x509_crt_get_dn3)                          \
    X(x509_crt_get_expiration_time) X(x509_crt_get_issuer_dn3) X(x509_crt_import) X(x509_crt_init)

struct GnutlsLibrary {
#define CORRAL_GNUTLS_POINTER(name) decltype(&::gnutls_##name) name = nullptr;
    CORRAL_GNUTLS_FUNCTIONS(CORRAL_GNUTLS_POINTER)
#undef CORRAL_GNUTLS_POINTER
    /// gnutls_free is a variable holding the deallocator, not a function.
    gnutls_free_function free = nullptr;
};

/// Loads libgnutls.so.30 once for the process (later calls return the same table); the error
/// names the library and what the loader said.
Result<const GnutlsLibrary*> loadGnutls();

/// The loaded table. Only valid after loadGnutls() succeeded: TlsCredentials::create loads it,
/// and every other TLS object needs credentials first.
const GnutlsLibrary& gnutls();

}  // namespace corral::rpc
