// SPDX-License-Identifier: LGPL-2.1-or-later
// TestBackend: guests that exist only as state; every operation succeeds at once.
#pragma once

#include "drivers/common/guest_backend.hpp"

namespace corral::drivers {

class TestBackend final : public GuestBackend {
public:
    Result<void> checkDefinition(const conf::DomainDef& def) override;
    Result<void> start(objects::DomainObj& dom, conf::DomainDef& liveDef, bool paused) override;
    Result<void> destroy(objects::DomainObj& dom, bool graceful) override;
    Result<bool> shutdown(objects::DomainObj& dom, unsigned flags) override;
    Result<void> reboot(objects::DomainObj& dom, unsigned flags) override;
    Result<void> suspend(objects::DomainObj& dom) override;
    Result<void> resume(objects::DomainObj& dom) override;
    Result<bool> reconnect(objects::DomainObj& dom, conf::DomainDef& liveDef) override;
    std::uint64_t cpuTimeNs(const objects::DomainObj& dom) override;
    std::string osType(const conf::DomainDef& def) override;
};

}  // namespace corral::drivers
