// SPDX-License-Identifier: LGPL-2.1-or-later
// The access rules applied to calls: who the caller is (access::Identity from the session) and
// which domain a call is about, read from its arguments before the driver sees them.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "access/identity.hpp"
#include "daemon/client_session.hpp"
#include "rpc/xdr.hpp"

namespace corral::daemon {

/// The caller as the rules see it (transport, read-only, uid/gid, SASL user, x509 DN).
access::Identity identityOf(const ClientSession& session);

/// The domain `procedure` acts on: the name of the XML being defined or created, or the
/// arguments' first field where that is the domain (remote_nonnull_domain starts with its
/// name) or its name (lookup by name); nullopt for calls about no single domain.
std::optional<std::string> domainNameOfCall(const rpc::proto::ProcedureInfo& procedure,
                                            std::span<const std::uint8_t> payload);

}  // namespace corral::daemon
