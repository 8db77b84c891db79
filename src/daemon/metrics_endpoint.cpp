// SPDX-License-Identifier: LGPL-2.1-or-later
// MetricsEndpoint: a minimal HTTP/1.1 server for one page. One request per connection, answered
// and closed; the poll loop never blocks on a client, only on the scrape it runs itself.
#include "daemon/metrics_endpoint.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "daemon/metrics_format.hpp"
#include "util/files.hpp"
#include "util/logging.hpp"
#include "util/strings.hpp"
#include "util/tcp_socket.hpp"

namespace corral::daemon {

namespace {

using Clock = std::chrono::steady_clock;

/// Bytes read and thrown away after the answer (so that closing does not reset the connection
/// under a client still sending) before the connection is closed anyway.
constexpr std::size_t kMaxDrainBytes = 64 * 1024;

/// RFC 9110's tchar: what a method or a header name is made of.
bool isTokenChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool isToken(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), isTokenChar);
}

bool hasControl(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && c != '\t') || u == 0x7f;
    });
}

/// "METHOD SP TARGET SP HTTP/1.x".
bool readRequestLine(std::string_view line, HttpRequestHead& head) {
    auto sp1 = line.find(' ');
    auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) {
        return false;
    }
    std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = line.substr(sp2 + 1);
    if (!isToken(method) || target.empty() || target.find(' ') != std::string_view::npos ||
        hasControl(target) || (version != "HTTP/1.1" && version != "HTTP/1.0")) {
        return false;
    }
    head.method = method;
    head.target = target;
    return true;
}

/// "Name: value" (no obsolete line folding).
bool isHeaderLine(std::string_view line) {
    auto colon = line.find(':');
    return colon != std::string_view::npos && isToken(line.substr(0, colon)) &&
           !hasControl(line.substr(colon + 1));
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

/// RFC 6750's b64token (token68): what a bearer token is made of.
bool isToken68(std::string_view s) {
    std::size_t end = s.find_last_not_of('=');
    if (end == std::string_view::npos) {
        return false;
    }
    return std::all_of(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(end) + 1, [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::strchr("-._~+/", c) != nullptr;
    });
}

/// Whether `authorization` is "Bearer TOKEN" with this token. The comparison takes as long
/// whichever byte differs, so answers do not tell how much of a guess was right.
bool carriesToken(std::string_view authorization, std::string_view token) {
    constexpr std::string_view kScheme = "bearer ";
    if (authorization.size() < kScheme.size() || !equalsIgnoringCase(authorization.substr(0, kScheme.size()), kScheme)) {
        return false;
    }
    std::string_view given = authorization.substr(kScheme.size());
    while (!given.empty() && given.front() == ' ') {
        given.remove_prefix(1);
    }
    unsigned char difference = given.size() == token.size() ? 0 : 1;
    for (std::size_t i = 0; i < token.size(); ++i) {
        difference |= static_cast<unsigned char>(token[i] ^ (i < given.size() ? given[i] : 0));
    }
    return difference == 0;
}

const char* reasonPhrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 503:
            return "Service Unavailable";
        default:
            return "Error";
    }
}

std::string httpResponse(int status, std::string_view contentType, std::string_view body,
                         std::string_view extraHeaders = {}) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(status) + "\r\n";
    out.append("Content-Type: ").append(contentType).append("\r\n");
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    out.append(extraHeaders);
    out.append("Connection: close\r\n\r\n");
    out.append(body);
    return out;
}

/// One recv() or send() on a non-blocking socket, retried on EINTR: its result (bytes, 0 at end
/// of file, -1 on error), or nullopt when it would block.
template <class Io>
std::optional<ssize_t> nonBlocking(Io io) {
    while (true) {
        ssize_t n = io();
        if (n >= 0 || errno != EINTR) {
            return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? std::nullopt
                                                                      : std::optional<ssize_t>(n);
        }
    }
}

std::string errorResponse(int status, std::string_view extraHeaders = {}) {
    return httpResponse(status, "text/plain; charset=utf-8",
                        std::string(reasonPhrase(status)) + "\n", extraHeaders);
}

}  // namespace

HttpRequestHead parseHttpRequest(std::string_view received, std::size_t maxBytes) {
    HttpRequestHead head;
    std::size_t pos = 0;
    bool first = true;
    while (true) {
        auto nl = received.find('\n', pos);
        std::string_view line =
            received.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (nl == std::string_view::npos) {
            // A line still arriving is already bad if it holds a byte HTTP never sends (a
            // libvirt RPC packet's length word, a TLS hello).
            if (hasControl(line)) {
                head.status = HttpRequestHead::Status::Malformed;
            }
            break;
        }
        if (nl + 1 > maxBytes) {
            break;
        }
        bool ok = first ? readRequestLine(line, head) : (line.empty() || isHeaderLine(line));
        if (!ok) {
            head.status = HttpRequestHead::Status::Malformed;
            return head;
        }
        if (!first && line.empty()) {
            head.status = HttpRequestHead::Status::Complete;
            return head;
        }
        if (!first && equalsIgnoringCase(line.substr(0, line.find(':')), "authorization")) {
            std::string_view value = line.substr(line.find(':') + 1);
            head.authorization = trimString(value);
        }
        first = false;
        pos = nl + 1;
    }
    if (received.size() >= maxBytes) {
        head.status = HttpRequestHead::Status::Malformed;
    }
    return head;
}

