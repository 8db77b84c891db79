// SPDX-License-Identifier: LGPL-2.1-or-later
// The resource-control part of a domain definition (<cputune>, <memtune>, <blkiotune>) as typed
// values: what the drivers apply to a guest's cgroups, and what schedinfo/memtune/blkiotune read
// and change. Reading and writing go through the kept elements, so everything else in those
// elements (unknown children, attribute order) survives a change.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "conf/domain_def.hpp"
#include "util/result.hpp"

namespace corral::conf {

/// A period/quota pair in microseconds (quota -1 = unlimited).
struct CpuBandwidth {
    std::optional<std::uint64_t> period;
    std::optional<std::int64_t> quota;
    [[nodiscard]] bool empty() const { return !period && !quota; }
};

struct CpuTune {
    std::optional<std::uint64_t> shares;
    CpuBandwidth vcpu;      ///< <period>/<quota>: each vCPU thread
    CpuBandwidth global;    ///< <global_period>/<global_quota>: the whole guest
    CpuBandwidth emulator;  ///< <emulator_period>/<emulator_quota>
    CpuBandwidth iothread;  ///< <iothread_period>/<iothread_quota>
    std::map<unsigned, std::string> vcpupin;      ///< vCPU -> cpuset
    std::string emulatorpin;                      ///< cpuset, "" = none
    std::map<unsigned, std::string> iothreadpin;  ///< IOThread id -> cpuset
};

struct MemTune {
    std::optional<std::uint64_t> hardLimitKiB;
    std::optional<std::uint64_t> softLimitKiB;
    std::optional<std::uint64_t> swapHardLimitKiB;
    std::optional<std::uint64_t> minGuaranteeKiB;
};

struct BlkioDeviceTune {
    std::string path;
    std::optional<unsigned> weight;
    std::uint64_t readIopsSec = 0, writeIopsSec = 0, readBytesSec = 0, writeBytesSec = 0;  ///< 0 = unlimited
};

struct BlkioTune {
    std::optional<unsigned> weight;
    std::vector<BlkioDeviceTune> devices;
};

struct DomainTuning {
    CpuTune cpu;
    MemTune memory;
    BlkioTune blkio;
};

/// Reads the three elements of a validated definition (absent elements give empty values).
DomainTuning readTuning(const DomainDef& def);

/// Writes `tuning` back into `def`: values set are written, values unset are removed; an element
/// left empty disappears. Elements and children the model does not know are kept.
void writeTuning(DomainDef& def, const DomainTuning& tuning);

/// libvirt's "no limit" for memory parameters (VIR_DOMAIN_MEMORY_PARAM_UNLIMITED, KiB).
inline constexpr std::uint64_t kMemoryParamUnlimited = 9007199254740991ULL;

}  // namespace corral::conf
