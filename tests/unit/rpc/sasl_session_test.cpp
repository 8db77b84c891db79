// SPDX-License-Identifier: LGPL-2.1-or-later
// SASL sessions: a real Cyrus server and client in one process, against a sasldb made by
// saslpasswd2 in a temporary root (<root>/etc/sasl2/corral.conf), as corrald --root would use.
#include "rpc/sasl_session.hpp"
#include "rpc/scram_decoy.hpp"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <regex>
#include <string>

#include <gtest/gtest.h>

using namespace corral;
using namespace corral::rpc;

namespace {

constexpr const char* kSaslpasswd = "/usr/sbin/saslpasswd2";
constexpr unsigned kTlsSsf = 256;  // what a TLS channel with AES-256 reports

std::string& testRoot() {
    static std::string root;
    return root;
}

/// Server options by what the tests vary (designated initialisers would trip
/// -Wmissing-field-initializers).
SaslServerOptions serverOptions(unsigned externalSsf, unsigned minSsf = 56, bool digest = false,
                                std::vector<std::string> allowed = {}) {
    SaslServerOptions o;
    o.externalSsf = externalSsf;
    o.minSsf = minSsf;
    o.allowDigestMd5 = digest;
    o.allowedUsernames = std::move(allowed);
    return o;
}

bool addUser(const std::string& db, const std::string& user, const std::string& password) {
    // -p reads the password from stdin without prompting; -c creates the entry.
    std::string cmd = std::string(kSaslpasswd) + " -f '" + db + "' -a corral -p -c '" + user + "'";
    FILE* p = popen(cmd.c_str(), "w");
    if (p == nullptr) {
        return false;
    }
    fputs(password.c_str(), p);
    return pclose(p) == 0;
}

class SaslSessionTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (access(kSaslpasswd, X_OK) != 0) {
            return;  // each test skips (sasl2-bin missing)
        }
        char tmpl[] = "/tmp/corral-sasl-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        testRoot() = tmpl;
        ASSERT_EQ(mkdir((testRoot() + "/etc").c_str(), 0755), 0);
        ASSERT_EQ(mkdir((testRoot() + "/etc/sasl2").c_str(), 0755), 0);
        std::string db = testRoot() + "/etc/sasl2/corral.db";
        std::ofstream(testRoot() + "/etc/sasl2/corral.conf")
            << "# written by sasl_session_test\n"
            << "mech_list: scram-sha-256 digest-md5\n"
            << "sasldb_path: " << db << "\n";
        ASSERT_TRUE(addUser(db, "alice", "wonderland"));
        ASSERT_TRUE(addUser(db, "bob", "builder"));
        auto init = initSaslServer(testRoot());
        ASSERT_TRUE(init) << init.error().wireMessage();
    }

    static void TearDownTestSuite() {
        if (!testRoot().empty()) {
            std::string cmd = "rm -rf '" + testRoot() + "'";
            ASSERT_EQ(std::system(cmd.c_str()), 0);
        }
    }

    void SetUp() override {
        if (testRoot().empty()) {
            GTEST_SKIP() << kSaslpasswd << " is missing (Debian package sasl2-bin)";
        }
    }

    static std::unique_ptr<SaslServer> server(SaslServerOptions o) {
        o.localAddr = "127.0.0.1;16509";
        o.remoteAddr = "127.0.0.1;40000";
        auto s = SaslServer::create(o);
        EXPECT_TRUE(s) << s.error().wireMessage();
        return s ? std::move(*s) : nullptr;
    }

    static std::unique_ptr<SaslClient> client(std::string user, std::string password,
                                              unsigned externalSsf, unsigned minSsf = 56) {
        SaslClientOptions o;
        o.serverHost = "localhost";
        o.localAddr = "127.0.0.1;40000";
        o.remoteAddr = "127.0.0.1;16509";
        o.externalSsf = externalSsf;
        o.minSsf = minSsf;
        o.credentials.username = [user] { return std::optional<std::string>(user); };
        o.credentials.password = [password] { return std::optional<std::string>(password); };
        auto c = SaslClient::create(std::move(o));
        EXPECT_TRUE(c) << c.error().wireMessage();
        return c ? std::move(*c) : nullptr;
    }

    /// The AUTH_SASL_INIT/START/STEP exchange as the daemon and virsh run it.
    static Result<void> negotiate(SaslServer& s, SaslClient& c, std::string_view onlyMech = {}) {
        CORRAL_ASSIGN_OR_RETURN(std::string mechs, s.mechanisms());
        CORRAL_ASSIGN_OR_RETURN(SaslClient::Choice choice, c.start(mechs, onlyMech));
        CORRAL_ASSIGN_OR_RETURN(SaslStep reply, s.start(choice.mech, choice.data));
        bool clientDone = choice.done;
        for (int round = 0; round < 10; ++round) {
            if (reply.state == SaslStep::State::Done) {
                if (!clientDone) {
                    // The server's final data carries its proof; the client checks it.
                    CORRAL_ASSIGN_OR_RETURN(SaslStep last, c.step(reply.data));
                    if (last.state != SaslStep::State::Done) {
                        return fail(ErrorCode::InternalError, "client not done after the server");
                    }
                }
                return {};
            }
            CORRAL_ASSIGN_OR_RETURN(SaslStep answer, c.step(reply.data));
            clientDone = answer.state == SaslStep::State::Done;
            CORRAL_ASSIGN_OR_RETURN(reply, s.step(answer.data));
        }
        return fail(ErrorCode::InternalError, "SASL exchange did not end");
    }

    static std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

    /// Encodes on one side and decodes on the other, delivering the wire bytes in `chunk`-byte
    /// pieces to show that partial frames are kept until complete.
    static std::vector<std::uint8_t> carry(SaslSession& from, SaslSession& to,
                                           const std::vector<std::uint8_t>& plain,
                                           std::size_t chunk) {
        auto wire = from.encode(plain);
        EXPECT_TRUE(wire) << wire.error().wireMessage();
        std::vector<std::uint8_t> out;
        for (std::size_t off = 0; wire && off < wire->size(); off += chunk) {
            std::size_t n = std::min(chunk, wire->size() - off);
            auto part = to.decode(std::span<const std::uint8_t>(wire->data() + off, n));
            EXPECT_TRUE(part) << part.error().wireMessage();
            if (part) {
                out.insert(out.end(), part->begin(), part->end());
            }
        }
        return out;
    }
};

