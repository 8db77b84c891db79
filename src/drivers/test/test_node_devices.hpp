// SPDX-License-Identifier: LGPL-2.1-or-later
// test:///default's host devices and interfaces: the computer, three Fibre Channel SCSI hosts
// and the interface eth1, with the values libvirt's test driver gives them.
#pragma once

#include <memory>

#include "drivers/nodedev/node_device_driver.hpp"

namespace corral::drivers {

std::unique_ptr<nodedev::NodeDeviceDriver> createTestNodeDeviceDriver();

}  // namespace corral::drivers
