// SPDX-License-Identifier: LGPL-2.1-or-later
#include "host/capabilities.hpp"

#include <cap-ng.h>

#include <linux/capability.h>

#include <cerrno>

#include "util/files.hpp"
#include "util/strings.hpp"

namespace corral::host {

namespace {

/// The highest capability number the running kernel knows (it may be older or newer than the
/// headers this was built with).
int kernelLastCapability() {
    auto text = readTextFile("/proc/sys/kernel/cap_last_cap");
    auto n = text ? parseUnsigned(trimString(*text)) : std::nullopt;
    return n ? static_cast<int>(*n) : CAP_LAST_CAP;
}

}  // namespace

Result<void> limitCapabilities(std::span<const int> keep) {
    capng_clear(CAPNG_SELECT_ALL);
    const int last = kernelLastCapability();
    for (int cap : keep) {
        if (cap < 0 || cap > last) {
            continue;
        }
        if (capng_update(CAPNG_ADD, static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET),
                         static_cast<unsigned>(cap)) != 0) {
            return fail(ErrorCode::InternalError, "cannot keep capability " + std::to_string(cap));
        }
    }
    // libcap-ng shrinks the bounding set first (while CAP_SETPCAP is still effective), then
    // sets the other sets, then clears the ambient set.
    errno = 0;
    if (int rc = capng_apply(CAPNG_SELECT_ALL); rc != 0) {
        return failErrno(errno != 0 ? errno : EPERM, "cannot limit the capabilities (step " + std::to_string(rc) + ")");
    }
    return {};
}

}  // namespace corral::host
