// SPDX-License-Identifier: LGPL-2.1-or-later
// The TLS listener's set-up: credentials from libvirt's default paths (relative to --root) or
// the key_file/cert_file/ca_file/crl_file settings, and the acceptor the server runs for each
// connection on listen_tls.
#pragma once

#include "daemon/daemon_config.hpp"
#include "daemon/paths.hpp"
#include "daemon/server.hpp"

namespace corral::daemon {

/// Loads the server's certificate, key, CA and CRL once (a key readable by others is refused
/// with its path named) and returns what wraps each accepted socket in a TLS session that
/// requires a client certificate, checked against the CA and tls_allowed_dn_list.
Result<Server::TlsAcceptor> makeTlsAcceptor(const DaemonConfig& config, const DaemonPaths& paths);

}  // namespace corral::daemon
