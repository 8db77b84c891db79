// SPDX-License-Identifier: LGPL-2.1-or-later
// test:///default's host: the capabilities, node facts, CPU and memory figures and sysinfo of
// libvirt's test driver, which scripts tested against it expect.
#pragma once

#include <cstdint>

#include "drivers/interfaces/hypervisor.hpp"

namespace corral::drivers {

/// libvirt's test driver's virConnectGetMaxVcpus.
inline constexpr unsigned kTestMaxVcpus = 32;

/// The host's CPUs (nodes x sockets x cores x threads of its node info).
inline constexpr unsigned kTestHostCpus = 16;
/// Where a test guest's clock starts (libvirt's test driver's domain time, in seconds).
inline constexpr std::uint64_t kTestGuestClockStart = 627319920;

HostInfo& testHostInfo();

}  // namespace corral::drivers
