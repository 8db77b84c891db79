// SPDX-License-Identifier: LGPL-2.1-or-later
// TestBackend: state-only guests.
#include "drivers/test/test_backend.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string_view>

#include "conf/domain_def.hpp"
#include "conf/domain_tuning.hpp"

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

Result<void> TestBackend::reboot(objects::DomainObj& dom, unsigned) {
    // A test guest's on_reboot is carried out at once: it runs again, just booted.
    dom.setState(objects::DomainState::Running, static_cast<int>(objects::RunningReason::Booted));
    return {};
}
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

Result<void> TestBackend::applyTuning(objects::DomainObj&, const conf::DomainDef&) { return {}; }

Result<void> TestBackend::attachDevice(objects::DomainObj&, conf::XmlNode&, const conf::DomainDef&) { return {}; }

Result<void> TestBackend::detachDevice(objects::DomainObj& dom, const conf::XmlNode&, const std::string& alias,
                                       std::chrono::milliseconds) {
    if (sink_ != nullptr) {
        sink_->guestDeviceRemoved(dom.uuid(), alias);
    }
    return {};
}

Result<conf::DomainTuning> TestBackend::readLiveTuning(objects::DomainObj& dom) {
    std::lock_guard lock(dom.mutex());
    return conf::readTuning(*dom.def);
}

namespace {
constexpr std::string_view kStateMarker = "corral-test-guest-state\n";
}  // namespace

Result<void> TestBackend::saveState(objects::DomainObj& dom, int fd) {
    if (::write(fd, kStateMarker.data(), kStateMarker.size()) != static_cast<ssize_t>(kStateMarker.size())) {
        return failErrno(errno, "cannot write the state of test domain '" + dom.name() + "'");
    }
    return {};
}

Result<void> TestBackend::startFromState(objects::DomainObj& dom, conf::DomainDef& liveDef, int fd) {
    char buf[kStateMarker.size()];
    if (::read(fd, buf, sizeof buf) != static_cast<ssize_t>(sizeof buf) ||
        std::string_view(buf, sizeof buf) != kStateMarker) {
        return fail(ErrorCode::OperationFailed, "the save image holds no test guest state", ErrorDomain::Test);
    }
    return start(dom, liveDef, true);
}

}  // namespace corral::drivers
