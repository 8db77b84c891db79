// SPDX-License-Identifier: LGPL-2.1-or-later
// TLS sessions: real GnuTLS servers and clients over a non-blocking socketpair, with
// certificates made at test time by tools/corral-pki/corral-pki (certtool, from gnutls-bin):
// one good CA with its server and clients, an expired client, a client outside the DN list and
// a second CA that nobody trusts.
#include "rpc/tls_session.hpp"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

using namespace corral;
using namespace corral::rpc;

namespace {

using Progress = TlsSession::Progress;

constexpr const char* kPki = CORRAL_PKI_SCRIPT;
constexpr const char* kGoodDn = "C=GB,O=Test,CN=client1";

std::string& root() {
    static std::string dir;
    return dir;
}

bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null").c_str()) == 0; }

std::string pki(const std::string& args) { return std::string(kPki) + " " + args; }

/// The server's configuration: the good CA, clients "C=GB,O=Test,CN=client*" allowed.
TlsConfig serverConfig(const std::string& dir = "good") {
    TlsConfig c;
    c.role = TlsRole::Server;
    c.caFile = root() + "/good/cacert.pem";
    c.certFile = root() + "/" + dir + "/servercert.pem";
    c.keyFile = root() + "/" + dir + "/private/serverkey.pem";
    c.allowedDns = {"C=GB,O=Test,CN=client*"};
    return c;
}

/// A client that trusts the good CA and presents DIR's client certificate ("" for none). Its
/// own-certificate check is off (?no_sanity=1) so that an expired certificate reaches the server.
TlsConfig clientConfig(const std::string& dir) {
    TlsConfig c;
    c.role = TlsRole::Client;
    c.checkOwnCertificate = false;
    c.caFile = root() + "/good/cacert.pem";
    if (!dir.empty()) {
        c.certFile = root() + "/" + dir + "/clientcert.pem";
        c.keyFile = root() + "/" + dir + "/private/clientkey.pem";
    }
    return c;
}

bool done(const Result<Progress>& r) { return !r || *r == Progress::Done; }

/// Both ends of one connection, driven alternately from one thread as an event loop would.
struct Pair {
    UniqueFd serverFd, clientFd;
    std::unique_ptr<TlsSession> server, client;
    Result<Progress> serverResult = Progress::WantRead;
    Result<Progress> clientResult = Progress::WantWrite;

