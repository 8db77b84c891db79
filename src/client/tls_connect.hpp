// SPDX-License-Identifier: LGPL-2.1-or-later
// The client side of driver+tls://host[:port]/path: TCP to the host, the TLS handshake with the
// client certificate from libvirt's places (?pkipath=DIR, else /etc/pki for root, else
// ~/.pki/libvirt), the server checked against the CA and the URI's host (?no_verify=1 skips
// that), then the confirmation byte libvirt's servers send.
#pragma once

#include <memory>

#include "client/uri.hpp"
#include "rpc/tls_transport.hpp"

namespace corral::client {

Result<std::unique_ptr<rpc::TlsTransport>> connectTls(const Uri& uri);

/// The host's TCP connection (port "" = `defaultPort`), non-blocking once connected. Errors
/// name the host and port.
Result<UniqueFd> connectTcp(const std::string& host, const std::string& port, const char* defaultPort);

}  // namespace corral::client
