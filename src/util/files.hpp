// SPDX-License-Identifier: LGPL-2.1-or-later
// Small file-system helpers shared by the daemon and the drivers.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace corral {

/// mkdir -p: creates each missing component of `path` with `mode`; existing ones are left as
/// they are. The error names the component that could not be created.
Result<void> makeDirectories(const std::string& path, mode_t mode);

/// The whole content of `path` (a sysfs or cgroup file, a small config). The error names it.
Result<std::string> readTextFile(const std::string& path);

/// Refuses a secret (`what`: "private key", ...) that group or others can access, naming it,
/// its mode and the fix: "private key '/k.pem' is accessible by group or others (mode 0644);
/// restrict it with 'chmod 600 /k.pem'". A secret others could read is as good as published.
Result<void> requireOwnerOnlyAccess(const std::string& path, std::string_view what);

/// Reads a secret corrald reads itself: one open (no symbolic link followed), then checks on
/// what was opened: a regular file, owned by root or this process's user, that group and
/// others cannot access (refused as requireOwnerOnlyAccess words it).
Result<std::string> readPrivateFile(const std::string& path, std::string_view what);

/// Replaces `path` with `content` atomically (a reader sees the old file or the whole new
/// one): written to PATH.new with `mode`, then renamed over it.
Result<void> writeFileAtomically(const std::string& path, std::string_view content, mode_t mode = 0600);

/// Writes `content` to an existing file in one write(2), as kernel interfaces (cgroup files,
/// /proc/PID/...) require; the kernel's refusal (EINVAL for a bad value) names the file.
Result<void> writeKernelFile(const std::string& path, std::string_view content);

/// Moves the file an older daemon (before names were escaped) left for `name` in `dir`, named
/// with the bare name (legacyPathComponent), to pathForName(dir, name, suffix), when it is there
/// and nothing is at the new path yet: a running guest's pid file or socket after an upgrade,
/// a managed save image. Renaming keeps an open file or a bound socket working.
void moveLegacyFile(const std::string& dir, std::string_view name, std::string_view suffix);

}  // namespace corral
