// SPDX-License-Identifier: LGPL-2.1-or-later
// The statistics of test guests. libvirt's test driver makes them up from the time of day (so
// that they grow) and from the definition; these are its rules, so that tools tested against
// test:///default see the same figures whichever daemon answers.
#include <sys/time.h>

#include "conf/domain_def.hpp"
#include "drivers/test/test_backend.hpp"
#include "drivers/test/test_host.hpp"

namespace corral::drivers {

namespace {

struct Clock {
    std::uint64_t microseconds = 0;  ///< since the epoch: the base of every counter
    std::int64_t seconds = 0;
};

Clock now() {
    timeval tv{};
    ::gettimeofday(&tv, nullptr);
    return {static_cast<std::uint64_t>(tv.tv_sec) * 1000000u + static_cast<std::uint64_t>(tv.tv_usec),
            static_cast<std::int64_t>(tv.tv_sec)};
}

}  // namespace

std::vector<std::uint8_t> TestBackend::onlineHostCpus() const {
    return std::vector<std::uint8_t>((kTestHostCpus + 7) / 8, 0xff);
}

Result<std::vector<VcpuStats>> TestBackend::vcpuStats(objects::DomainObj& dom) {
    std::lock_guard lock(dom.mutex());
    const conf::DomainDef& def = *dom.def;
    const unsigned online = def.vcpuCurrent != 0 ? def.vcpuCurrent : def.vcpus;
    const Clock clock = now();
    std::vector<VcpuStats> out;
    for (unsigned i = 0; i < online; ++i) {
        VcpuStats v;
        v.number = i;
        v.cpuTimeNs = clock.microseconds / 10;  // grows with the time of day, as libvirt's
        v.affinity = onlineHostCpus();
        v.cpu = static_cast<int>(kTestHostCpus) - 1;  // the last CPU it may run on
        out.push_back(std::move(v));
    }
    return out;
}

Result<std::vector<BlockStats>> TestBackend::blockStats(objects::DomainObj& dom) {
    std::lock_guard lock(dom.mutex());
    const Clock clock = now();
    std::vector<BlockStats> out;
    for (const auto& dev : dom.def->devices) {
        if (dev.name != "disk") {
            continue;
        }
        BlockStats s;
        s.target = dev.childAttr("target", "dev");
        s.rdReqs = static_cast<std::int64_t>(clock.microseconds / 10);
        s.rdBytes = static_cast<std::int64_t>(clock.microseconds / 20);
        s.wrReqs = static_cast<std::int64_t>(clock.microseconds / 30);
        s.wrBytes = static_cast<std::int64_t>(clock.microseconds / 40);
        s.errors = clock.seconds / 2;
        out.push_back(std::move(s));
    }
    return out;
}

Result<std::vector<InterfaceStats>> TestBackend::interfaceStats(objects::DomainObj& dom) {
    std::lock_guard lock(dom.mutex());
    const Clock clock = now();
    const auto base = static_cast<std::int64_t>(clock.microseconds);
    std::vector<InterfaceStats> out;
    for (const auto& dev : dom.def->devices) {
        if (dev.name != "interface" || dev.childAttr("target", "dev").empty()) {
            continue;  // libvirt's test driver finds interfaces by their host device name only
        }
        InterfaceStats s;
        s.target = dev.childAttr("target", "dev");
        s.rxBytes = base / 10;
        s.rxPackets = base / 100;
        s.rxErrs = clock.seconds;
        s.rxDrop = clock.seconds / 2;
        s.txBytes = base / 20;
        s.txPackets = base / 110;
        s.txErrs = clock.seconds / 3;
        s.txDrop = clock.seconds / 4;
        out.push_back(std::move(s));
    }
    return out;
}

Result<std::vector<MemoryStat>> TestBackend::memoryStats(objects::DomainObj& dom) {
    std::lock_guard lock(dom.mutex());
    const std::uint64_t current = dom.def->currentMemoryKiB;
    // virDomainMemoryStatTags in the order libvirt's test driver gives them (the balloon first,
    // the RSS last); the figures are fractions of the memory the guest has now, the last
    // update the guest clock's start.
    return std::vector<MemoryStat>{{6, current},     {0, 0},           {1, 0},
                                   {2, 0},           {3, 0},           {4, current / 2},
                                   {5, current},     {8, current / 2}, {9, kTestGuestClockStart},
                                   {10, current / 8}, {11, 0},         {12, 0},
                                   {7, current / 2}};
}

}  // namespace corral::drivers
