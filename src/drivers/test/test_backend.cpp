// SPDX-License-Identifier: LGPL-2.1-or-later
// TestBackend: state-only guests.
#include "drivers/test/test_backend.hpp"

#include <chrono>

#include "conf/domain_def.hpp"

namespace corral::drivers {

Result<void> TestBackend::checkDefinition(const conf::DomainDef& def) {
    if (def.type != "test") {
        return fail(ErrorCode::ConfigUnsupported,
                    "domain type '" + def.type + "' is not supported by the test driver (use 'test')",
                    ErrorDomain::Test);
    }
    return {};
}

Result<void> TestBackend::start(objects::DomainObj&, conf::DomainDef&, bool) { return {}; }

Result<void> TestBackend::destroy(objects::DomainObj&, bool) { return {}; }

Result<bool> TestBackend::shutdown(objects::DomainObj&, unsigned flags) {
    // virDomainShutdownFlagValues: ACPI 1, AGENT 2, INITCTL 4, SIGNAL 8, PARAVIRT 16.
    if ((flags & ~31u) != 0) {
        return fail(ErrorCode::InvalidArg, "unsupported flags in function domainShutdownFlags",
                    ErrorDomain::Test);
    }
    return true;  // a test guest powers off at once
}

Result<void> TestBackend::reboot(objects::DomainObj&, unsigned) { return {}; }
Result<void> TestBackend::suspend(objects::DomainObj&) { return {}; }
// State-only guests live as long as the driver; there is nothing to find again.
Result<bool> TestBackend::reconnect(objects::DomainObj&, conf::DomainDef&) { return true; }
Result<void> TestBackend::resume(objects::DomainObj&) { return {}; }

std::uint64_t TestBackend::cpuTimeNs(const objects::DomainObj& dom) {
    // A test guest "runs" one vCPU flat out since it started, which keeps the number moving.
    auto elapsed = std::chrono::steady_clock::now() - dom.startedAt;
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
}

std::string TestBackend::osType(const conf::DomainDef&) {
    return "linux";  // what libvirt's test driver answers, whatever the XML says
}

}  // namespace corral::drivers
