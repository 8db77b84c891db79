// SPDX-License-Identifier: LGPL-2.1-or-later
// The host-device facets: libvirt's node-device API (nodedev-list, nodedev-dumpxml) and its
// interface API (iface-list, iface-dumpxml), read from the host. Only reads are served: what
// changes the host (detaching a PCI device for passthrough, defining an interface) is refused
// by the daemon with VIR_ERR_NO_SUPPORT.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "conf/interface_def.hpp"
#include "conf/node_device_def.hpp"
#include "util/result.hpp"

namespace corral::drivers {

/// libvirt's VIR_ERR_NO_NODE_DEVICE and VIR_ERR_NO_INTERFACE, and the error domains
/// VIR_FROM_NODEDEV and VIR_FROM_INTERFACE, by the names the facets use.
inline constexpr ErrorCode kNoNodeDevice = ErrorCode::NoNodeDevice;
inline constexpr ErrorCode kNoInterface = ErrorCode::NoInterface;
inline constexpr ErrorDomain kFromNodeDev = ErrorDomain::NodeDev;
inline constexpr ErrorDomain kFromInterface = ErrorDomain::Interface;

/// "unsupported flags (0x4) in function NAME", libvirt's words for flags a call does not know.
inline Unexpected unsupportedFlags(unsigned flags, std::string_view function, ErrorDomain domain) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%x", flags);
    return fail(ErrorCode::InvalidArg, "unsupported flags (" + std::string(hex) + ") in function " + std::string(function),
                domain);
}

class NodeDeviceFacet {
public:
    virtual ~NodeDeviceFacet() = default;
    /// The devices virConnectListAllNodeDevices' `flags` select (capability bits, ACTIVE,
    /// INACTIVE), sorted by name. Errors: InvalidArg naming flags it does not know.
    virtual Result<std::vector<conf::NodeDeviceDef>> listNodeDevices(unsigned flags) = 0;
    /// Errors: NoNodeDevice naming `name`.
    virtual Result<conf::NodeDeviceDef> lookupNodeDevice(const std::string& name) = 0;
};

/// virConnectListAllInterfaces flags.
namespace interface_list_flags {
inline constexpr unsigned kInactive = 1u << 0;
inline constexpr unsigned kActive = 1u << 1;
}  // namespace interface_list_flags

class InterfaceFacet {
public:
    virtual ~InterfaceFacet() = default;
    /// The interfaces `flags` select, sorted by name (no flag: all).
    virtual Result<std::vector<conf::InterfaceDef>> listInterfaces(unsigned flags) = 0;
    /// Errors: NoInterface naming `name`.
    virtual Result<conf::InterfaceDef> lookupInterfaceByName(const std::string& name) = 0;
    /// Errors: NoInterface naming `mac`; more than one interface with it: the first by name.
    virtual Result<conf::InterfaceDef> lookupInterfaceByMac(const std::string& mac) = 0;
};

}  // namespace corral::drivers
