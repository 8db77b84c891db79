// SPDX-License-Identifier: LGPL-2.1-or-later
// virNetworkUpdate on a definition: the change one call asks for (a static DHCP host added,
// modified or deleted), applied to a copy of a NetworkDef and checked as a whole definition would
// be, so that an update can never produce a network `net-define` would refuse. Pure: the network
// driver decides where the result goes (the persistent definition, the running network, both).
#pragma once

#include <string_view>

#include "conf/network_def.hpp"
#include "util/result.hpp"

namespace corral::conf {

/// virNetworkUpdateCommand.
enum class NetworkUpdateCommand : unsigned { Modify = 1, Delete = 2, AddLast = 3, AddFirst = 4 };

/// virNetworkUpdateSection values this driver acts on; the others are refused by name.
inline constexpr unsigned kNetworkSectionIpDhcpHost = 4;

/// libvirt's name of a section ("ip-dhcp-host", "dns-txt" ...), for messages.
std::string_view networkUpdateSectionName(unsigned section);

/// The definition after `command` with the `<host>` element `xml` in section `section` of the
/// `parentIndex`th <ip> (-1: the first with DHCP). Errors: OperationUnsupported for sections
/// and commands not served, XmlError for a bad element (attributes other than mac/name/ip are
/// refused by name), OperationInvalid for an entry that is already there (add) or missing
/// (modify, delete).
Result<NetworkDef> applyNetworkUpdate(const NetworkDef& def, unsigned command, unsigned section, int parentIndex,
                                      std::string_view xml);

}  // namespace corral::conf