TEST_F(SaslSessionTest, ScramOverTlsAuthenticatesWithoutLayer) {
    auto s = server(serverOptions(kTlsSsf));
    auto c = client("alice", "wonderland", kTlsSsf);
    ASSERT_TRUE(s && c);
    auto mechs = s->mechanisms();
    ASSERT_TRUE(mechs) << mechs.error().wireMessage();
    EXPECT_EQ(*mechs, "SCRAM-SHA-256");
    auto r = negotiate(*s, *c, "SCRAM-SHA-256");
    ASSERT_TRUE(r) << r.error().wireMessage() << " / " << s->failureDetail();
    EXPECT_EQ(s->username(), "alice");
    EXPECT_EQ(s->ssf(), 0u);
    EXPECT_FALSE(s->hasLayer());
    EXPECT_FALSE(c->hasLayer());
    // No layer: Cyrus passes the bytes through unchanged, both ways.
    auto wire = s->encode(bytes("hello"));
    ASSERT_TRUE(wire);
    EXPECT_EQ(*wire, bytes("hello"));
    EXPECT_EQ(carry(*c, *s, bytes("ping"), 3), bytes("ping"));
}

TEST_F(SaslSessionTest, ScramOverUnixSocketAuthenticates) {
    SaslServerOptions o = serverOptions(kLocalSocketSsf);
    auto made = SaslServer::create(o);  // no addresses, as on a unix socket
    ASSERT_TRUE(made) << made.error().wireMessage();
    auto c = client("bob", "builder", kLocalSocketSsf);
    ASSERT_TRUE(c);
    auto r = negotiate(**made, *c);
    ASSERT_TRUE(r) << r.error().wireMessage() << " / " << (*made)->failureDetail();
    EXPECT_EQ((*made)->username(), "bob");
}

