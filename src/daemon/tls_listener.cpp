// SPDX-License-Identifier: LGPL-2.1-or-later
#include "daemon/tls_listener.hpp"

namespace corral::daemon {

Result<Server::TlsAcceptor> makeTlsAcceptor(const DaemonConfig& config, const DaemonPaths& paths) {
    (void)config;
    (void)paths;
    return fail(ErrorCode::NoSupport, "listen_tls: TLS is not wired into this build yet");
}

}  // namespace corral::daemon
