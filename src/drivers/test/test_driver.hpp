// SPDX-License-Identifier: LGPL-2.1-or-later
// The test driver: a complete in-memory hypervisor, like libvirt's test:///default, so that the
// RPC layer, the CLI and the clients can be tested with no real guest.
#pragma once

#include <memory>

#include "drivers/interfaces/hypervisor.hpp"

namespace corral::drivers {

/// Creates the driver behind test:///default, seeded as libvirt's is: one running persistent
/// domain named "test" with id 1.
Result<std::unique_ptr<HypervisorDriver>> createTestDriver();

}  // namespace corral::drivers
