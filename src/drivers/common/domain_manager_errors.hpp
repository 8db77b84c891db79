// SPDX-License-Identifier: LGPL-2.1-or-later
// The errors DomainManager's files share, worded as libvirt words them.
#pragma once

#include <cstdio>
#include <string>

#include "util/result.hpp"

namespace corral::drivers {

/// "invalid argument: unsupported flags (0x100) in function domainGetXMLDesc"
inline Unexpected unsupportedFlags(unsigned flags, const char* function) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "0x%x", flags);
    return fail(ErrorCode::InvalidArg, std::string("unsupported flags (") + hex + ") in function " + function,
                ErrorDomain::Domain);
}

/// "Requested operation is not valid: domain is not running"
inline Unexpected notRunning() {
    return fail(ErrorCode::OperationInvalid, "domain is not running", ErrorDomain::Domain);
}

}  // namespace corral::drivers
