// SPDX-License-Identifier: LGPL-2.1-or-later
// Network devices for guests: tap devices handed to QEMU, attached to a host bridge.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::host {

struct TapDevice {
    UniqueFd fd;       ///< the queue descriptor QEMU reads and writes
    std::string name;  ///< the interface name the kernel gave it ("vnet0")
};

/// Creates a tap device named `nameTemplate` ("vnet%d" lets the kernel pick a free number),
/// with vnet headers (virtio-net offloads). The device lives as long as a descriptor is open.
Result<TapDevice> createTap(const std::string& nameTemplate);

/// Sets the hardware address of `ifname` ("fe:54:00:12:34:56").
Result<void> setInterfaceMac(const std::string& ifname, const std::string& mac);

/// Brings `ifname` up.
Result<void> setInterfaceUp(const std::string& ifname);

/// Enslaves `ifname` to the Linux bridge `bridge`. Errors name both and say when the bridge does
/// not exist.
Result<void> attachToBridge(const std::string& bridge, const std::string& ifname);

/// True when an interface named `ifname` exists.
bool interfaceExists(const std::string& ifname);

/// Creates the Linux bridge `name` (down, no address). Errors name it; an existing one is EEXIST.
Result<void> createBridge(const std::string& name);

/// Turns the bridge's spanning tree protocol on or off and sets its forward delay (seconds), as
/// a network's <bridge stp delay> asks. Errors name the bridge and the setting.
Result<void> setBridgeStp(const std::string& name, bool stp, unsigned delaySeconds);

/// Sets the interface's MTU. Errors name the interface and the size.
Result<void> setInterfaceMtu(const std::string& ifname, unsigned mtu);

/// Takes `name` down and deletes the bridge; a missing bridge is not an error.
Result<void> deleteBridge(const std::string& name);

/// Gives `ifname` the IPv4 address `address`/`prefix` (host byte order).
Result<void> setInterfaceIpv4(const std::string& ifname, std::uint32_t address, unsigned prefix);

/// Creates a veth pair: `hostName` stays here, `peerName` is the end that will move into a
/// container. Errors name both (an existing name: EEXIST).
Result<void> createVethPair(const std::string& hostName, const std::string& peerName);

/// Moves `ifname` into the network namespace of process `pid`.
Result<void> moveToNetworkNamespace(const std::string& ifname, pid_t pid);

/// Renames `from` (down) to `to`.
Result<void> renameInterface(const std::string& from, const std::string& to);

/// Deletes `ifname` (one end of a veth pair takes the other with it); missing is not an error.
Result<void> deleteInterface(const std::string& ifname);

/// The first "PREFIX<n>" no interface of this namespace is named.
std::string freeInterfaceName(const std::string& prefix);

}  // namespace corral::host
