// SPDX-License-Identifier: LGPL-2.1-or-later
// Out-of-line parts of Result: errno failures and the aborts for misuse.
#include "util/result.hpp"

#include <cstdio>
#include <cstring>

namespace corral {

Unexpected failErrno(int err, std::string message, SourceLocation where) {
    message += ": ";
    message += std::strerror(err);
    return Unexpected{Error{ErrorCode::SystemError, ErrorDomain::None, std::move(message), err, where}};
}

void resultAccessFailure(const char* what) {
    std::fprintf(stderr, "corral: fatal: value() on a failed Result: %s\n", what);
    std::abort();
}

void checkFailed(const char* cond, const char* file, int line) {
    std::fprintf(stderr, "corral: fatal: check '%s' failed at %s:%d\n", cond, file, line);
    std::abort();
}

}  // namespace corral
