// SPDX-License-Identifier: LGPL-2.1-or-later
// Connection: transport set-up, handshake and synchronous calls.
#include "client/connection.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "client/sasl_credentials.hpp"
#include "client/tls_connect.hpp"
#include "daemon/embedded.hpp"
#include "rpc/generated/keepalive_protocol.hpp"
#include "rpc/generated/netmessage_protocol.hpp"
#include "util/unix_socket.hpp"

namespace corral::client {

namespace proto = rpc::proto;

namespace {

/// "IP;PORT" of a TCP socket's end, the form SASL wants.
std::string socketAddressText(int fd, bool peer) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                  : ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    char host[NI_MAXHOST] = "?";
    char port[NI_MAXSERV] = "0";
    if (rc == 0) {
        ::getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, port, sizeof port,
                      NI_NUMERICHOST | NI_NUMERICSERV);
    }
    return std::string(host) + ";" + port;
}

constexpr int kFeatureRemoteEventCallback = 14;
constexpr int kFeatureRemoteCloseCallback = 15;

}  // namespace

Connection::~Connection() { close(); }

Result<std::unique_ptr<Connection>> Connection::open(const Uri& uri, bool readOnly) {
    std::unique_ptr<Connection> c(new Connection());
    c->uri_ = uri;
    c->uriText_ = uri.original;
    if (uri.isEmbedded()) {
        CORRAL_ASSIGN_OR_RETURN(c->embedded_, daemon::EmbeddedServer::start());
        c->fd_.reset(c->embedded_->takeClientFd());
    } else if (uri.transport.empty() || uri.transport == "unix") {
        if (!uri.host.empty() && uri.transport.empty()) {
            return fail(ErrorCode::NoSupport,
                        "remote hosts need a transport: use " + uri.driver + "+tls:// or " + uri.driver + "+ssh://",
                        ErrorDomain::Remote);
        }
        CORRAL_ASSIGN_OR_RETURN(c->fd_, connectUnixSocket(uri.socketPath(readOnly)));
    } else if (uri.transport == "tls") {
        CORRAL_ASSIGN_OR_RETURN(c->tls_, connectTls(uri));
        c->fd_.reset(::dup(c->tls_->fd()));  // for polling; the TLS transport owns the socket
    } else if (uri.transport == "tcp") {
        // Plain TCP: the daemon demands SASL with a security layer (authenticateSasl).
        CORRAL_ASSIGN_OR_RETURN(c->fd_, connectTcp(uri.host, uri.port, "16509"));
        ::fcntl(c->fd_.get(), F_SETFL, ::fcntl(c->fd_.get(), F_GETFL) & ~O_NONBLOCK);
    } else if (uri.transport == "ssh") {
        CORRAL_ASSIGN_OR_RETURN(SshTunnel tunnel, SshTunnel::open(uri, readOnly));
        c->fd_ = tunnel.takeSocket();
        c->ssh_ = std::make_unique<SshTunnel>(std::move(tunnel));
    } else {
        return fail(ErrorCode::NoSupport, "transport '" + uri.transport + "' is not supported yet",
                    ErrorDomain::Remote);
    }

    auto handshake = c->handshake(uri, readOnly);
    if (!handshake && c->ssh_) {
        // A broken tunnel is ssh's story (host key, refused key, no helper): tell it.
        return unexpected(c->ssh_->explain(handshake.error()));
    }
    CORRAL_TRY(std::move(handshake));
    return c;
}

