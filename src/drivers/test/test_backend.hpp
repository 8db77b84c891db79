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
    /// Like libvirt's test driver, live tuning is accepted and recorded in the live definition
    /// (there is no process to confine), so schedinfo, pinning and their events can be tested.
    Result<void> applyTuning(objects::DomainObj& dom, const conf::DomainDef& liveDef) override;
    Result<conf::DomainTuning> readLiveTuning(objects::DomainObj& dom) override;
    /// Memory and vCPUs of a running test guest change at once, as in libvirt's test driver
    /// (recorded in the live definition; vCPUs may go down as well as up).
    Result<void> setMemoryLive(objects::DomainObj&, const conf::DomainDef&) override { return {}; }
    Result<void> setVcpusLive(objects::DomainObj&, const conf::DomainDef&, unsigned) override { return {}; }
    /// A test guest has no memory to save: its image holds the definition and a marker, as
    /// libvirt's test driver's does, so save, restore and managed save work end to end.
    Result<void> saveState(objects::DomainObj& dom, int fd) override;
    Result<void> startFromState(objects::DomainObj& dom, conf::DomainDef& liveDef, int fd) override;
    std::string osType(const conf::DomainDef& def) override;
    /// Made-up figures that grow with the time of day, as libvirt's test driver's
    /// (test_domain_stats.cpp).
    Result<std::vector<VcpuStats>> vcpuStats(objects::DomainObj& dom) override;
    Result<std::vector<BlockStats>> blockStats(objects::DomainObj& dom) override;
    Result<std::vector<InterfaceStats>> interfaceStats(objects::DomainObj& dom) override;
    Result<std::vector<MemoryStat>> memoryStats(objects::DomainObj& dom) override;
    /// libvirt's test driver's figures for every disk: a test guest's images are never read, so
    /// a client cannot learn of the host's files by naming them as a disk.
    std::optional<BlockInfo> blockInfoWithoutImage(const conf::XmlNode&) const override {
        return BlockInfo{1099506450432ull, 1099511627776ull, 1099511627776ull};
    }
    /// Devices plug in and out of a test guest at once (no guest to ask), so attach-device,
    /// detach-device and their events can be tested without QEMU.
    void attach(GuestEventSink& sink) override { sink_ = &sink; }
    Result<void> attachDevice(objects::DomainObj& dom, conf::XmlNode& device,
                              const conf::DomainDef& liveDef) override;
    Result<void> detachDevice(objects::DomainObj& dom, const conf::XmlNode& device, const std::string& alias,
                              std::chrono::milliseconds wait) override;
    /// As libvirt's test driver: keys the manager could translate reach no guest, and succeed.
    Result<void> sendKey(objects::DomainObj&, const std::vector<unsigned>&, unsigned) override { return {}; }

    std::vector<std::uint8_t> onlineHostCpus() const override;
    std::optional<FixedScheduler> fixedScheduler() const override { return FixedScheduler{"fair", "weight", 50}; }
    /// libvirt's test driver's security model, and the label every running guest of it has.
    std::vector<std::pair<std::string, std::string>> securityModels() const override { return {{"testSecurity", ""}}; }
    std::optional<std::vector<std::pair<std::string, std::string>>> fixedSecurityLabels() const override {
        return std::vector<std::pair<std::string, std::string>>{{"testSecurity", "libvirt-test"}};
    }

private:
    GuestEventSink* sink_ = nullptr;
};

}  // namespace corral::drivers
