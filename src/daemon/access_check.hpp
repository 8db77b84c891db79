// SPDX-License-Identifier: LGPL-2.1-or-later
// The access rules applied to calls: who the caller is (access::Identity from the session) and
// which domain a call is about, read from its arguments before the driver sees them.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>

#include "access/identity.hpp"
#include "daemon/client_session.hpp"
#include "rpc/xdr.hpp"
#include "util/uuid.hpp"

namespace corral::daemon {

/// The caller as the rules see it (transport, read-only, uid/gid, SASL user, x509 DN).
access::Identity identityOf(const ClientSession& session);

/// The name a domain has in the driver, by its UUID; nullopt when there is no such domain.
using DomainNameByUuid = std::function<std::optional<std::string>(const Uuid&)>;

/// The domain `procedure` acts on: the name of the XML being defined or created, or the
/// arguments' first field where that is the domain or its name (lookup by name); nullopt for
/// calls about no single domain. A remote_nonnull_domain is judged by its UUID, which is what
/// the driver acts on (`byUuid`), never by the name the client wrote beside it.
std::optional<std::string> domainNameOfCall(const rpc::proto::ProcedureInfo& procedure,
                                            std::span<const std::uint8_t> payload, const DomainNameByUuid& byUuid);

/// The call's flags where they decide access: for a procedure with flags forbidden on read-only
/// connections (ProcedureInfo::readonlyDeniedFlags), whose arguments all end with
/// `unsigned int flags`, the payload's last four bytes; 0 for every other procedure and for a
/// payload too short to hold them (the decoder refuses it afterwards).
std::uint32_t flagsOfCall(const rpc::proto::ProcedureInfo& procedure, std::span<const std::uint8_t> payload);

}  // namespace corral::daemon
