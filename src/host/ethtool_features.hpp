// SPDX-License-Identifier: LGPL-2.1-or-later
// The offloads a network interface has turned on, asked of the kernel with the ethtool ioctls,
// named as libvirt's node-device XML names them (rx, tx, sg, tso, gso, gro, lro, rxvlan,
// txvlan, ntuple, rxhash).
#pragma once

#include <string>
#include <vector>

namespace corral::host {

/// The enabled offloads of `ifname` in libvirt's order; empty when the interface does not
/// answer (no such interface, no ethtool support).
std::vector<std::string> interfaceOffloads(const std::string& ifname);

}  // namespace corral::host
