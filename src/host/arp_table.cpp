// SPDX-License-Identifier: LGPL-2.1-or-later
// /proc/net/arp: a header line, then "IP HWTYPE FLAGS HWADDR MASK DEVICE" per entry.
#include "host/arp_table.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "util/files.hpp"
#include "util/strings.hpp"

namespace corral::host {

std::vector<ArpEntry> parseArpTable(std::string_view text) {
    std::vector<ArpEntry> out;
    std::istringstream in{std::string(text)};
    std::string line;
    std::getline(in, line);  // the column names
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string ip, hwType, flags, mac, mask, device;
        if (!(fields >> ip >> hwType >> flags >> mac >> mask >> device)) {
            continue;
        }
        const auto bits = parseUnsigned(flags);
        if (!bits || (*bits & 0x2) == 0) {  // ATF_COM: the address was resolved
            continue;
        }
        std::transform(mac.begin(), mac.end(), mac.begin(), [](unsigned char c) { return std::tolower(c); });
        out.push_back(ArpEntry{ip, mac, device});
    }
    return out;
}

Result<std::vector<ArpEntry>> readArpTable() {
    CORRAL_ASSIGN_OR_RETURN(std::string text, readTextFile("/proc/net/arp"));
    return parseArpTable(text);
}

}  // namespace corral::host
