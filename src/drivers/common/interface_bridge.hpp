// SPDX-License-Identifier: LGPL-2.1-or-later
// The bridge an <interface type='bridge'|'network'> plugs into, for the drivers that make host
// devices for guests (QEMU's taps, containers' veths).
#pragma once

#include <functional>
#include <string>

#include "conf/xml_node.hpp"
#include "util/result.hpp"

namespace corral::drivers {

/// How a virtual network's name becomes its bridge (the network driver's bridgeFor).
using NetworkBridgeResolver = std::function<Result<std::string>(const std::string& network)>;

/// The bridge of `iface`: its <source bridge> for type 'bridge'; for type 'network' the started
/// network's bridge, which is also written into the live XML's <source bridge> as libvirt does.
/// Errors name the interface by its MAC; `domain` is the calling driver's error domain.
Result<std::string> interfaceBridge(conf::XmlNode& iface, const NetworkBridgeResolver& resolver, ErrorDomain domain);

}  // namespace corral::drivers