    /// Runs both handshakes until each is Done or failed (or neither can move any more: one
    /// failed and the other waits for bytes that will not come).
    void handshake() {
        for (int i = 0; i < 200 && !(done(serverResult) && done(clientResult)); ++i) {
            if (!done(serverResult)) {
                serverResult = server->handshake();
            }
            if (!done(clientResult)) {
                clientResult = client->handshake();
            }
        }
    }
    bool ok() const {
        return serverResult && *serverResult == Progress::Done && clientResult &&
               *clientResult == Progress::Done;
    }
    std::string serverError() const {
        return serverResult ? std::string() : serverResult.error().wireMessage();
    }
    std::string clientError() const {
        return clientResult ? std::string() : clientResult.error().wireMessage();
    }
    /// What the client's first read reports after the server refused it: the server's alert.
    std::string clientReadError() const {
        std::vector<std::uint8_t> buf(64);
        auto r = client->read(buf);
        return r ? std::string("read succeeded") : r.error().wireMessage();
    }
};

Pair connect(const TlsConfig& serverCfg, const TlsConfig& clientCfg,
             const std::string& hostname = "localhost") {
    Pair p;
    int fds[2];
    CORRAL_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    p.serverFd.reset(fds[0]);
    p.clientFd.reset(fds[1]);
    auto sc = TlsCredentials::create(serverCfg);
    EXPECT_TRUE(sc) << sc.error().wireMessage();
    auto cc = TlsCredentials::create(clientCfg);
    EXPECT_TRUE(cc) << cc.error().wireMessage();
    if (!sc || !cc) {
        return p;
    }
    auto s = TlsSession::create(*sc, p.serverFd.get());
    auto c = TlsSession::create(*cc, p.clientFd.get(), hostname);
    CORRAL_CHECK(s && c);
    p.server = std::move(*s);
    p.client = std::move(*c);
    p.handshake();
    return p;
}

/// Moves `data` from `from` to `to` through the socket, alternating writes and reads so that
/// neither the socket buffer nor GnuTLS' record buffer stalls.
std::string transfer(TlsSession& from, TlsSession& to, const std::string& data) {
    std::string got;
    std::size_t sent = 0;
    std::vector<std::uint8_t> buf(4096);
    for (int i = 0; i < 100000 && got.size() < data.size(); ++i) {
        if (sent < data.size()) {
            auto w = from.write(std::span<const std::uint8_t>(
                reinterpret_cast<const std::uint8_t*>(data.data()) + sent, data.size() - sent));
            EXPECT_TRUE(w) << w.error().wireMessage();
            if (!w) {
                break;
            }
            if (w->progress == Progress::Done) {
                sent += w->bytes;
            }
        }
        auto r = to.read(buf);
        EXPECT_TRUE(r) << r.error().wireMessage();
        if (!r) {
            break;
        }
        if (r->progress == Progress::Done) {
            EXPECT_GT(r->bytes, 0u) << "unexpected end of stream";
            got.append(reinterpret_cast<const char*>(buf.data()), r->bytes);
        }
    }
    return got;
}

class TlsSessionTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (!sh("command -v certtool") || access(kPki, X_OK) != 0) {
            return;  // each test skips (gnutls-bin missing)
        }
        char tmpl[] = "/tmp/corral-tls-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        root() = tmpl;
        const std::string r = root();
        // ECDSA keys, quick to make (ctest runs every test in its own process, each making
        // the whole set), except the server's: the script's default, RSA, is covered too.
        ASSERT_TRUE(sh(pki("--key-type ecdsa ca " + r + "/good")));
        ASSERT_TRUE(sh(pki("server " + r + "/good localhost 127.0.0.1")));
        ASSERT_TRUE(sh(pki("--key-type ecdsa client " + r + "/good '" + kGoodDn + "'")));
        const std::string ec = "--key-type ecdsa --ca " + r + "/good ";
        ASSERT_TRUE(sh(pki(ec + "--valid-from '2019-01-01 00:00:00 UTC' --valid-until "
                                "'2020-01-01 00:00:00 UTC' client " +
                           r + "/expired 'C=GB,O=Test,CN=client2'")));
        ASSERT_TRUE(sh(pki(ec + "client " + r + "/outsider 'C=GB,O=Other,CN=mallory'")));
        ASSERT_TRUE(sh(pki("--key-type ecdsa --cn 'Other CA' ca " + r + "/other")));
        ASSERT_TRUE(sh(pki("--key-type ecdsa client " + r + "/other '" + kGoodDn + "'")));
        ASSERT_TRUE(sh(pki("--key-type ecdsa server " + r + "/other localhost")));
    }

    static void TearDownTestSuite() {
        if (!root().empty()) {
            ASSERT_TRUE(sh("rm -rf '" + root() + "'"));
        }
    }

    void SetUp() override {
        if (root().empty()) {
            GTEST_SKIP() << "certtool (gnutls-bin) is not installed";
        }
    }
};

}  // namespace

TEST(TlsDn, EmptyListAllowsAll) {
    EXPECT_TRUE(tlsDnAllowed("C=GB,O=Test,CN=client1", {}));
    EXPECT_TRUE(tlsDnAllowed("", {}));
}

TEST(TlsDn, GlobsMatchTheWholeDn) {
    std::vector<std::string> list = {"C=GB,O=Test,CN=client*", "C=FR,O=?est,CN=admin"};
    EXPECT_TRUE(tlsDnAllowed("C=GB,O=Test,CN=client1", list));
    EXPECT_TRUE(tlsDnAllowed("C=GB,O=Test,CN=client", list));
    EXPECT_TRUE(tlsDnAllowed("C=FR,O=Best,CN=admin", list));
    EXPECT_FALSE(tlsDnAllowed("C=FR,O=Test,CN=admin2", list));
    // Anchored at both ends, and the RFC 4514 (reversed) form does not match.
    EXPECT_FALSE(tlsDnAllowed("X=1,C=GB,O=Test,CN=client1", list));
    EXPECT_FALSE(tlsDnAllowed("CN=client1,O=Test,C=GB", list));
    // No character classes: '[' is literal, as in GLib's simple patterns.
    EXPECT_FALSE(tlsDnAllowed("C=GB,O=Test,CN=a", {"C=GB,O=Test,CN=[a]"}));
    EXPECT_TRUE(tlsDnAllowed("C=GB,O=Test,CN=[a]", {"C=GB,O=Test,CN=[a]"}));
}

