// SPDX-License-Identifier: LGPL-2.1-or-later
// The DHCP leases of a network.
#include "drivers/network/network_leases.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "util/strings.hpp"

namespace corral::drivers::network {

namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool isIpv4(const std::string& text) {
    in_addr a{};
    return ::inet_pton(AF_INET, text.c_str(), &a) == 1;
}

}  // namespace

std::vector<NetworkDhcpLease> parseDnsmasqLeases(std::string_view text, std::string_view mac, std::int64_t now,
                                                 const std::string& iface, unsigned prefix) {
    std::vector<NetworkDhcpLease> out;
    const std::string wanted = lower(mac);
    for (const std::string& line : splitString(text, '\n')) {
        std::vector<std::string> f;
        for (std::string& field : splitString(line, ' ')) {
            if (!field.empty()) {
                f.push_back(std::move(field));
            }
        }
        if (f.size() < 4 || f[0] == "duid") {
            continue;
        }
        NetworkDhcpLease lease;
        auto [end, ec] = std::from_chars(f[0].data(), f[0].data() + f[0].size(), lease.expiryTime);
        lease.mac = lower(f[1]);
        lease.ipAddress = f[2];
        if (ec != std::errc() || end != f[0].data() + f[0].size() || !isIpv4(lease.ipAddress) ||
            (lease.expiryTime != 0 && lease.expiryTime < now) || (!wanted.empty() && wanted != lease.mac)) {
            continue;
        }
        lease.iface = iface;
        lease.prefix = prefix;
        lease.hostname = f[3] == "*" ? "" : f[3];
        lease.clientId = f.size() < 5 || f[4] == "*" ? "" : f[4];
        out.push_back(std::move(lease));
    }
    return out;
}

}  // namespace corral::drivers::network