Result<void> Connection::handshake(const Uri& uri, bool readOnly) {
    // The handshake virsh performs (PROTOCOL-NOTES 2.1), minus keepalive: this client does not
    // sit idle long enough to need it, so the daemon never pings it.
    Connection* c = this;
    auto auth = c->call<proto::REMOTE_PROC_AUTH_LIST>(proto::xdr_void{});
    if (auth) {
        for (auto t : auth->types) {
            if (t == proto::REMOTE_AUTH_SASL) {
                CORRAL_TRY(authenticateSasl(uri));
            } else if (t != proto::REMOTE_AUTH_NONE) {
                return fail(ErrorCode::AuthFailed, "authentication type " + std::to_string(t) +
                                                       " is not supported by this client",
                            ErrorDomain::Remote);
            }
        }
    } else if (auth.error().code != ErrorCode::NoSupport) {
        return unexpected(std::move(auth).error());
    }
    proto::remote_connect_open_args openArgs;
    openArgs.name = uri.openName();
    openArgs.flags = readOnly ? 1u : 0u;
    CORRAL_TRY(c->call<proto::REMOTE_PROC_CONNECT_OPEN>(openArgs));
    c->opened_ = true;
    proto::remote_connect_supports_feature_args feature{};
    feature.feature = kFeatureRemoteEventCallback;
    auto events = c->call<proto::REMOTE_PROC_CONNECT_SUPPORTS_FEATURE>(feature);
    feature.feature = kFeatureRemoteCloseCallback;
    auto closeCb = c->call<proto::REMOTE_PROC_CONNECT_SUPPORTS_FEATURE>(feature);
    if (closeCb && closeCb->supported != 0) {
        c->closeCallback_ = c->call<proto::REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK>(proto::xdr_void{}).has_value();
    }
    (void)events;
    return {};
}

void Connection::close() {
    if (!fd_) {
        return;
    }
    if (opened_) {
        if (closeCallback_) {
            (void)call<proto::REMOTE_PROC_CONNECT_UNREGISTER_CLOSE_CALLBACK>(proto::xdr_void{});
        }
        (void)call<proto::REMOTE_PROC_CONNECT_CLOSE>(proto::xdr_void{});
        opened_ = false;
    }
    fd_.reset();
    tls_.reset();
    embedded_.reset();
    ssh_.reset();
}

Result<void> Connection::authenticateSasl(const Uri& uri) {
    rpc::SaslClientOptions options;
    options.serverHost = uri.host.empty() ? "localhost" : uri.host;
    options.credentials = saslCredentials(uri);
    if (tls_) {
        options.externalSsf = tls_->session().ssf();
    } else if (uri.transport == "tcp") {
        options.localAddr = socketAddressText(fd_.get(), false);
        options.remoteAddr = socketAddressText(fd_.get(), true);
    } else {
        options.externalSsf = rpc::kLocalSocketSsf;  // unix socket, or ssh to one
    }
    CORRAL_ASSIGN_OR_RETURN(auto client, rpc::SaslClient::create(std::move(options)));
    CORRAL_ASSIGN_OR_RETURN(auto init, call<proto::REMOTE_PROC_AUTH_SASL_INIT>(proto::xdr_void{}));
    std::string only;  // ?auth=sasl.MECH, matched as virsh does (case-sensitive)
    if (auto it = uri.params.find("auth"); it != uri.params.end() && it->second.rfind("sasl.", 0) == 0) {
        only = it->second.substr(5);
    }
    CORRAL_ASSIGN_OR_RETURN(auto choice, client->start(init.mechlist, only));
    auto toWire = [](const rpc::SaslData& data, auto& args) {
        args.nil = data ? 0 : 1;
        if (data) {
            args.data.assign(data->begin(), data->end());
        }
    };
    auto fromWire = [](int nil, const std::vector<char>& data) -> rpc::SaslData {
        return nil != 0 ? std::nullopt : rpc::SaslData(std::string(data.begin(), data.end()));
    };
    proto::remote_auth_sasl_start_args start;
    start.mech = choice.mech;
    toWire(choice.data, start);
    CORRAL_ASSIGN_OR_RETURN(auto reply, call<proto::REMOTE_PROC_AUTH_SASL_START>(start));
    bool serverDone = reply.complete != 0;
    rpc::SaslData serverData = fromWire(reply.nil, reply.data);
    while (true) {
        // Also with the server's last word: that checks its proof (SCRAM's verifier).
        CORRAL_ASSIGN_OR_RETURN(auto step, client->step(serverData));
        if (serverDone) {
            break;
        }
        proto::remote_auth_sasl_step_args next;
        toWire(step.data, next);
        CORRAL_ASSIGN_OR_RETURN(auto answer, call<proto::REMOTE_PROC_AUTH_SASL_STEP>(next));
        serverDone = answer.complete != 0;
        serverData = fromWire(answer.nil, answer.data);
    }
    // The server switched to the security layer after its last reply; so do we, now.
    layer_ = std::shared_ptr<rpc::SaslClient>(std::move(client));
    return {};
}