std::string answerHttpRequest(const HttpRequestHead& request, const std::function<std::string()>& scrape,
                              std::string_view token) {
    if (request.status != HttpRequestHead::Status::Complete) {
        return errorResponse(400);
    }
    // Before anything else, so a client without the token learns nothing, not even the paths.
    if (!token.empty() && !carriesToken(request.authorization, token)) {
        return errorResponse(401, "WWW-Authenticate: Bearer realm=\"corral\"\r\n");
    }
    std::string_view path = request.target;
    path = path.substr(0, path.find_first_of("?#"));
    if (path != "/metrics") {
        return errorResponse(404);
    }
    if (request.method != "GET") {
        return errorResponse(405, "Allow: GET\r\n");
    }
    return httpResponse(200, kMetricsContentType, scrape());
}

struct MetricsEndpoint::Connection {
    enum class Phase { Reading, Writing, Draining };

    UniqueFd fd;
    Clock::time_point deadline;
    Phase phase = Phase::Reading;
    std::string received;
    std::string answer;
    std::size_t sent = 0;
    std::size_t drained = 0;
};

Result<std::string> readMetricsToken(const std::string& path) {
    auto refused = [&](const std::string& why) {
        return fail(ErrorCode::ConfSyntax, "metrics_token_file '" + path + "': " + why);
    };
    CORRAL_ASSIGN_OR_RETURN(std::string text, readPrivateFile(path, "metrics_token_file"));
    std::string token(trimString(std::string_view(text).substr(0, text.find('\n'))));
    if (token.size() < 16 || token.size() > 1024 || !isToken68(token)) {
        return refused("the first line must be a token of 16 to 1024 letters, digits and '-._~+/' "
                       "(for instance from 'openssl rand -hex 32')");
    }
    return token;
}

MetricsEndpoint::MetricsEndpoint(Scrape scrape, std::string token, MetricsEndpointLimits limits)
    : scrape_(std::move(scrape)),
      token_(std::move(token)),
      limits_(limits),
      slots_(limits.maxConnections, limits.maxConnectionsPerSource) {}

Result<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::create(const std::string& address,
                                                                 const std::string& port,
                                                                 Scrape scrape, std::string token,
                                                                 MetricsEndpointLimits limits) {
    std::unique_ptr<MetricsEndpoint> e(new MetricsEndpoint(std::move(scrape), std::move(token), limits));
    CORRAL_ASSIGN_OR_RETURN(
        e->listeners_,
        listenTcpSockets(address, port, 16).withContext("starting the metrics endpoint"));
    // The kernel hands a connection over once its first bytes arrived (or the deadline passed):
    // a scraper's request is then read whole at accept, before any newcomer could reclaim its
    // slot, and a connection that sends nothing holds no slot meanwhile.
    int deferSeconds = static_cast<int>(std::max<std::int64_t>(
        1, std::chrono::duration_cast<std::chrono::seconds>(limits.deadline).count()));
    for (const auto& l : e->listeners_) {
        if (::setsockopt(l.get(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &deferSeconds, sizeof deferSeconds) != 0) {
            logDebug(std::string("metrics endpoint: no TCP_DEFER_ACCEPT: ") + std::strerror(errno));
        }
    }
    e->wake_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!e->wake_) {
        return failErrno(errno, "cannot create eventfd");
    }
    e->thread_ =
        std::jthread([endpoint = e.get()](const std::stop_token& stop) { endpoint->run(stop); });
    pthread_setname_np(e->thread_.native_handle(), "corrald-metrics");
    return e;
}

MetricsEndpoint::~MetricsEndpoint() {
    if (thread_.joinable()) {
        thread_.request_stop();
        std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
        thread_.join();
    }
}

