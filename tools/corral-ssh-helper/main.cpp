// SPDX-License-Identifier: LGPL-2.1-or-later
// corral-ssh-helper: the far end of qemu+ssh:// connections. ssh runs it on the Corral host with
// virt-ssh-helper's calling convention; it connects to the local corrald socket the URI names
// and relays bytes between it and its stdin/stdout until either side closes.
//
//   corral-ssh-helper [-r|--readonly] URI
//
// URI is the connection's URI without transport and host (qemu:///system, lxc:///); a
// `socket=` parameter picks the socket (a corrald started with --root), otherwise the system
// socket (/run/corral/corral-sock, -sock-ro with -r).
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "util/unix_socket.hpp"

namespace {

int usage(FILE* out, int status) {
    std::fprintf(out, "usage: corral-ssh-helper [-r|--readonly] URI\n");
    return status;
}

/// The value of `key=` in the URI's query, percent-decoding not needed for paths we write.
std::string queryParam(std::string_view uri, std::string_view key) {
    auto q = uri.find('?');
    while (q != std::string_view::npos) {
        std::string_view rest = uri.substr(q + 1);
        auto amp = rest.find('&');
        std::string_view item = rest.substr(0, amp);
        if (item.substr(0, key.size()) == key && item.size() > key.size() && item[key.size()] == '=') {
            return std::string(item.substr(key.size() + 1));
        }
        q = amp == std::string_view::npos ? amp : q + 1 + amp;
    }
    return {};
}

/// Copies what is readable from `from` to `to`; false at the end of the stream or on an error.
bool pump(int from, int to) {
    char buf[65536];
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return true;
    }
    if (n <= 0) {
        return false;
    }
    for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(to, buf + off, static_cast<std::size_t>(n - off));
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return false;
        }
        off += w;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    bool readOnly = false;
    std::string uri;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-r" || a == "--readonly") {
            readOnly = true;
        } else if (a == "-h" || a == "--help") {
            return usage(stdout, 0);
        } else if (uri.empty() && a.substr(0, 1) != "-") {
            uri = a;
        } else {
            return usage(stderr, 2);
        }
    }
    if (uri.empty()) {
        return usage(stderr, 2);
    }
    std::string socket = queryParam(uri, "socket");
    if (socket.empty()) {
        socket = readOnly ? "/run/corral/corral-sock-ro" : "/run/corral/corral-sock";
    }
    auto conn = corral::connectUnixSocket(socket);
    if (!conn) {
        // ssh shows our stderr to the user: name the socket and the likely cause.
        std::fprintf(stderr, "corral-ssh-helper: %s (is corrald running on this host?)\n",
                     conn.error().message.c_str());
        return 1;
    }
    int daemon = conn->get();
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {daemon, POLLIN, 0}};
    bool inputOpen = true;
    while (true) {
        fds[0].fd = inputOpen ? STDIN_FILENO : -1;
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            return 1;
        }
        if (fds[0].revents != 0 && !pump(STDIN_FILENO, daemon)) {
            // The client closed its side: let the daemon finish answering, then stop.
            inputOpen = false;
            ::shutdown(daemon, SHUT_WR);
        }
        if (fds[1].revents != 0 && !pump(daemon, STDOUT_FILENO)) {
            return 0;
        }
    }
}
