// SPDX-License-Identifier: LGPL-2.1-or-later
// Messages to the kernel's audit subsystem (what auditd records in audit.log), in the
// user-message types libvirt uses for virtual machines, so existing audit rules and ausearch
// queries (ausearch -m VIRT_MACHINE_ID) work for Corral's guests too.
#pragma once

#include <string>

#include "util/result.hpp"

namespace corral::host {

/// Audit record types of the virtualization range (linux/audit.h).
inline constexpr int kAuditVirtControl = 2500;
inline constexpr int kAuditVirtResource = 2501;
inline constexpr int kAuditVirtMachineId = 2502;

/// Sends one user message of `type` with `text` ("virt=qemu vm=... uuid=..."). Errors when the
/// kernel has no audit support or refuses it (no CAP_AUDIT_WRITE): callers log and go on.
Result<void> sendKernelAudit(int type, const std::string& text, bool success);

/// `value` quoted for an audit field when it has spaces or quotes (hex-encoded, as auditd does).
std::string auditValue(const std::string& value);

}  // namespace corral::host
