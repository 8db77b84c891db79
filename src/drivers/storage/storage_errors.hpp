// SPDX-License-Identifier: LGPL-2.1-or-later
// The storage driver's common failures, in libvirt's words and error domain.
#pragma once

#include <cerrno>
#include <cstdio>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace corral::drivers::storage {

/// VIR_ERR_OPERATION_INVALID: the pool or volume is in the wrong state for the call.
inline Unexpected storageInvalid(const std::string& message) {
    return fail(ErrorCode::OperationInvalid, message, ErrorDomain::Storage);
}

/// libvirt's virCheckFlags message: "unsupported flags (0x4) in function virStoragePoolBuild".
inline Unexpected storageBadFlags(unsigned flags, std::string_view api) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%x", flags);
    return fail(ErrorCode::InvalidArg, "unsupported flags (" + std::string(hex) + ") in function " + std::string(api),
                ErrorDomain::Storage);
}

/// A system call's failure with errno, in the storage domain.
inline Unexpected storageErrno(int err, const std::string& message) {
    Error e = failErrno(err, message).error;
    e.domain = ErrorDomain::Storage;
    return unexpected(std::move(e));
}

}  // namespace corral::drivers::storage
