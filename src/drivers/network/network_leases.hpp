// SPDX-License-Identifier: LGPL-2.1-or-later
// The DHCP leases of a network, read from the file its dnsmasq keeps (dhcp-leasefile): one line
// per lease, "EXPIRY MAC IP HOSTNAME CLIENTID" ('*' for an absent name or id), IPv6 leases after
// a "duid" line. Pure, so the unit tests feed it what dnsmasq writes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/interfaces/network.hpp"

namespace corral::drivers::network {

/// The IPv4 leases in `text` that have not expired at `now` (seconds since the epoch; an expiry
/// of 0 never expires), with `mac` "" or equal to theirs (case-insensitively). `iface` and
/// `prefix` are the network's bridge and address prefix. Lines that do not parse are skipped:
/// the file is dnsmasq's, and a torn last line must not hide the others.
std::vector<NetworkDhcpLease> parseDnsmasqLeases(std::string_view text, std::string_view mac, std::int64_t now,
                                                 const std::string& iface, unsigned prefix);

}  // namespace corral::drivers::network
