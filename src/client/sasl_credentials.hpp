// SPDX-License-Identifier: LGPL-2.1-or-later
// Where corral finds a SASL user name and password, as libvirt's clients do: the auth file
// (?authfile= or LIBVIRT_AUTH_FILE: [auth-libvirt-HOST] credentials=NAME, then
// [credentials-NAME] authname=/password=), else a prompt on the terminal.
#pragma once

#include <optional>
#include <string>

#include "client/uri.hpp"
#include "rpc/sasl_session.hpp"

namespace corral::client {

/// The credentials for `uri`'s host (or "localhost" without one).
rpc::SaslCredentials saslCredentials(const Uri& uri);

/// The authname and password the auth file `text` gives `host` ("default" is the fallback
/// section, as in libvirt).
struct AuthFileEntry {
    std::optional<std::string> username;
    std::optional<std::string> password;
};
AuthFileEntry parseAuthFile(const std::string& text, const std::string& host);

}  // namespace corral::client
