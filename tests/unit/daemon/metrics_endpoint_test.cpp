// SPDX-License-Identifier: LGPL-2.1-or-later
// The metrics endpoint's HTTP: request parsing and routing (pure), and a live endpoint on a
// loopback port holding to its limits (request size, deadline, simultaneous connections).
#include "daemon/metrics_endpoint.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

using namespace corral;
using namespace corral::daemon;
using Status = HttpRequestHead::Status;

TEST(MetricsHttp, ParsesARequestOnceItsHeadersEnd) {
    const std::string request =
        "GET /metrics HTTP/1.1\r\nHost: localhost:9177\r\nAccept: */*\r\n\r\n";
    for (std::size_t n = 0; n < request.size(); ++n) {
        EXPECT_EQ(parseHttpRequest(request.substr(0, n), 8192).status, Status::Incomplete) << n;
    }
    auto head = parseHttpRequest(request, 8192);
    EXPECT_EQ(head.status, Status::Complete);
    EXPECT_EQ(head.method, "GET");
    EXPECT_EQ(head.target, "/metrics");
    // Bare line feeds and HTTP/1.0 are accepted.
    EXPECT_EQ(parseHttpRequest("GET /metrics HTTP/1.0\n\n", 8192).status, Status::Complete);
}

TEST(MetricsHttp, RefusesWhatIsNotHttp) {
    for (const char* bad :
         {"garbage\r\n\r\n", "GET /metrics\r\n\r\n", "GET /metrics HTTP/2.0\r\n\r\n",
          "GET  /metrics HTTP/1.1\r\n\r\n", "G(T /metrics HTTP/1.1\r\n\r\n",
          "GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n",
          "GET /metrics HTTP/1.1\r\n folded: header\r\n\r\n", "\r\n\r\n"}) {
        EXPECT_EQ(parseHttpRequest(bad, 8192).status, Status::Malformed) << bad;
    }
    // Binary junk (an RPC packet's length word) is refused before any line ends.
    EXPECT_EQ(parseHttpRequest(std::string("\0\0\0\x1c", 4), 8192).status, Status::Malformed);
    // Too long without the end of the headers.
    EXPECT_EQ(parseHttpRequest("GET /" + std::string(300, 'a'), 256).status, Status::Malformed);
    EXPECT_EQ(
        parseHttpRequest("GET / HTTP/1.1\r\nX: " + std::string(300, 'a') + "\r\n\r\n", 256).status,
        Status::Malformed);
}

