// SPDX-License-Identifier: LGPL-2.1-or-later
// A sealed memfd: bytes handed to a child process through a descriptor it inherits, never
// through a file a path reaches (another user could read it) or the command line (anyone can).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::host {

/// An anonymous memory file (memfd_create, close-on-exec) holding `bytes`, mode 0400 (root's
/// until the caller gives it, with fchown, to the identity the reading child runs as), sealed
/// against writing, growing, shrinking and further seals: what the child reads is what was
/// written. `name` is only the label /proc/PID/fd shows ("corral-secret-vda").
Result<UniqueFd> sealedMemfd(const std::string& name, std::span<const std::uint8_t> bytes);

}  // namespace corral::host
