// SPDX-License-Identifier: LGPL-2.1-or-later
// ManagedDriver: a HypervisorDriver whose domain facets and events are a DomainManager's; the
// drivers built on it add their host facts and their GuestBackend.
#pragma once

#include <memory>

#include "drivers/common/domain_manager.hpp"

namespace corral::drivers {

class ManagedDriver : public HypervisorDriver {
public:
    ManagedDriver(DomainManagerOptions options, std::unique_ptr<GuestBackend> backend)
        : manager_(std::move(options), std::move(backend)) {}

    DomainManager& manager() { return manager_; }

    DomainLookup* lookup() override { return &manager_; }
    DomainConfig* config() override { return &manager_; }
    DomainLifecycle* lifecycle() override { return &manager_; }
    DomainQueries* queries() override { return &manager_; }
    DomainSaveRestore* saveRestore() override { return &manager_; }
    DomainStatsQueries* stats() override { return &manager_; }
    DomainTuningControl* tuning() override { return &manager_; }
    DomainMonitorPassthrough* monitor() override { return &manager_; }
    DomainGuestAgent* guestAgent() override { return &manager_; }
    DomainSecurity* security() override { return &manager_; }
    DomainConsole* console() override { return &manager_; }
    DomainDevices* devices() override { return &manager_; }
    DomainContainers* containers() override { return &manager_; }
    int addEventSink(DomainEventSink sink) override { return manager_.events().subscribe(std::move(sink)); }
    void removeEventSink(int id) override { manager_.events().unsubscribe(id); }

protected:
    DomainManager manager_;
};

}  // namespace corral::drivers