TEST_F(TlsSessionTest, HandshakeDataBothWaysAndPeerDn) {
    auto p = connect(serverConfig(), clientConfig("good"));
    ASSERT_TRUE(p.ok()) << p.serverError() << " / " << p.clientError();
    EXPECT_EQ(p.server->peerDn(), kGoodDn);
    EXPECT_EQ(p.client->peerDn(), "O=Corral,CN=localhost");
    EXPECT_EQ(p.server->protocolName(), "TLS1.3");
    EXPECT_GE(p.server->ssf(), 128u);

    EXPECT_EQ(transfer(*p.client, *p.server, "hello server"), "hello server");
    EXPECT_EQ(transfer(*p.server, *p.client, "hello client"), "hello client");
    // More than one record (16 KiB each) and more than the socket holds at once.
    std::string big(1 << 20, 'x');
    for (std::size_t i = 0; i < big.size(); i += 7) {
        big[i] = static_cast<char>('a' + i % 26);
    }
    EXPECT_EQ(transfer(*p.server, *p.client, big), big);
}

TEST_F(TlsSessionTest, PendingCountsDecryptedBytesNotYetRead) {
    auto p = connect(serverConfig(), clientConfig("good"));
    ASSERT_TRUE(p.ok()) << p.serverError() << " / " << p.clientError();
    std::string msg = "abcde";
    auto w = p.client->write(
        std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(msg.data()), 5));
    ASSERT_TRUE(w && w->progress == Progress::Done && w->bytes == 5);
    std::uint8_t one = 0;
    auto r = p.server->read(std::span<std::uint8_t>(&one, 1));
    ASSERT_TRUE(r && r->progress == Progress::Done && r->bytes == 1);
    EXPECT_EQ(one, 'a');
    EXPECT_EQ(p.server->pending(), 4u);
}

TEST_F(TlsSessionTest, ByeEndsTheStream) {
    auto p = connect(serverConfig(), clientConfig("good"));
    ASSERT_TRUE(p.ok()) << p.serverError() << " / " << p.clientError();
    auto b = p.client->bye();
    ASSERT_TRUE(b) << b.error().wireMessage();
    EXPECT_EQ(*b, Progress::Done);
    std::vector<std::uint8_t> buf(64);
    auto r = p.server->read(buf);
    ASSERT_TRUE(r) << r.error().wireMessage();
    EXPECT_EQ(r->progress, Progress::Done);
    EXPECT_EQ(r->bytes, 0u);
    // Nothing more comes after the read side sees the end.
    p.clientFd.reset();
    r = p.server->read(buf);
    ASSERT_TRUE(r) << r.error().wireMessage();
    EXPECT_EQ(r->bytes, 0u);
}

TEST_F(TlsSessionTest, ReadBeforeDataIsWantRead) {
    auto p = connect(serverConfig(), clientConfig("good"));
    ASSERT_TRUE(p.ok());
    std::vector<std::uint8_t> buf(64);
    // The client may first receive TLS 1.3 session tickets, which are not application data.
    auto r = p.client->read(buf);
    ASSERT_TRUE(r) << r.error().wireMessage();
    EXPECT_EQ(r->progress, Progress::WantRead);
    r = p.server->read(buf);
    ASSERT_TRUE(r) << r.error().wireMessage();
    EXPECT_EQ(r->progress, Progress::WantRead);
}

TEST_F(TlsSessionTest, ClientFromAnotherCaIsRefused) {
    auto p = connect(serverConfig(), clientConfig("other"));
    ASSERT_FALSE(p.serverResult);
    EXPECT_EQ(p.serverResult.error().code, ErrorCode::AuthFailed);
    EXPECT_NE(p.serverError().find("client certificate 'C=GB,O=Test,CN=client1' is not signed "
                                   "by a trusted CA (issuer 'CN=Other CA'"),
              std::string::npos)
        << p.serverError();
    EXPECT_EQ(p.clientReadError(),
              "cannot read from TLS session: A TLS fatal alert has been received. (the peer sent "
              "'CA is unknown')");
}

