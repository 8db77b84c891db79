// SPDX-License-Identifier: LGPL-2.1-or-later
#include "client/sasl_credentials.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <map>

#include "util/files.hpp"
#include "util/strings.hpp"

namespace corral::client {

namespace {

using Sections = std::map<std::string, std::map<std::string, std::string>>;

Sections parseIni(const std::string& text) {
    Sections sections;
    std::string current;
    for (const auto& raw : splitString(text, '\n')) {
        std::string line(trimString(raw));
        if (line.empty() || line[0] == '#' || line[0] == ';') {
            continue;
        }
        if (line.front() == '[' && line.back() == ']') {
            current = line.substr(1, line.size() - 2);
            continue;
        }
        auto eq = line.find('=');
        if (eq != std::string::npos && !current.empty()) {
            sections[current][std::string(trimString(line.substr(0, eq)))] = std::string(trimString(line.substr(eq + 1)));
        }
    }
    return sections;
}

/// Asks on the terminal (not stdin, which may carry data); the password without echo.
std::optional<std::string> prompt(const std::string& question, bool secret) {
    int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (tty < 0) {
        return std::nullopt;
    }
    (void)!::write(tty, question.data(), question.size());
    termios saved{};
    bool restore = secret && ::tcgetattr(tty, &saved) == 0;
    if (restore) {
        termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(tty, TCSAFLUSH, &quiet);
    }
    std::string answer;
    char c = 0;
    while (::read(tty, &c, 1) == 1 && c != '\n') {
        answer += c;
    }
    if (restore) {
        ::tcsetattr(tty, TCSAFLUSH, &saved);
        (void)!::write(tty, "\n", 1);
    }
    ::close(tty);
    return answer;
}

}  // namespace

AuthFileEntry parseAuthFile(const std::string& text, const std::string& host) {
    Sections sections = parseIni(text);
    AuthFileEntry entry;
    for (const std::string& section : {"auth-libvirt-" + host, std::string("auth-libvirt-default")}) {
        auto it = sections.find(section);
        if (it == sections.end() || it->second.count("credentials") == 0) {
            continue;
        }
        auto creds = sections.find("credentials-" + it->second["credentials"]);
        if (creds == sections.end()) {
            continue;
        }
        if (auto u = creds->second.find("authname"); u != creds->second.end()) {
            entry.username = u->second;
        } else if (auto u2 = creds->second.find("username"); u2 != creds->second.end()) {
            entry.username = u2->second;
        }
        if (auto p = creds->second.find("password"); p != creds->second.end()) {
            entry.password = p->second;
        }
        break;
    }
    return entry;
}

rpc::SaslCredentials saslCredentials(const Uri& uri) {
    std::string path;
    if (auto it = uri.params.find("authfile"); it != uri.params.end()) {
        path = it->second;
    } else if (const char* env = std::getenv("LIBVIRT_AUTH_FILE"); env != nullptr) {
        path = env;
    }
    AuthFileEntry entry;
    if (!path.empty()) {
        if (auto text = readTextFile(path)) {
            entry = parseAuthFile(*text, uri.host.empty() ? "localhost" : uri.host);
        }
    }
    rpc::SaslCredentials creds;
    creds.username = [entry]() { return entry.username ? entry.username : prompt("Please enter your authentication name: ", false); };
    creds.password = [entry]() { return entry.password ? entry.password : prompt("Please enter your password: ", true); };
    return creds;
}

}  // namespace corral::client
