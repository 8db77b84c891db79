// SPDX-License-Identifier: LGPL-2.1-or-later
// Connection URIs with libvirt's rules: driver[+transport]://[user@][host][:port]/path?params.
#pragma once

#include <map>
#include <string>

#include "util/result.hpp"

namespace corral::client {

struct Uri {
    std::string original;
    std::string driver;     ///< "qemu", "lxc", "test", "remote"
    std::string transport;  ///< "unix", "tcp", "tls", "ssh", "" (local)
    std::string user;
    std::string host;
    std::string port;
    std::string path;       ///< "/system", "/default", "/"
    std::map<std::string, std::string> params;

    static Result<Uri> parse(const std::string& text);

    /// The name sent in CONNECT_OPEN: the URI without transport, user, host and the parameters
    /// only the client uses (libvirt's list), e.g. qemu+unix:///system?socket=/x -> qemu:///system.
    [[nodiscard]] std::string openName() const;
    /// True for URIs served in-process (test:///... with no transport): libvirt's test driver
    /// runs inside the client too.
    [[nodiscard]] bool isEmbedded() const;
    /// The unix socket to use: socket= when given, else the system socket (-ro when read-only).
    [[nodiscard]] std::string socketPath(bool readOnly) const;
};

/// `-c` when given, else CORRAL_DEFAULT_URI, else LIBVIRT_DEFAULT_URI, else qemu:///system.
std::string resolveDefaultUri(const std::string& fromCommandLine);

}  // namespace corral::client
