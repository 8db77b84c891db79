// SPDX-License-Identifier: LGPL-2.1-or-later
// UnstartableBackend: the backend of a driver whose guest launcher has not landed yet. It
// manages definitions (define, undefine, autostart, XML) for real and refuses every operation
// that needs a running guest with a clear NoSupport error naming the driver.
#pragma once

#include <string>
#include <vector>

#include "drivers/common/guest_backend.hpp"

namespace corral::drivers {

class UnstartableBackend final : public GuestBackend {
public:
    /// `driver` names the driver in messages; `types` are the domain types it accepts;
    /// `osType` is what virDomainGetOSType reports.
    UnstartableBackend(std::string driver, std::vector<std::string> types, std::string osType)
        : driver_(std::move(driver)), types_(std::move(types)), osType_(std::move(osType)) {}

    Result<void> checkDefinition(const conf::DomainDef& def) override;
    Result<void> start(objects::DomainObj& dom, conf::DomainDef& liveDef, bool paused) override;
    Result<void> destroy(objects::DomainObj& dom, bool graceful) override;
    Result<bool> shutdown(objects::DomainObj& dom, unsigned flags) override;
    Result<void> reboot(objects::DomainObj& dom, unsigned flags) override;
    Result<void> suspend(objects::DomainObj& dom) override;
    Result<void> resume(objects::DomainObj& dom) override;
    /// Nothing this backend could have started is running.
    Result<bool> reconnect(objects::DomainObj&, conf::DomainDef&) override { return false; }
    std::uint64_t cpuTimeNs(const objects::DomainObj&) override { return 0; }
    std::string osType(const conf::DomainDef&) override { return osType_; }

private:
    Unexpected notYet(const char* what) const;

    std::string driver_;
    std::vector<std::string> types_;
    std::string osType_;
};

}  // namespace corral::drivers