TEST(MetricsHttp, RoutesByPathThenMethod) {
    int scrapes = 0;
    auto scrape = [&scrapes] {
        ++scrapes;
        return std::string("corral_up 1\n");
    };
    auto ok =
        answerHttpRequest(parseHttpRequest("GET /metrics?x=1 HTTP/1.1\r\n\r\n", 8192), scrape);
    EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ok;
    EXPECT_NE(ok.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
              std::string::npos);
    EXPECT_NE(ok.find("Content-Length: 12\r\n"), std::string::npos);
    EXPECT_NE(ok.find("Connection: close\r\n\r\ncorral_up 1\n"), std::string::npos);
    EXPECT_EQ(scrapes, 1);
    auto other = answerHttpRequest(parseHttpRequest("GET /other HTTP/1.1\r\n\r\n", 8192), scrape);
    EXPECT_EQ(other.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
    auto post = answerHttpRequest(parseHttpRequest("POST /metrics HTTP/1.1\r\n\r\n", 8192), scrape);
    EXPECT_EQ(post.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u);
    EXPECT_NE(post.find("Allow: GET\r\n"), std::string::npos);
    auto bad = answerHttpRequest(parseHttpRequest("junk\r\n\r\n", 8192), scrape);
    EXPECT_EQ(bad.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
    EXPECT_EQ(scrapes, 1);  // only a GET /metrics scrapes
}

TEST(MetricsHttp, ATokenIsAskedBeforeAnythingElse) {
    const std::string token = "3c1f9a7e0b2d4c68a5e7f9b1d3c5a7e9";
    int scrapes = 0;
    auto scrape = [&scrapes] {
        ++scrapes;
        return std::string("corral_up 1\n");
    };
    auto ask = [&](const std::string& request) { return answerHttpRequest(parseHttpRequest(request, 8192), scrape, token); };
    auto head = parseHttpRequest("GET /metrics HTTP/1.1\r\nauthorization:  Bearer " + token + " \r\n\r\n", 8192);
    EXPECT_EQ(head.authorization, "Bearer " + token);
    EXPECT_EQ(ask("GET /metrics HTTP/1.1\r\nAuthorization: Bearer " + token + "\r\n\r\n").rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
    EXPECT_EQ(ask("GET /metrics HTTP/1.1\r\nAUTHORIZATION: bearer " + token + "\r\n\r\n").rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
    EXPECT_EQ(scrapes, 2);
    for (const std::string& request :
         {std::string("GET /metrics HTTP/1.1\r\n\r\n"),
          "GET /metrics HTTP/1.1\r\nAuthorization: Bearer " + token.substr(1) + "\r\n\r\n",
          "GET /metrics HTTP/1.1\r\nAuthorization: Bearer " + token + "x\r\n\r\n",
          "GET /metrics HTTP/1.1\r\nAuthorization: Basic " + token + "\r\n\r\n",
          "GET /metrics HTTP/1.1\r\nX-Authorization: Bearer " + token + "\r\n\r\n",
          std::string("GET /other HTTP/1.1\r\n\r\n"),  // 401 too: without the token no path is told apart
          std::string("POST /metrics HTTP/1.1\r\n\r\n")}) {
        auto answer = ask(request);
        EXPECT_EQ(answer.rfind("HTTP/1.1 401 Unauthorized\r\n", 0), 0u) << request;
        EXPECT_NE(answer.find("WWW-Authenticate: Bearer realm=\"corral\"\r\n"), std::string::npos);
    }
    EXPECT_EQ(scrapes, 2);
    EXPECT_EQ(ask("junk\r\n\r\n").rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
}

TEST(MetricsHttp, TheTokenFileIsPrivateAndHoldsAToken) {
    char dir[] = "/tmp/corral-token-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    std::string path = std::string(dir) + "/token";
    auto write = [&](const std::string& text, mode_t mode) {
        std::ofstream(path, std::ios::trunc) << text;
        ::chmod(path.c_str(), mode);
    };
    write("0123456789abcdef0123456789abcdef\n", 0600);
    auto token = readMetricsToken(path);
    ASSERT_TRUE(token) << token.error().wireMessage();
    EXPECT_EQ(*token, "0123456789abcdef0123456789abcdef");
    write("0123456789abcdef0123456789abcdef\n", 0640);
    auto shared = readMetricsToken(path);
    ASSERT_FALSE(shared);
    EXPECT_EQ(shared.error().message, "metrics_token_file '" + path +
                                          "' is accessible by group or others (mode 0640); restrict it with 'chmod 600 " +
                                          path + "'");
    // Opened once, not through a link, and only when it is root's or ours.
    std::string link = std::string(dir) + "/link";
    ASSERT_EQ(::symlink(path.c_str(), link.c_str()), 0);
    ::chmod(path.c_str(), 0600);
    EXPECT_NE(readMetricsToken(link).error().wireMessage().find("cannot access metrics_token_file '" + link + "'"),
              std::string::npos);
    ::unlink(link.c_str());
    if (::geteuid() == 0) {
        ASSERT_EQ(::chown(path.c_str(), 4242, 4242), 0);
        EXPECT_NE(readMetricsToken(path).error().message.find("belongs to uid 4242"), std::string::npos);
        ASSERT_EQ(::chown(path.c_str(), 0, 0), 0);
    }
    write("short\n", 0600);
    EXPECT_NE(readMetricsToken(path).error().message.find("16 to 1024"), std::string::npos);
    write("has spaces in it, not a token\n", 0600);
    EXPECT_FALSE(readMetricsToken(path));
    EXPECT_NE(readMetricsToken(std::string(dir) + "/none").error().wireMessage().find("cannot access metrics_token_file"),
              std::string::npos);
    ::unlink(path.c_str());
    ::rmdir(dir);
}

namespace {

/// A connection to the endpoint from `source` (any address of 127/8 is the loopback).
UniqueFd connectTo(std::uint16_t port, std::uint32_t source = INADDR_LOOPBACK) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl(source);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&from), sizeof from), 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    return fd;
}

struct Received {
    std::string text;
    bool closed = false;  ///< the endpoint closed the connection (rather than the wait ran out)
};

/// Everything the endpoint sends until it closes the connection or `wait` passes in silence.
Received receive(int fd, std::chrono::milliseconds wait) {
    Received out;
    char buf[4096];
    while (true) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) {
            return out;
        }
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            out.closed = true;
            return out;
        }
        out.text.append(buf, static_cast<std::size_t>(n));
    }
}

