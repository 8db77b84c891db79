// SPDX-License-Identifier: LGPL-2.1-or-later
// UnstartableBackend implementation.
#include "drivers/common/unstartable_backend.hpp"

#include "conf/domain_def.hpp"

namespace corral::drivers {

Result<void> UnstartableBackend::checkDefinition(const conf::DomainDef& def) {
    for (const auto& t : types_) {
        if (def.type == t) {
            return {};
        }
    }
    std::string accepted;
    for (const auto& t : types_) {
        accepted += (accepted.empty() ? "'" : ", '") + t + "'";
    }
    return fail(ErrorCode::ConfigUnsupported,
                "domain type '" + def.type + "' is not supported by the '" + driver_ +
                    "' driver (accepted: " + accepted + ")",
                ErrorDomain::Domain);
}

Unexpected UnstartableBackend::notYet(const char* what) const {
    return fail(ErrorCode::NoSupport,
                std::string(what) + " '" + driver_ + "' guests is not implemented yet in this build",
                ErrorDomain::Domain);
}

Result<void> UnstartableBackend::start(objects::DomainObj&, conf::DomainDef&, bool) {
    return notYet("starting");
}
Result<void> UnstartableBackend::destroy(objects::DomainObj&, bool) { return notYet("destroying"); }
Result<bool> UnstartableBackend::shutdown(objects::DomainObj&, unsigned) {
    return notYet("shutting down");
}
Result<void> UnstartableBackend::reboot(objects::DomainObj&, unsigned) { return notYet("rebooting"); }
Result<void> UnstartableBackend::suspend(objects::DomainObj&) { return notYet("suspending"); }
Result<void> UnstartableBackend::resume(objects::DomainObj&) { return notYet("resuming"); }

}  // namespace corral::drivers
