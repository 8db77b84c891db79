// SPDX-License-Identifier: LGPL-2.1-or-later
#include "security/landlock_driver.hpp"

namespace corral::security {

Result<void> LandlockDriver::prepare(const conf::DomainDef& def, const std::vector<GuestFile>& files,
                                     GuestSecurity& security) {
    (void)def;
    auto& plan = security.confinement;
    plan.landlock = true;
    plan.landlockRules = systemRules_;
    for (const auto& file : files) {
        if (file.path.empty() || file.path[0] != '/') {
            continue;
        }
        host::LandlockRule rule;
        rule.path = file.path;
        rule.read = true;
        rule.write = file.write || file.socketDir;
        rule.deviceIoctl = true;  // a block device disk takes ioctls; a regular file ignores the right
        plan.landlockRules.push_back(std::move(rule));
    }
    return {};
}

}  // namespace corral::security
