// SPDX-License-Identifier: LGPL-2.1-or-later
// MetricsEndpoint: corrald's Prometheus endpoint (metrics_listen). One thread of its own with its
// own listening sockets and poll loop, so neither a scrape nor a slow or hostile HTTP client ever
// reaches the RPC I/O thread; deadlines and caps bound what any client can hold.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "daemon/connection_slots.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::daemon {

struct MetricsEndpointLimits {
    /// Connections served at once. A newcomer finding them all taken closes the oldest whose
    /// request is not complete yet (of the source holding most); with none, it is answered 503.
    std::size_t maxConnections = 8;
    /// Of those, what one source address (an IPv6 /64) may hold: past it, a newcomer from
    /// there closes that source's own oldest incomplete request, or is answered 503.
    std::size_t maxConnectionsPerSource = 4;
    /// Request line and headers together; a longer request is answered 400.
    std::size_t maxRequestBytes = 8192;
    /// From accept to the last byte of the answer; a connection still open then is closed.
    std::chrono::milliseconds deadline{10000};
};

/// What the bytes of a request received so far amount to.
struct HttpRequestHead {
    enum class Status { Incomplete, Malformed, Complete };
    Status status = Status::Incomplete;
    std::string method;
    std::string target;  ///< as sent: "/metrics?x=1"
    std::string authorization;  ///< the Authorization header's value, "" when absent
};

/// Reads the request line and headers of an HTTP/1.x request (pure). Complete once the empty
/// line has arrived; Malformed as soon as a line is not HTTP (or holds a control byte), or when
/// `maxBytes` arrived without the empty line.
HttpRequestHead parseHttpRequest(std::string_view received, std::size_t maxBytes);

/// The whole response to a parsed request: 400 for a malformed one; 401 when `token` is set
/// and the request does not carry `Authorization: Bearer TOKEN`; 404 for any path but /metrics,
/// 405 for a method other than GET, else 200 with `scrape()` (called only then). Every response
/// closes the connection.
std::string answerHttpRequest(const HttpRequestHead& request, const std::function<std::string()>& scrape,
                              std::string_view token = {});

/// metrics_token_file's token: the file's first line, which must be 16 to 1024 characters of
/// RFC 6750's token68 (letters, digits, "-._~+/", trailing "="). Refused, naming the file, when
/// group or others can access it, as a private key is, or owned by another user (readPrivateFile).
Result<std::string> readMetricsToken(const std::string& path);

class MetricsEndpoint {
public:
    /// Produces the page; runs on the endpoint's thread, one scrape at a time.
    using Scrape = std::function<std::string()>;

    /// Listens on `address`:`port` and starts the thread. Errors name the address and port.
    /// With a `token`, only requests that carry it as a bearer token are answered (401 else).
    static Result<std::unique_ptr<MetricsEndpoint>> create(const std::string& address,
                                                           const std::string& port, Scrape scrape,
                                                           std::string token = {},
                                                           MetricsEndpointLimits limits = {});
    /// Stops the thread (after the scrape in progress, if any) and closes every socket.
    ~MetricsEndpoint();

    MetricsEndpoint(const MetricsEndpoint&) = delete;
    MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

    /// The port listened on (what port "0" became).
    [[nodiscard]] std::uint16_t port() const;

private:
    struct Connection;

    MetricsEndpoint(Scrape scrape, std::string token, MetricsEndpointLimits limits);
    void run(const std::stop_token& stop);
    void acceptConnections(int listener);
    /// Advances one connection on a poll event; false once it is finished.
    bool serve(Connection& c, short revents);

    Scrape scrape_;
    std::string token_;  ///< the bearer token requests must carry; "" for none
    MetricsEndpointLimits limits_;
    std::vector<UniqueFd> listeners_;      ///< immutable after construction
    UniqueFd wake_;                        ///< eventfd: the destructor's "stop now"
    std::vector<Connection> connections_;  ///< the endpoint's thread only
    ConnectionSlots slots_;                ///< connections_ by source; the endpoint's thread only
    std::chrono::steady_clock::time_point acceptPausedUntil_;  ///< the endpoint's thread only
    std::jthread thread_;  ///< last: started once everything it uses exists
};

}  // namespace corral::daemon
