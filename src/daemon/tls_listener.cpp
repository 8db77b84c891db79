// SPDX-License-Identifier: LGPL-2.1-or-later
#include "daemon/tls_listener.hpp"

#include <sys/stat.h>

#include "rpc/tls_transport.hpp"

namespace corral::daemon {

namespace {

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

Result<Server::TlsAcceptor> makeTlsAcceptor(const DaemonConfig& config, const DaemonPaths& paths) {
    // libvirt's default locations, under --root: ROOT/etc/pki/CA/cacert.pem ...
    rpc::TlsConfig tls;
    tls.role = rpc::TlsRole::Server;
    tls.caFile = config.caFile.empty() ? paths.pkiDir + "/CA/cacert.pem" : config.caFile;
    std::string defaultCrl = paths.pkiDir + "/CA/cacrl.pem";
    tls.crlFile = !config.crlFile.empty() ? config.crlFile : exists(defaultCrl) ? defaultCrl : "";
    tls.certFile = config.certFile.empty() ? paths.pkiDir + "/libvirt/servercert.pem" : config.certFile;
    tls.keyFile = config.keyFile.empty() ? paths.pkiDir + "/libvirt/private/serverkey.pem" : config.keyFile;
    // libvirt's "NORMAL" default would allow TLS 1.0/1.1 here: keep 1.2+ unless configured.
    tls.priority = config.tlsPriority == "NORMAL" ? "" : config.tlsPriority;
    tls.verifyPeer = !config.tlsNoVerifyCertificate;
    tls.checkOwnCertificate = !config.tlsNoSanityCertificate;
    tls.allowedDns = config.tlsAllowedDnList;
    CORRAL_ASSIGN_OR_RETURN(auto creds,
                            rpc::TlsCredentials::create(std::move(tls)).withContext("listen_tls"));
    return Server::TlsAcceptor([creds](UniqueFd socket) -> Result<std::unique_ptr<rpc::HandshakingTransport>> {
        CORRAL_ASSIGN_OR_RETURN(auto transport, rpc::TlsTransport::create(creds, std::move(socket)));
        return std::unique_ptr<rpc::HandshakingTransport>(std::move(transport));
    });
}

}  // namespace corral::daemon
