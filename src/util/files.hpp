// SPDX-License-Identifier: LGPL-2.1-or-later
// Small file-system helpers shared by the daemon and the drivers.
#pragma once

#include <sys/types.h>

#include <string>

#include "util/result.hpp"

namespace corral {

/// mkdir -p: creates each missing component of `path` with `mode`; existing ones are left as
/// they are. The error names the component that could not be created.
Result<void> makeDirectories(const std::string& path, mode_t mode);

}  // namespace corral