Result<void> Connection::sendAll(const std::vector<std::uint8_t>& plain) {
    std::vector<std::uint8_t> encoded;
    if (layer_) {
        CORRAL_ASSIGN_OR_RETURN(encoded, layer_->encode(plain));
    }
    const std::vector<std::uint8_t>& bytes = layer_ ? encoded : plain;
    std::size_t off = 0;
    while (off < bytes.size()) {
        ssize_t n = tls_ ? tls_->send(std::span<const std::uint8_t>(bytes.data() + off, bytes.size() - off))
                         : ::send(fd_.get(), bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {  // TLS runs on a non-blocking socket
                pollfd pfd{fd_.get(), POLLOUT, 0};
                ::poll(&pfd, 1, -1);
                continue;
            }
            return fail(ErrorCode::SystemError, std::string("Cannot write data: ") + std::strerror(errno),
                        ErrorDomain::Rpc);
        }
        off += static_cast<std::size_t>(n);
    }
    return {};
}

Result<void> Connection::sendFile(int file) {
    while (true) {
        CORRAL_ASSIGN_OR_RETURN(bool sent, sendDescriptor(fd_.get(), file));
        if (sent) {
            return {};
        }
        pollfd pfd{fd_.get(), POLLOUT, 0};  // the socket is full: wait for room
        ::poll(&pfd, 1, -1);
    }
}

Result<std::optional<rpc::Packet>> Connection::readPacket(int timeoutMs) {
    while (true) {
        if (auto p = assembler_.next()) {
            return std::optional<rpc::Packet>(std::move(*p));
        }
        if (!tls_ || !tls_->hasBufferedInput()) {  // TLS may hold a record already read
            pollfd pfd{fd_.get(), POLLIN, 0};
            int r = ::poll(&pfd, 1, timeoutMs);
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r == 0) {
                return std::optional<rpc::Packet>();
            }
        }
        std::uint8_t buf[65536];
        std::vector<UniqueFd> fds;  // a REPLY_WITH_FDS brings descriptors (lxc-enter-namespace)
        ssize_t n = tls_ ? tls_->receive(std::span<std::uint8_t>(buf, sizeof buf), fds)
                         : receiveWithDescriptors(fd_.get(), std::span<std::uint8_t>(buf, sizeof buf), fds);
        if (n < 0 && tls_ && errno == EAGAIN) {
            continue;  // a partial record: wait for the rest
        }
        if (n == 0) {
            opened_ = false;
            return fail(ErrorCode::Rpc, "End of file while reading data: Input/output error", ErrorDomain::Rpc);
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            opened_ = false;
            return fail(ErrorCode::SystemError, std::string("Cannot recv data: ") + std::strerror(errno),
                        ErrorDomain::Rpc);
        }
        std::span<const std::uint8_t> got(buf, static_cast<std::size_t>(n));
        if (layer_) {
            CORRAL_ASSIGN_OR_RETURN(auto plain, layer_->decode(got));
            CORRAL_TRY(assembler_.feed(plain, std::move(fds)));
            continue;
        }
        CORRAL_TRY(assembler_.feed(got, std::move(fds)));
    }
}

Result<void> Connection::pumpAvailable() {
    CORRAL_ASSIGN_OR_RETURN(std::optional<rpc::Packet> packet, readPacket(0));
    while (packet) {
        handleAsync(*packet);
        CORRAL_ASSIGN_OR_RETURN(packet, readPacket(0));
    }
    return {};
}

namespace {

rpc::MessageHeader streamHeader(std::int32_t proc, std::uint32_t serial, rpc::MessageStatus status) {
    rpc::MessageHeader h{};
    h.prog = proto::REMOTE_PROGRAM;
    h.vers = proto::REMOTE_PROTOCOL_VERSION;
    h.proc = proc;
    h.type = rpc::MessageType::Stream;
    h.serial = serial;
    h.status = status;
    return h;
}

}  // namespace

Result<void> Connection::sendStream(std::int32_t proc, std::uint32_t serial, std::span<const std::uint8_t> data) {
    return sendAll(rpc::buildPacket(streamHeader(proc, serial, rpc::MessageStatus::Continue), data));
}

