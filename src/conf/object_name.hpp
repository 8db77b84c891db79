// SPDX-License-Identifier: LGPL-2.1-or-later
// What a name given by a client may contain where it reaches the host: a new definition's name,
// a network interface name in nft rules and dnsmasq's configuration, a host name in dnsmasq's
// hosts file, a graphics listen address on QEMU's command line. Pure checks, no I/O.
#pragma once

#include <string>
#include <string_view>

#include "util/error.hpp"
#include "util/result.hpp"

namespace corral::conf {

/// The rules for the name of a definition being defined or created (not for one loaded from
/// the store: an older daemon's definition stays listable and can be undefined). libvirt's: no
/// newline (VIR_ERR_XML_DETAIL "invalid char in name: \n", as its drivers check at define).
/// Corral's own: no other control character (a name reaches logs, terminals and files), and an
/// escaped form (escapePathComponent) of at most kMaxEscapedNameLength bytes, so that every file
/// named after it can be made. '/' is refused by the parsers, in libvirt's words.
Result<void> validateNewName(std::string_view name, ErrorDomain domain);

/// A host network interface name (a bridge, an uplink): what the kernel takes (1 to 15 bytes, not
/// "." or "..") and, beyond the kernel, only letters, digits and "-_.+%", so that it can stand
/// in an nft rule and a dnsmasq line without quoting. `what` names the element and attribute
/// ("<bridge name>") for the XmlError.
Result<void> validateInterfaceName(std::string_view name, std::string_view what, ErrorDomain domain);

/// A DNS host name (letters, digits, '-', '.', starting with a letter or digit, at most 253
/// bytes): libvirt's schema for host names, and what a dnsmasq hosts line can carry.
bool isDnsName(std::string_view name);

/// A graphics listen address: an IPv4 or IPv6 literal or a DNS host name, as libvirt's schema
/// (addrIPorName) has it.
bool isListenAddress(std::string_view address);

/// `text` with every control character (and DEL) written as "\n", "\t", "\r" or "\xNN": for
/// messages and comments that must stay on one line.
std::string printableText(std::string_view text);

}  // namespace corral::conf
