// SPDX-License-Identifier: LGPL-2.1-or-later
// URI parsing and the client-side parameters libvirt strips before CONNECT_OPEN.
#include "client/uri.hpp"

#include <cstdlib>
#include <set>

#include "util/strings.hpp"

namespace corral::client {

namespace {

// Parameters consumed by the client (libvirt's remote driver), never sent to the daemon.
const std::set<std::string>& clientOnlyParams() {
    static const std::set<std::string> kParams = {
        "name", "command", "socket", "auth", "sshauth", "netcat", "keyfile", "pkipath",
        "known_hosts", "known_hosts_verify", "tls_priority", "mode", "proxy", "no_sanity",
        "no_verify", "no_tty", "authfile"};
    return kParams;
}

std::string percentDecode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            auto v = parseUnsigned("0x" + std::string(s.substr(i + 1, 2)));
            if (v) {
                out += static_cast<char>(*v);
                i += 2;
                continue;
            }
        }
        out += s[i];
    }
    return out;
}

}  // namespace

Result<Uri> Uri::parse(const std::string& text) {
    Uri u;
    u.original = text;
    auto colon = text.find(':');
    if (colon == std::string::npos || colon == 0) {
        return fail(ErrorCode::InvalidArg, "invalid URI '" + text + "': no scheme");
    }
    std::string scheme = text.substr(0, colon);
    auto plus = scheme.find('+');
    u.driver = scheme.substr(0, plus);
    if (plus != std::string::npos) {
        u.transport = scheme.substr(plus + 1);
    }
    std::string rest = text.substr(colon + 1);
    std::string query;
    auto q = rest.find('?');
    if (q != std::string::npos) {
        query = rest.substr(q + 1);
        rest.resize(q);
    }
    if (startsWith(rest, "//")) {
        rest = rest.substr(2);
        auto slash = rest.find('/');
        std::string authority = rest.substr(0, slash);
        u.path = slash == std::string::npos ? "" : rest.substr(slash);
        auto at = authority.find('@');
        if (at != std::string::npos) {
            u.user = percentDecode(authority.substr(0, at));
            authority = authority.substr(at + 1);
        }
        auto portSep = authority.rfind(':');
        if (portSep != std::string::npos && authority.find(']') == std::string::npos) {
            u.port = authority.substr(portSep + 1);
            authority.resize(portSep);
        }
        u.host = authority;
    } else {
        u.path = rest;
    }
    if (!query.empty()) {
        for (const auto& kv : splitString(query, '&')) {
            if (kv.empty()) {
                continue;
            }
            auto eq = kv.find('=');
            std::string key = percentDecode(kv.substr(0, eq));
            std::string value = eq == std::string::npos ? "" : percentDecode(kv.substr(eq + 1));
            u.params[key] = value;
        }
    }
    return u;
}

std::string Uri::openName() const {
    if (auto it = params.find("name"); it != params.end()) {
        return it->second;
    }
    if (driver == "remote") {
        return "";  // the server picks its default driver
    }
    std::string name = driver + "://" + path;
    std::string query;
    for (const auto& [k, v] : params) {
        if (clientOnlyParams().count(k) != 0) {
            continue;
        }
        query += (query.empty() ? "?" : "&") + k + "=" + v;
    }
    if (path.empty()) {
        name = driver + ":///";
    }
    return name + query;
}

bool Uri::isEmbedded() const { return driver == "test" && transport.empty() && host.empty(); }

std::string Uri::socketPath(bool readOnly) const {
    if (auto it = params.find("socket"); it != params.end()) {
        return it->second;
    }
    return readOnly ? "/run/corral/corral-sock-ro" : "/run/corral/corral-sock";
}

std::string resolveDefaultUri(const std::string& fromCommandLine) {
    if (!fromCommandLine.empty()) {
        return fromCommandLine;
    }
    for (const char* var : {"CORRAL_DEFAULT_URI", "LIBVIRT_DEFAULT_URI"}) {
        const char* v = std::getenv(var);
        if (v != nullptr && *v != '\0') {
            return v;
        }
    }
    return "qemu:///system";
}

}  // namespace corral::client
