// SPDX-License-Identifier: LGPL-2.1-or-later
// The capability sets of the calling process, through libcap-ng: which privileges a process and
// everything it will ever run can hold. Which ones to keep is policy and lives with its user.
#pragma once

#include <span>

#include "util/result.hpp"

namespace corral::host {

/// Leaves the calling process (not only the thread: it must be single-threaded) with exactly
/// `keep` (CAP_* numbers) in its effective, permitted and bounding sets, and nothing in its
/// inheritable and ambient sets. Nothing outside the bounding set can be gained again, by
/// exec of a set-uid or file-capability program included. Needs CAP_SETPCAP to shrink the
/// bounding set, so call it while still privileged. Numbers this kernel does not know are
/// ignored. Errors: the kernel refused a change (errno in the message).
Result<void> limitCapabilities(std::span<const int> keep);

}  // namespace corral::host