TEST_F(TlsSessionTest, ServerFromAnotherCaIsRefusedByTheClient) {
    auto p = connect(serverConfig("other"), clientConfig("good"));
    ASSERT_FALSE(p.clientResult);
    EXPECT_NE(p.clientError().find("server certificate 'O=Corral,CN=localhost' is not signed by "
                                   "a trusted CA"),
              std::string::npos)
        << p.clientError();
}

TEST_F(TlsSessionTest, ExpiredClientCertificateIsRefused) {
    auto p = connect(serverConfig(), clientConfig("expired"));
    ASSERT_FALSE(p.serverResult);
    EXPECT_NE(p.serverError().find("client certificate 'C=GB,O=Test,CN=client2' has expired "
                                   "(valid until 2020-01-01 00:00:00 UTC)"),
              std::string::npos)
        << p.serverError();
    EXPECT_NE(p.clientReadError().find("'Certificate is expired'"), std::string::npos);
}

TEST_F(TlsSessionTest, MissingClientCertificateIsRefused) {
    auto p = connect(serverConfig(), clientConfig(""));
    ASSERT_FALSE(p.serverResult);
    EXPECT_NE(p.serverError().find("the client sent no certificate"), std::string::npos)
        << p.serverError();
    EXPECT_EQ(p.server->peerDn(), "");
    EXPECT_NE(p.clientReadError().find("'Certificate is required'"), std::string::npos);
}

TEST_F(TlsSessionTest, DnOutsideTheListIsRefusedAndNamed) {
    auto p = connect(serverConfig(), clientConfig("outsider"));
    ASSERT_FALSE(p.serverResult);
    EXPECT_EQ(p.serverError(),
              "authentication failed: client certificate DN 'C=GB,O=Other,CN=mallory' is not in "
              "tls_allowed_dn_list");
    EXPECT_NE(p.clientReadError().find("'Access was denied'"), std::string::npos);
}

TEST_F(TlsSessionTest, EmptyDnListAllowsAnyVerifiedClient) {
    auto cfg = serverConfig();
    cfg.allowedDns.clear();
    auto p = connect(cfg, clientConfig("outsider"));
    ASSERT_TRUE(p.ok()) << p.serverError() << " / " << p.clientError();
    EXPECT_EQ(p.server->peerDn(), "C=GB,O=Other,CN=mallory");
}

TEST_F(TlsSessionTest, NoVerifyAdmitsExpiredAndMissingCertificates) {
    auto cfg = serverConfig();
    cfg.verifyPeer = false;
    auto p = connect(cfg, clientConfig("expired"));
    ASSERT_TRUE(p.ok()) << p.serverError() << " / " << p.clientError();
    // Unverified, its subject vouches for nothing: no identity for the access rules.
    EXPECT_EQ(p.server->peerDn(), "");
    auto q = connect(cfg, clientConfig(""));
    ASSERT_TRUE(q.ok()) << q.serverError() << " / " << q.clientError();
}

TEST_F(TlsSessionTest, ServerCertificateMustUseTheClientPurpose) {
    // A server certificate (extended key usage: TLS server only) used as a client's.
    auto cfg = clientConfig("");
    cfg.certFile = root() + "/good/servercert.pem";
    cfg.keyFile = root() + "/good/private/serverkey.pem";
    auto p = connect(serverConfig(), cfg);
    ASSERT_FALSE(p.serverResult);
    EXPECT_NE(p.serverError().find("is not meant for TLS client use"), std::string::npos)
        << p.serverError();
}

TEST_F(TlsSessionTest, ClientChecksTheHostName) {
    auto p = connect(serverConfig(), clientConfig("good"), "other.example");
    ASSERT_FALSE(p.clientResult);
    EXPECT_NE(p.clientError().find("server certificate 'O=Corral,CN=localhost' does not match "
                                   "the host name 'other.example'"),
              std::string::npos)
        << p.clientError();
    // Addresses are checked against the IP subjectAltName.
    auto q = connect(serverConfig(), clientConfig("good"), "127.0.0.1");
    EXPECT_TRUE(q.ok()) << q.serverError() << " / " << q.clientError();
    auto r = connect(serverConfig(), clientConfig("good"), "127.0.0.2");
    EXPECT_FALSE(r.clientResult);
    // ?no_verify=1 skips it.
    auto cfg = clientConfig("good");
    cfg.verifyPeer = false;
    auto s = connect(serverConfig(), cfg, "other.example");
    EXPECT_TRUE(s.ok()) << s.serverError() << " / " << s.clientError();
}