TEST_F(SaslSessionTest, WrongPasswordFailsWithoutDetail) {
    auto s = server(serverOptions(kTlsSsf));
    auto c = client("alice", "looking-glass", kTlsSsf);
    ASSERT_TRUE(s && c);
    auto r = negotiate(*s, *c);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::AuthFailed);
    EXPECT_EQ(r.error().wireMessage(), "authentication failed");
    EXPECT_FALSE(s->failureDetail().empty());
    EXPECT_TRUE(s->username().empty());
    // The session is spent: no second try on the same object.
    EXPECT_FALSE(s->step(std::string("x")));
}

TEST_F(SaslSessionTest, UnknownUserFailsLikeWrongPassword) {
    // Both fail at the same step, the client's proof (issue 27.8): START is answered alike.
    for (const char* user : {"mallory", "alice"}) {
        auto s = server(serverOptions(kTlsSsf));
        auto c = client(user, "not-the-password", kTlsSsf);
        ASSERT_TRUE(s && c);
        auto choice = c->start(s->mechanisms().value());
        ASSERT_TRUE(choice);
        auto first = s->start(choice->mech, choice->data);
        ASSERT_TRUE(first) << user << ": " << s->failureDetail();
        EXPECT_EQ(first->state, SaslStep::State::Continue);
        auto proof = c->step(first->data);  // the client accepts the server-first message
        ASSERT_TRUE(proof) << user << ": " << proof.error().wireMessage();
        auto r = s->step(proof->data);
        ASSERT_FALSE(r) << user;
        EXPECT_EQ(r.error().code, ErrorCode::AuthFailed);
        EXPECT_EQ(r.error().wireMessage(), "authentication failed");
        EXPECT_TRUE(s->username().empty());
    }
}

TEST_F(SaslSessionTest, UnknownUsersServerFirstMessageHasTheFormOfAKnownUsers) {
    const std::string clientNonce = "0123456789abcdefABCDEF";
    auto serverFirst = [&](const std::string& user, std::unique_ptr<SaslServer>& s) {
        s = server(serverOptions(kTlsSsf));
        auto r = s->start("SCRAM-SHA-256", "n,,n=" + user + ",r=" + clientNonce);
        EXPECT_TRUE(r) << user << ": " << s->failureDetail();
        EXPECT_TRUE(r && r->state == SaslStep::State::Continue && r->data);
        return r && r->data ? *r->data : std::string();
    };
    // Cyrus' answer for alice: the client's nonce plus 32 characters, a 32-byte salt (SHA-256's
    // length) and 4096 iterations (no scram_iteration_counter in the test's corral.conf).
    const std::regex form("r=" + clientNonce + "[A-Za-z0-9+/]{32},s=([A-Za-z0-9+/]{43}=),i=4096");
    std::unique_ptr<SaslServer> a, m, m2, e;
    std::smatch known, unknown, again, other;
    std::string alice = serverFirst("alice", a), mallory = serverFirst("mallory", m);
    std::string mallory2 = serverFirst("mallory", m2), eve = serverFirst("eve", e);
    ASSERT_TRUE(std::regex_match(alice, known, form)) << alice;
    ASSERT_TRUE(std::regex_match(mallory, unknown, form)) << mallory;
    ASSERT_TRUE(std::regex_match(mallory2, again, form)) << mallory2;
    ASSERT_TRUE(std::regex_match(eve, other, form)) << eve;
    // As for a real user, the salt stays the same for a name, and differs between names; the
    // server's nonce is new each time.
    EXPECT_EQ(unknown[1], again[1]);
    EXPECT_NE(unknown[1], other[1]);
    EXPECT_NE(unknown[1], known[1]);
    EXPECT_NE(mallory, mallory2);
    // A client-final message with a wrong proof fails alike, at this step.
    auto finalFor = [&](const std::string& first) {
        std::string nonce = first.substr(2, first.find(',') - 2);
        return "c=biws,r=" + nonce + ",p=" + std::string(43, 'A') + "=";
    };
    auto ra = a->step(finalFor(alice));
    auto rm = m->step(finalFor(mallory));
    ASSERT_FALSE(ra);
    ASSERT_FALSE(rm);
    EXPECT_EQ(ra.error().wireMessage(), rm.error().wireMessage());
    EXPECT_EQ(ra.error().code, rm.error().code);
    // The daemon's log still tells them apart.
    EXPECT_NE(m->failureDetail().find("'mallory' is not in the SASL database"), std::string::npos)
        << m->failureDetail();
    EXPECT_EQ(a->failureDetail().find("decoy"), std::string::npos) << a->failureDetail();
    // A message Cyrus refuses before looking the user up is refused at START for anyone.
    auto bad = server(serverOptions(kTlsSsf));
    EXPECT_FALSE(bad->start("SCRAM-SHA-256", std::string("n,,m=x,n=mallory,r=0123456789")));
}