Result<void> Connection::finishStream(std::int32_t proc, std::uint32_t serial, bool abort) {
    auto status = abort ? rpc::MessageStatus::Error : rpc::MessageStatus::Ok;
    return sendAll(rpc::buildPacket(streamHeader(proc, serial, status), std::span<const std::uint8_t>{}));
}

Result<void> Connection::sendStreamHole(std::int32_t proc, std::uint32_t serial, std::uint64_t length) {
    rpc::MessageHeader h = streamHeader(proc, serial, rpc::MessageStatus::Continue);
    h.type = rpc::MessageType::StreamHole;
    proto::remote_stream_hole hole{};
    hole.length = static_cast<std::int64_t>(length);
    hole.flags = 0;
    return sendAll(rpc::buildPacket(h, hole));
}

void Connection::handleAsync(const rpc::Packet& packet) {
    if (packet.header.prog == proto::KEEPALIVE_PROGRAM && packet.header.proc == proto::KEEPALIVE_PROC_PING) {
        rpc::MessageHeader h = packet.header;
        h.proc = proto::KEEPALIVE_PROC_PONG;
        (void)sendAll(rpc::buildPacket(h, std::span<const std::uint8_t>{}));
        return;
    }
    if (packet.header.type == rpc::MessageType::Message && onMessage_) {
        onMessage_(packet);
    }
    if ((packet.header.type == rpc::MessageType::Stream || packet.header.type == rpc::MessageType::StreamHole) &&
        onStream_) {
        onStream_(packet);
    }
}

Result<std::vector<std::uint8_t>> Connection::callRaw(std::uint32_t prog, std::int32_t proc,
                                                     const std::vector<std::uint8_t>& args, std::span<const int> files,
                                                     std::vector<UniqueFd>* replyFds) {
    if (!fd_) {
        return fail(ErrorCode::InvalidConn, "the connection is closed", ErrorDomain::Rpc);
    }
    rpc::MessageHeader h{};
    h.prog = prog;
    h.vers = 1;  // every program of libvirt's protocol is at version 1
    h.proc = proc;
    h.type = files.empty() ? rpc::MessageType::Call : rpc::MessageType::CallWithFds;
    h.serial = serial_++;
    h.status = rpc::MessageStatus::Ok;
    if (files.empty()) {
        CORRAL_TRY(sendAll(rpc::buildPacket(h, std::span<const std::uint8_t>(args))));
    } else {
        CORRAL_TRY(sendAll(rpc::buildPacketWithFds(h, static_cast<std::uint32_t>(files.size()),
                                                   std::span<const std::uint8_t>(args))));
        for (int file : files) {
            CORRAL_TRY(sendFile(file));
        }
    }
    while (true) {
        CORRAL_ASSIGN_OR_RETURN(std::optional<rpc::Packet> packet, readPacket(-1));
        if (!packet) {
            continue;
        }
        bool reply = packet->header.type == rpc::MessageType::Reply ||
                     packet->header.type == rpc::MessageType::ReplyWithFds;
        if (!reply || packet->header.serial != h.serial) {
            handleAsync(*packet);
            continue;
        }
        if (replyFds != nullptr) {
            *replyFds = std::move(packet->fds);
        }
        if (packet->header.status == rpc::MessageStatus::Error) {
            proto::remote_error err{};
            if (!proto::decodeFromBytes(packet->payload, err)) {
                return fail(ErrorCode::Rpc, "Unable to decode the error reply", ErrorDomain::Rpc);
            }
            Error e;
            e.code = static_cast<ErrorCode>(err.code);
            e.domain = static_cast<ErrorDomain>(err.domain);
            // The server's text is already complete (prefix included): keep it verbatim.
            e.message = err.message.value_or("");
            e.verbatim = true;
            return unexpected(std::move(e));
        }
        return std::move(packet->payload);
    }
}

Result<void> Connection::pump(std::chrono::steady_clock::time_point deadline, const std::function<bool()>& stop) {
    while (!stop()) {
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
            return {};
        }
        int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count());
        CORRAL_ASSIGN_OR_RETURN(std::optional<rpc::Packet> packet, readPacket(std::min(ms, 200)));
        if (packet) {
            handleAsync(*packet);
        }
    }
    return {};
}

}  // namespace corral::client
