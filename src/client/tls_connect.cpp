// SPDX-License-Identifier: LGPL-2.1-or-later
#include "client/tls_connect.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace corral::client {

namespace {

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

/// libvirt's client file locations: DIR/NAME with pkipath, else the user's ~/.pki/libvirt
/// (non-root) when the file is there, else the system's.
rpc::TlsConfig clientFiles(const Uri& uri) {
    rpc::TlsConfig cfg;
    cfg.role = rpc::TlsRole::Client;
    if (auto it = uri.params.find("pkipath"); it != uri.params.end()) {
        const std::string& dir = it->second;
        cfg.caFile = dir + "/cacert.pem";
        cfg.crlFile = exists(dir + "/cacrl.pem") ? dir + "/cacrl.pem" : "";
        cfg.certFile = dir + "/clientcert.pem";
        cfg.keyFile = dir + "/clientkey.pem";
        return cfg;
    }
    cfg.caFile = "/etc/pki/CA/cacert.pem";
    cfg.crlFile = exists("/etc/pki/CA/cacrl.pem") ? "/etc/pki/CA/cacrl.pem" : "";
    cfg.certFile = "/etc/pki/libvirt/clientcert.pem";
    cfg.keyFile = "/etc/pki/libvirt/private/clientkey.pem";
    const char* home = std::getenv("HOME");
    if (::getuid() != 0 && home != nullptr) {
        std::string user = std::string(home) + "/.pki/libvirt/";
        for (auto [file, name] : {std::pair{&cfg.caFile, "cacert.pem"}, {&cfg.crlFile, "cacrl.pem"}}) {
            if (exists(user + name)) {
                *file = user + name;
            }
        }
        if (exists(user + "clientcert.pem") && exists(user + "clientkey.pem")) {
            cfg.certFile = user + "clientcert.pem";
            cfg.keyFile = user + "clientkey.pem";
        }
    }
    if (!exists(cfg.certFile)) {  // a client without a certificate: the server will say no
        cfg.certFile.clear();
        cfg.keyFile.clear();
    }
    return cfg;
}

/// Waits until `fd` is ready as `progress` asks, at most 30 s.
Result<void> waitFor(int fd, rpc::HandshakingTransport::Progress progress, const std::string& what) {
    pollfd p{fd, static_cast<short>(progress == rpc::HandshakingTransport::Progress::WantWrite ? POLLOUT : POLLIN), 0};
    int rc = ::poll(&p, 1, 30000);
    if (rc == 0) {
        return fail(ErrorCode::SystemError, what + ": the server did not answer within 30 s", ErrorDomain::Rpc);
    }
    return {};
}

}  // namespace

Result<UniqueFd> connectTcp(const std::string& host, const std::string& port, const char* defaultPort) {
    std::string service = port.empty() ? defaultPort : port;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
        return fail(ErrorCode::SystemError, "Unable to resolve address '" + host + "' service '" + service +
                                                "': " + gai_strerror(rc), ErrorDomain::Rpc);
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, &::freeaddrinfo);
    int lastErrno = 0;
    for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
        UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
        if (fd && ::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0) {
            ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
            return fd;
        }
        lastErrno = errno;
    }
    return fail(ErrorCode::SystemError,
                "unable to connect to server at '" + host + ":" + service + "': " + std::strerror(lastErrno),
                ErrorDomain::Rpc);
}

Result<std::unique_ptr<rpc::TlsTransport>> connectTls(const Uri& uri) {
    rpc::TlsConfig cfg = clientFiles(uri);
    if (auto it = uri.params.find("no_verify"); it != uri.params.end() && it->second == "1") {
        cfg.verifyPeer = false;
    }
    if (auto it = uri.params.find("no_sanity"); it != uri.params.end() && it->second == "1") {
        cfg.checkOwnCertificate = false;
    }
    if (auto it = uri.params.find("tls_priority"); it != uri.params.end()) {
        cfg.priority = it->second;
    }
    CORRAL_ASSIGN_OR_RETURN(auto creds, rpc::TlsCredentials::create(std::move(cfg)));
    CORRAL_ASSIGN_OR_RETURN(UniqueFd socket, connectTcp(uri.host, uri.port, "16514"));
    int fd = socket.get();
    CORRAL_ASSIGN_OR_RETURN(auto tls, rpc::TlsTransport::create(std::move(creds), std::move(socket), uri.host));
    while (true) {
        CORRAL_ASSIGN_OR_RETURN(auto progress, tls->handshake());
        if (progress == rpc::HandshakingTransport::Progress::Done) {
            break;
        }
        CORRAL_TRY(waitFor(fd, progress, "TLS handshake"));
    }
    // The server accepted our certificate when it sends 1; it closes otherwise.
    std::uint8_t confirm = 0;
    while (true) {
        std::vector<UniqueFd> none;
        ssize_t n = tls->receive(std::span<std::uint8_t>(&confirm, 1), none);
        if (n == 1) {
            break;
        }
        if (n < 0 && errno == EAGAIN) {
            CORRAL_TRY(waitFor(fd, rpc::HandshakingTransport::Progress::WantRead, "TLS confirmation"));
            continue;
        }
        return fail(ErrorCode::AuthFailed,
                    "Unable to read TLS confirmation: the server refused our certificate (see its log for why)",
                    ErrorDomain::Rpc);
    }
    if (confirm != 1) {
        return fail(ErrorCode::AuthFailed, "server verification (of our certificate or IP address) failed",
                    ErrorDomain::Rpc);
    }
    return tls;
}

}  // namespace corral::client
