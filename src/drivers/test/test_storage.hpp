// SPDX-License-Identifier: LGPL-2.1-or-later
// The test driver's storage: pools and volumes in memory, seeded as libvirt's test:///default
// is (an active 'dir' pool "default-pool" of 100 GiB at /default-pool, with no volumes). Nothing
// touches the host: building, starting and deleting a pool only change its state.
#pragma once

#include <memory>

#include "drivers/interfaces/storage.hpp"

namespace corral::drivers {

std::unique_ptr<StorageFacet> createTestStorage();

}  // namespace corral::drivers