TEST(ScramDecoy, ClaimedUserOfEachMechanism) {
    EXPECT_EQ(claimedSaslUser("SCRAM-SHA-256", "n,,n=alice,r=abcdefgh"), "alice");
    EXPECT_EQ(claimedSaslUser("SCRAM-SHA-1", "y,a=admin,n=a=2Cb=3Dc,r=abcdefgh"), "a,b=c");
    EXPECT_EQ(claimedSaslUser("SCRAM-SHA-256", "p=tls-unique,,n=bob,r=abcdefgh,x=1"), "bob");
    EXPECT_EQ(claimedSaslUser("SCRAM-SHA-256", "n,,n=bad=name,r=abcdefgh"), "");
    EXPECT_EQ(claimedSaslUser("SCRAM-SHA-256", "garbage"), "");
    EXPECT_EQ(claimedSaslUser("PLAIN", std::string("\0carol\0secret", 13)), "carol");
    EXPECT_EQ(claimedSaslUser("DIGEST-MD5", R"(charset=utf-8,username="d\"ave",realm="h",nonce="n")"),
              "d\"ave");
    EXPECT_EQ(claimedSaslUser("DIGEST-MD5", ""), "");
    EXPECT_EQ(claimedSaslUser("GSSAPI", "anything"), "");
}

TEST(ScramDecoy, IterationCountIsReadAsCyrusReadsIt) {
    EXPECT_EQ(scramIterationsFromConfig(""), 4096u);
    EXPECT_EQ(scramIterationsFromConfig("mech_list: scram-sha-256\nscram_iteration_counter: 10000\n"), 10000u);
    EXPECT_EQ(scramIterationsFromConfig("  SCRAM_Iteration_Counter :  8192  \n"), 8192u);
    EXPECT_EQ(scramIterationsFromConfig("# scram_iteration_counter: 5\n"), 4096u);
    EXPECT_EQ(scramIterationsFromConfig("scram_iteration_counter: many\n"), 4096u);
}

TEST_F(SaslSessionTest, UserOutsideAllowedListIsRefused) {
    SaslServerOptions o = serverOptions(kTlsSsf, 56, false, {"bo?", "admin*"});
    auto s = server(o);
    auto c = client("alice", "wonderland", kTlsSsf);
    ASSERT_TRUE(s && c);
    auto r = negotiate(*s, *c);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().wireMessage(), "authentication failed");
    EXPECT_NE(s->failureDetail().find("'alice' is not on the list of allowed clients"),
              std::string::npos)
        << s->failureDetail();
    EXPECT_TRUE(s->username().empty());

    auto s2 = server(o);
    auto c2 = client("bob", "builder", kTlsSsf);
    ASSERT_TRUE(s2 && c2);
    auto r2 = negotiate(*s2, *c2);
    ASSERT_TRUE(r2) << s2->failureDetail();
    EXPECT_EQ(s2->username(), "bob");
}

TEST_F(SaslSessionTest, PlainTcpRefusesScram) {
    // minSsf 56 and no external SSF: SCRAM has no layer, so it is neither offered nor accepted,
    // and with DIGEST-MD5 not enabled nothing is left.
    auto s = server(serverOptions(0, 56));
    ASSERT_TRUE(s);
    auto mechs = s->mechanisms();
    ASSERT_FALSE(mechs);
    EXPECT_NE(mechs.error().message.find("security layer"), std::string::npos);
    auto start = s->start("SCRAM-SHA-256", std::string("n,,n=alice,r=abcdefgh"));
    ASSERT_FALSE(start);
    EXPECT_EQ(start.error().wireMessage(), "authentication failed");
    EXPECT_NE(s->failureDetail().find("not offered"), std::string::npos);

    // The client refuses it as well when asked for SCRAM on plain TCP.
    auto c = client("alice", "wonderland", 0, 56);
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->start("SCRAM-SHA-256"));
}