/// Whether the endpoint closes `fd` without a word (within 5 s).
bool closedSilently(int fd) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) {
        return false;
    }
    char c = 0;
    return ::recv(fd, &c, 1, 0) == 0;
}
/// Everything the endpoint sends until it closes (or 5 s pass).
std::string readAll(int fd) { return receive(fd, std::chrono::seconds(5)).text; }

void sendAll(int fd, const std::string& text) {
    ASSERT_EQ(::send(fd, text.data(), text.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(text.size()));
}

}  // namespace

TEST(MetricsEndpoint, AnswersOverTcp) {
    MetricsEndpointLimits limits;
    limits.maxRequestBytes = 256;
    std::atomic<int> scrapes{0};
    auto scrape = [&scrapes] {
        ++scrapes;
        return std::string("corral_up 1\n");
    };
    auto endpoint = MetricsEndpoint::create("127.0.0.1", "0", scrape, {}, limits);
    ASSERT_TRUE(endpoint) << endpoint.error().wireMessage();
    std::uint16_t port = (*endpoint)->port();
    ASSERT_NE(port, 0);

    auto ok = connectTo(port);
    sendAll(ok.get(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    auto answer = readAll(ok.get());
    EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
    EXPECT_EQ(answer.substr(answer.size() - 12), "corral_up 1\n");

    auto oversized = connectTo(port);
    sendAll(oversized.get(), "GET /" + std::string(1000, 'a'));
    EXPECT_EQ(readAll(oversized.get()).rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);

    // A half-sent request whose sender stops writing is answered 400 at once.
    auto halfSent = connectTo(port);
    sendAll(halfSent.get(), "GET /metrics HTTP/1.1\r\n");
    ::shutdown(halfSent.get(), SHUT_WR);
    EXPECT_EQ(readAll(halfSent.get()).rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
    EXPECT_EQ(scrapes.load(), 1);
}

TEST(MetricsEndpoint, ASilentClientHoldsASlotOnlyUntilItsDeadline) {
    MetricsEndpointLimits limits;
    limits.maxConnections = 1;
    limits.deadline = std::chrono::milliseconds(300);
    auto endpoint = MetricsEndpoint::create(
        "127.0.0.1", "0", [] { return std::string("corral_up 1\n"); }, {}, limits);
    ASSERT_TRUE(endpoint) << endpoint.error().wireMessage();
    std::uint16_t port = (*endpoint)->port();

    // The kernel holds a connection that sends nothing (TCP_DEFER_ACCEPT) for about a second
    // before the endpoint sees it; from then its deadline runs.
    auto start = std::chrono::steady_clock::now();
    auto silent = connectTo(port);
    // The endpoint ends the silent connection itself, with nothing said, once its deadline
    // passed: not sooner (a lower bound, with room for the timer's coarseness, that a slow
    // machine cannot break), and not never (closed, where a minute's wait would run out instead).
    Received silentEnd = receive(silent.get(), std::chrono::minutes(1));
    auto held = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(silentEnd.closed);
    EXPECT_EQ(silentEnd.text, "");
    EXPECT_GE(held, std::chrono::milliseconds(250));
}

TEST(MetricsEndpoint, AnIncompleteRequestGivesWayToTheNextConnection) {
    MetricsEndpointLimits limits;
    limits.maxConnections = 1;
    auto endpoint = MetricsEndpoint::create(
        "127.0.0.1", "0", [] { return std::string("corral_up 1\n"); }, {}, limits);
    ASSERT_TRUE(endpoint) << endpoint.error().wireMessage();
    std::uint16_t port = (*endpoint)->port();
    // Accepted in order: the half-sent request takes the only slot, and gives it up to the
    // next connection, which is served.
    auto halfSent = connectTo(port);
    sendAll(halfSent.get(), "GET /metrics HTTP/1.1\r\n");
    auto next = connectTo(port);
    sendAll(next.get(), "GET /metrics HTTP/1.1\r\n\r\n");
    EXPECT_TRUE(closedSilently(halfSent.get()));
    EXPECT_EQ(readAll(next.get()).rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
}

TEST(MetricsEndpoint, OnlyAnswersBeingWrittenHoldTheirSlotAgainstNewcomers) {
    // A client that reads nothing of a large answer keeps its slot (its request was complete);
    // with no slot to reclaim, a newcomer hears 503.
    MetricsEndpointLimits limits;
    limits.maxConnections = 1;
    auto endpoint = MetricsEndpoint::create(
        "127.0.0.1", "0", [] { return std::string(16u << 20, '#'); }, {}, limits);
    ASSERT_TRUE(endpoint) << endpoint.error().wireMessage();
    std::uint16_t port = (*endpoint)->port();
    auto reader = connectTo(port);
    sendAll(reader.get(), "GET /metrics HTTP/1.1\r\n\r\n");
    // Its answer has started: the first bytes are here.
    char first[16];
    ASSERT_EQ(::recv(reader.get(), first, sizeof first, MSG_WAITALL), static_cast<ssize_t>(sizeof first));
    auto turnedAway = connectTo(port);
    sendAll(turnedAway.get(), "GET /metrics HTTP/1.1\r\n\r\n");
    EXPECT_EQ(readAll(turnedAway.get()).rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u);
}

TEST(MetricsEndpoint, HalfSentRequestsFromOneOrManyAddressesCannotKeepAScrapeOut) {
    auto endpoint = MetricsEndpoint::create("127.0.0.1", "0", [] { return std::string("corral_up 1\n"); });
    ASSERT_TRUE(endpoint) << endpoint.error().wireMessage();
    std::uint16_t port = (*endpoint)->port();
    // From one address: past 4 (maxConnectionsPerSource), each newcomer closes that address's
    // own oldest, so the first four are gone.
    std::vector<UniqueFd> same;
    for (int i = 0; i < 8; ++i) {
        same.push_back(connectTo(port));
        sendAll(same.back().get(), "GET /metrics HTTP/1.1\r\n");
    }
    for (int i = 0; i < 4; ++i) {
        EXPECT_TRUE(closedSilently(same[static_cast<std::size_t>(i)].get())) << i;
    }
    auto scrape = connectTo(port);
    sendAll(scrape.get(), "GET /metrics HTTP/1.1\r\n\r\n");
    EXPECT_EQ(readAll(scrape.get()).rfind("HTTP/1.1 200 OK\r\n", 0), 0u);

    // From eight addresses, one each: every slot is taken, and the oldest gives way.
    endpoint = MetricsEndpoint::create("127.0.0.1", "0", [] { return std::string("corral_up 1\n"); });
    ASSERT_TRUE(endpoint) << endpoint.error().wireMessage();
    port = (*endpoint)->port();
    std::vector<UniqueFd> many;
    for (std::uint32_t i = 0; i < 8; ++i) {
        many.push_back(connectTo(port, 0x7f000002 + i));
        sendAll(many.back().get(), "GET /metrics HTTP/1.1\r\n");
    }
    auto second = connectTo(port);
    sendAll(second.get(), "GET /metrics HTTP/1.1\r\n\r\n");
    EXPECT_EQ(readAll(second.get()).rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
    EXPECT_TRUE(closedSilently(many[0].get()));
}

TEST(MetricsEndpoint, ABusyPortIsAnErrorNamingIt) {
    auto first = MetricsEndpoint::create("127.0.0.1", "0", [] { return std::string(); });
    ASSERT_TRUE(first);
    std::string port = std::to_string((*first)->port());
    auto second = MetricsEndpoint::create("127.0.0.1", port, [] { return std::string(); });
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().wireMessage().find("127.0.0.1:" + port), std::string::npos)
        << second.error().wireMessage();
}