TEST_F(TlsSessionTest, Tls11ClientIsRefused) {
    auto cfg = clientConfig("good");
    cfg.priority = "NORMAL:-VERS-ALL:+VERS-TLS1.1";
    auto p = connect(serverConfig(), cfg);
    ASSERT_FALSE(p.serverResult);
    // GnuTLS' text: "A packet with illegal or unsupported version was received."
    EXPECT_NE(p.serverError().find("authentication failed: TLS handshake failed: "),
              std::string::npos)
        << p.serverError();
    EXPECT_NE(p.serverError().find("version"), std::string::npos) << p.serverError();
    // The client hears it as the protocol_version alert.
    ASSERT_FALSE(p.clientResult);
    EXPECT_NE(p.clientError().find("the peer sent 'Error in protocol version'"), std::string::npos)
        << p.clientError();
}

TEST_F(TlsSessionTest, Tls12ClientIsAccepted) {
    auto cfg = clientConfig("good");
    cfg.priority = "NORMAL:-VERS-ALL:+VERS-TLS1.2";
    auto p = connect(serverConfig(), cfg);
    ASSERT_TRUE(p.ok()) << p.serverError() << " / " << p.clientError();
    EXPECT_EQ(p.server->protocolName(), "TLS1.2");
    EXPECT_EQ(p.server->peerDn(), kGoodDn);
    EXPECT_EQ(transfer(*p.client, *p.server, "over 1.2"), "over 1.2");
}

TEST_F(TlsSessionTest, KeyReadableByOthersIsRefusedWithThePathAndTheFix) {
    std::string key = root() + "/leaky-serverkey.pem";
    ASSERT_TRUE(sh("cp '" + root() + "/good/private/serverkey.pem' '" + key + "'"));
    ASSERT_EQ(chmod(key.c_str(), 0644), 0);
    auto cfg = serverConfig();
    cfg.keyFile = key;
    auto c = TlsCredentials::create(cfg);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().wireMessage(),
              "private key '" + key + "' is accessible by group or others (mode 0644); restrict "
              "it with 'chmod 600 " + key + "'");
    ASSERT_EQ(chmod(key.c_str(), 0640), 0);
    EXPECT_FALSE(checkPrivateKeyMode(key));
    ASSERT_EQ(chmod(key.c_str(), 0600), 0);
    EXPECT_TRUE(checkPrivateKeyMode(key));
    EXPECT_TRUE(TlsCredentials::create(cfg));
}

TEST_F(TlsSessionTest, LoadErrorsNameTheFileOrKey) {
    auto cfg = serverConfig();
    cfg.caFile = root() + "/nope.pem";
    auto c = TlsCredentials::create(cfg);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().wireMessage(), "cannot read CA certificate '" + root() +
                                           "/nope.pem': No such file or directory");

    cfg = serverConfig();
    cfg.certFile.clear();
    c = TlsCredentials::create(cfg);
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().wireMessage().find("cert_file"), std::string::npos);

    cfg = serverConfig();
    cfg.keyFile = root() + "/good/private/clientkey.pem";  // not the certificate's key
    c = TlsCredentials::create(cfg);
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().wireMessage().find("cannot load certificate '" + cfg.certFile +
                                           "' with private key '" + cfg.keyFile + "'"),
              std::string::npos)
        << c.error().wireMessage();

    cfg = serverConfig();
    cfg.priority = "NORMAL:+BOGUS";
    c = TlsCredentials::create(cfg);
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().wireMessage().find("invalid TLS priority string (tls_priority) "
                                           "'NORMAL:+BOGUS' at '+BOGUS'"),
              std::string::npos)
        << c.error().wireMessage();

    // Our own certificate out of date is refused at start, with its dates.
    auto client = clientConfig("expired");
    client.checkOwnCertificate = true;
    c = TlsCredentials::create(client);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().wireMessage(), "certificate '" + client.certFile +
                                           "' has expired (valid until 2020-01-01 00:00:00 UTC)");
}
