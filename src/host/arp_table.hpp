// SPDX-License-Identifier: LGPL-2.1-or-later
// The host's IPv4 neighbour (ARP) table, as /proc/net/arp lists it: what domifaddr --source arp
// reports for a guest's MAC addresses, without asking the guest.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace corral::host {

struct ArpEntry {
    std::string ip;   ///< "192.168.122.10"
    std::string mac;  ///< lower case, "52:54:00:12:34:56"
    std::string device;
};

/// The complete entries (flag ATF_COM) of /proc/net/arp's text; a line that does not parse is
/// skipped. Pure, for the unit tests.
std::vector<ArpEntry> parseArpTable(std::string_view text);

/// The host's table now. Errors name the file.
Result<std::vector<ArpEntry>> readArpTable();

}  // namespace corral::host
