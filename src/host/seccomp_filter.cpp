// SPDX-License-Identifier: LGPL-2.1-or-later
#include "host/seccomp_filter.hpp"

#include <seccomp.h>

#include <cerrno>
#include <memory>

namespace corral::host {

namespace {

struct FilterDeleter {
    void operator()(void* ctx) const { seccomp_release(ctx); }
};

/// libseccomp returns negative errno values.
Unexpected seccompFailure(int rc, const std::string& step) { return failErrno(-rc, "cannot " + step); }

}  // namespace

Result<void> installSyscallDenials(std::span<const SyscallDenial> denials) {
    std::unique_ptr<void, FilterDeleter> ctx(seccomp_init(SCMP_ACT_ALLOW));
    if (!ctx) {
        return fail(ErrorCode::InternalError, "cannot create a seccomp filter");
    }
    // A 64-bit process may still enter the kernel through the 32-bit (int 0x80) and x32 tables;
    // each table gets the same rules (libseccomp translates the names). Without this the
    // default action for a foreign architecture would let those calls through unfiltered.
    if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
        for (std::uint32_t arch : {SCMP_ARCH_X86, SCMP_ARCH_X32}) {
            if (int rc = seccomp_arch_add(ctx.get(), arch); rc != 0 && rc != -EEXIST) {
                return seccompFailure(rc, "add a system call table to the seccomp filter");
            }
        }
    }
    for (const auto& d : denials) {
        int nr = seccomp_syscall_resolve_name(d.name);
        if (nr == __NR_SCMP_ERROR) {
            continue;  // not a call of this architecture (vm86 on x86_64, for one)
        }
        if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(static_cast<std::uint32_t>(d.errnoValue)), nr, 0);
            rc != 0) {
            return seccompFailure(rc, std::string("refuse '") + d.name + "' in the seccomp filter");
        }
    }
    if (int rc = seccomp_load(ctx.get()); rc != 0) {
        return seccompFailure(rc, "load the seccomp filter");
    }
    return {};
}

}  // namespace corral::host