TEST_F(SaslSessionTest, DigestMd5OnPlainTcpNegotiatesLayer) {
    auto s = server(serverOptions(0, 56, true));
    auto c = client("alice", "wonderland", 0, 56);
    ASSERT_TRUE(s && c);
    auto mechs = s->mechanisms();
    ASSERT_TRUE(mechs) << mechs.error().wireMessage();
    EXPECT_EQ(*mechs, "DIGEST-MD5");
    auto r = negotiate(*s, *c);
    ASSERT_TRUE(r) << r.error().wireMessage() << " / " << s->failureDetail();
    EXPECT_EQ(s->username(), "alice");
    EXPECT_GE(s->ssf(), 56u);
    EXPECT_EQ(s->ssf(), c->ssf());
    EXPECT_TRUE(s->hasLayer());
    EXPECT_TRUE(c->hasLayer());
    auto warnings = s->takeWarnings();
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("deprecated"), std::string::npos);
    EXPECT_TRUE(s->takeWarnings().empty());

    // A short message each way, delivered a few bytes at a time; the wire is not the plaintext.
    auto hello = bytes("hello from the client");
    auto wire = c->encode(hello);
    ASSERT_TRUE(wire);
    EXPECT_GT(wire->size(), hello.size());
    EXPECT_EQ(std::search(wire->begin(), wire->end(), hello.begin(), hello.end()), wire->end());
    EXPECT_EQ(s->decode(*wire).value(), hello);
    EXPECT_EQ(carry(*s, *c, bytes("hello from the server"), 5), bytes("hello from the server"));

    // More than one frame's worth: cut by SASL_MAXOUTBUF, reassembled on the far side.
    std::vector<std::uint8_t> big(3 * 65536 + 123);
    for (std::size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<std::uint8_t>(i * 7);
    }
    EXPECT_LE(c->maxOutput(), 65536u);
    EXPECT_EQ(carry(*c, *s, big, 1000), big);
    EXPECT_EQ(carry(*s, *c, big, 70000), big);
}

TEST_F(SaslSessionTest, DigestMd5OnlyOfferedWhenEnabled) {
    auto s = server(serverOptions(kTlsSsf));
    ASSERT_TRUE(s);
    auto mechs = s->mechanisms();
    ASSERT_TRUE(mechs);
    EXPECT_EQ(mechs->find("DIGEST-MD5"), std::string::npos) << *mechs;
    auto warnings = s->takeWarnings();
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("sasl_allow_digest_md5"), std::string::npos);
    auto start = s->start("DIGEST-MD5", std::nullopt);
    ASSERT_FALSE(start);
    EXPECT_EQ(start.error().wireMessage(), "authentication failed");

    // The client cannot pick it either when the server did not list it.
    auto c = client("alice", "wonderland", kTlsSsf);
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->start(*mechs, "DIGEST-MD5"));

    auto enabled = server(serverOptions(kTlsSsf, 56, true));
    ASSERT_TRUE(enabled);
    auto both = enabled->mechanisms();
    ASSERT_TRUE(both);
    EXPECT_NE(both->find("DIGEST-MD5"), std::string::npos) << *both;
    EXPECT_NE(both->find("SCRAM-SHA-256"), std::string::npos) << *both;
    EXPECT_NE(both->find(','), std::string::npos) << "AUTH_SASL_INIT's list is comma-separated";
    // Over TLS DIGEST-MD5 authenticates but adds no layer: the channel is already protected.
    auto c2 = client("bob", "builder", kTlsSsf);
    ASSERT_TRUE(c2);
    auto r = negotiate(*enabled, *c2, "DIGEST-MD5");
    ASSERT_TRUE(r) << r.error().wireMessage() << " / " << enabled->failureDetail();
    EXPECT_EQ(enabled->username(), "bob");
    EXPECT_FALSE(enabled->hasLayer());
    EXPECT_EQ(enabled->ssf(), 0u);
}

TEST_F(SaslSessionTest, LayerUnusableBeforeAuthentication) {
    auto s = server(serverOptions(kTlsSsf));
    ASSERT_TRUE(s);
    EXPECT_FALSE(s->encode(bytes("x")));
    EXPECT_FALSE(s->step(std::string("x")));
}

}  // namespace