std::uint16_t MetricsEndpoint::port() const {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(listeners_.front().get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
        return 0;
    }
    return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

void MetricsEndpoint::acceptConnections(int listener) {
    while (true) {
        int raw = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (raw < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EMFILE || errno == ENFILE) {
                // The pending connection would wake the loop at once, forever: look away a while.
                logWarning("metrics endpoint: out of file descriptors, not accepting for a second");
                acceptPausedUntil_ = Clock::now() + std::chrono::seconds(1);
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                logWarning(std::string("metrics endpoint: accept failed: ") + std::strerror(errno));
            }
            return;
        }
        UniqueFd fd(raw);
        std::string source = sourceKeyOfPeer(raw);
        // A request still arriving (or an answer already sent) is what may give way: a client
        // holding slots with half-sent requests cannot keep a complete one out.
        auto decision = slots_.decide(source, [this](int id) {
            auto it = std::find_if(connections_.begin(), connections_.end(),
                                   [id](const Connection& c) { return c.fd.get() == id; });
            return it != connections_.end() && it->phase != Connection::Phase::Writing;
        });
        if (!decision.admitted) {
            // Best effort, never waited for: the answer fits an empty socket buffer.
            std::string busy = errorResponse(503);
            [[maybe_unused]] auto n =
                ::send(fd.get(), busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            continue;
        }
        if (decision.evict) {
            logDebug("metrics endpoint: closing an incomplete request to make room for " + source + " (" +
                     decision.reason + ")");
            slots_.remove(*decision.evict);
            std::erase_if(connections_, [id = *decision.evict](const Connection& c) { return c.fd.get() == id; });
        }
        slots_.add(raw, source);
        Connection c;
        c.fd = std::move(fd);
        c.deadline = Clock::now() + limits_.deadline;
        // A request that came with the connection is read now: complete, it cannot be
        // reclaimed by the next newcomer (a flood of them from the same address included).
        if (serve(c, POLLIN)) {
            connections_.push_back(std::move(c));
        } else {
            slots_.remove(raw);
        }
    }
}

bool MetricsEndpoint::serve(Connection& c, short revents) {
    if ((revents & (POLLERR | POLLNVAL)) != 0) {
        return false;
    }
    char buf[4096];
    while (c.phase == Connection::Phase::Reading) {
        std::size_t room = std::min(sizeof buf, limits_.maxRequestBytes - c.received.size());
        auto n = nonBlocking([&] { return ::recv(c.fd.get(), buf, room, 0); });
        if (!n || *n < 0) {
            return !n;
        }
        c.received.append(buf, static_cast<std::size_t>(*n));
        HttpRequestHead head = parseHttpRequest(c.received, limits_.maxRequestBytes);
        // A peer that stopped sending before the end of its headers still hears why: 400.
        if (head.status != HttpRequestHead::Status::Incomplete || *n == 0) {
            c.answer = answerHttpRequest(head, scrape_, token_);
            c.phase = Connection::Phase::Writing;
        }
    }
    while (c.phase == Connection::Phase::Writing) {
        auto n = nonBlocking([&] {
            return ::send(c.fd.get(), c.answer.data() + c.sent, c.answer.size() - c.sent,
                          MSG_NOSIGNAL);
        });
        if (!n || *n < 0) {
            return !n;
        }
        c.sent += static_cast<std::size_t>(*n);
        if (c.sent == c.answer.size()) {
            ::shutdown(c.fd.get(), SHUT_WR);
            c.phase = Connection::Phase::Draining;
        }
    }
    while (c.drained < kMaxDrainBytes) {
        auto n = nonBlocking([&] { return ::recv(c.fd.get(), buf, sizeof buf, 0); });
        if (!n || *n <= 0) {
            return !n;  // at end of file the peer has read the answer and closed
        }
        c.drained += static_cast<std::size_t>(*n);
    }
    return false;
}

void MetricsEndpoint::run(const std::stop_token& stop) {
    std::vector<pollfd> fds;
    while (!stop.stop_requested()) {
        fds.clear();
        const auto now = Clock::now();
        auto timeout = std::chrono::milliseconds(-1);
        auto wakeAt = [&](Clock::time_point when) {
            auto left = std::chrono::ceil<std::chrono::milliseconds>(
                std::max(when - now, Clock::duration::zero()));
            timeout = timeout.count() < 0 ? left : std::min(timeout, left);
        };
        const bool accepting = now >= acceptPausedUntil_;
        if (!accepting) {
            wakeAt(acceptPausedUntil_);
        }
        fds.push_back({wake_.get(), POLLIN, 0});
        for (const auto& l : listeners_) {
            fds.push_back({l.get(), static_cast<short>(accepting ? POLLIN : 0), 0});
        }
        for (const auto& c : connections_) {
            fds.push_back(
                {c.fd.get(),
                 static_cast<short>(c.phase == Connection::Phase::Writing ? POLLOUT : POLLIN), 0});
            wakeAt(c.deadline);
        }
        if (::poll(fds.data(), fds.size(), static_cast<int>(timeout.count())) < 0) {
            if (errno == EINTR) {
                continue;
            }
            logError(std::string("metrics endpoint stops: poll failed: ") + std::strerror(errno));
            return;
        }
        if (fds[0].revents != 0) {
            return;  // the destructor's wake-up
        }
        const std::size_t first = 1 + listeners_.size();
        std::vector<Connection> open;
        open.reserve(connections_.size());
        for (std::size_t i = 0; i < connections_.size(); ++i) {
            Connection& c = connections_[i];
            short revents = fds[first + i].revents;
            bool alive = revents == 0 || serve(c, revents);
            if (alive && Clock::now() >= c.deadline) {
                logDebug("metrics endpoint: closing a connection that did not finish in time");
                alive = false;
            }
            if (alive) {
                open.push_back(std::move(c));
            } else {
                slots_.remove(c.fd.get());
            }
        }
        connections_ = std::move(open);
        for (std::size_t i = 0; i < listeners_.size(); ++i) {
            if (fds[1 + i].revents != 0) {
                acceptConnections(listeners_[i].get());
            }
        }
    }
}

}  // namespace corral::daemon
