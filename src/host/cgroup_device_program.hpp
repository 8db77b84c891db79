// SPDX-License-Identifier: LGPL-2.1-or-later
// Device access control on cgroup v2. v2 has no devices.allow file: the kernel asks a
// BPF_PROG_TYPE_CGROUP_DEVICE program attached to the group instead. This file turns the rule
// strings v1 takes ("c 1:3 rwm", "c 136:* rwm", "b 8:0 r") into such a program, written
// instruction by instruction (no libbpf: the program is a handful of compares), loads it with
// bpf(2) and attaches it. Parsing and code generation are pure so tests can check them without
// privileges; only loadDeviceProgram and attachDeviceProgram talk to the kernel.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::host {

/// One allowed device class, as v1's devices.allow spells it.
struct DeviceRule {
    enum class Type { Any, Char, Block };
    Type type = Type::Any;
    std::optional<std::uint32_t> major;  ///< nullopt = "*"
    std::optional<std::uint32_t> minor;  ///< nullopt = "*"
    std::uint32_t access = 0;            ///< BPF_DEVCG_ACC_* bits

    bool operator==(const DeviceRule&) const = default;
};

/// "TYPE MAJOR:MINOR ACCESS" (TYPE c, b or a; MAJOR and MINOR a number or *; ACCESS some of
/// r, w, m), or "a" alone for every device. Errors quote the rule and say what is wrong.
Result<DeviceRule> parseDeviceRule(std::string_view text);
Result<std::vector<DeviceRule>> parseDeviceRules(const std::vector<std::string>& rules);

/// The program that allows an access when one rule covers its type, number and every access
/// bit it asks for, and denies everything else (an empty list denies all).
std::vector<bpf_insn> buildDeviceProgram(const std::vector<DeviceRule>& rules);

/// The name the kernel shows for Corral's programs (bpftool prog); attachDeviceProgram uses
/// it to find the program it attached before.
inline constexpr std::string_view kDeviceProgramName = "corral_devices";

/// Loads `program` as a cgroup device program. A refusal carries the verifier's log.
Result<UniqueFd> loadDeviceProgram(const std::vector<bpf_insn>& program);

/// Attaches `program` to the cgroup v2 directory `cgroupDir` and detaches the programs Corral
/// attached there before. The group keeps the program alive: the fd may be closed afterwards.
Result<void> attachDeviceProgram(const std::string& cgroupDir, int program);

/// All three steps: parse `rules`, load their program, attach it to `cgroupDir`.
Result<void> allowOnlyDevicesV2(const std::string& cgroupDir, const std::vector<std::string>& rules);

}  // namespace corral::host
