// SPDX-License-Identifier: LGPL-2.1-or-later
#include "host/ethtool_features.hpp"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <optional>

#include "util/unique_fd.hpp"

namespace corral::host {

namespace {

/// The value of one ETHTOOL_G* command; nullopt when the kernel refuses it.
std::optional<std::uint32_t> ethtoolValue(int fd, const std::string& ifname, std::uint32_t cmd) {
    ethtool_value value{};
    value.cmd = cmd;
    ifreq req{};
    std::strncpy(req.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    req.ifr_data = reinterpret_cast<char*>(&value);
    if (::ioctl(fd, SIOCETHTOOL, &req) != 0) {
        return std::nullopt;
    }
    return value.data;
}

}  // namespace

std::vector<std::string> interfaceOffloads(const std::string& ifname) {
    std::vector<std::string> out;
    if (ifname.empty() || ifname.size() >= IFNAMSIZ) {
        return out;
    }
    UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        return out;
    }
    struct Plain {
        std::uint32_t cmd;
        const char* name;
    };
    constexpr Plain kPlain[] = {{ETHTOOL_GRXCSUM, "rx"}, {ETHTOOL_GTXCSUM, "tx"}, {ETHTOOL_GSG, "sg"},
                                {ETHTOOL_GTSO, "tso"},   {ETHTOOL_GGSO, "gso"},   {ETHTOOL_GGRO, "gro"}};
    for (const auto& p : kPlain) {
        auto v = ethtoolValue(fd.get(), ifname, p.cmd);
        if (v && *v != 0) {
            out.emplace_back(p.name);
        }
    }
    // The older flag word carries the rest libvirt names.
    if (auto flags = ethtoolValue(fd.get(), ifname, ETHTOOL_GFLAGS)) {
        struct Flag {
            std::uint32_t bit;
            const char* name;
        };
        constexpr Flag kFlags[] = {{ETH_FLAG_LRO, "lro"},
                                   {ETH_FLAG_RXVLAN, "rxvlan"},
                                   {ETH_FLAG_TXVLAN, "txvlan"},
                                   {ETH_FLAG_NTUPLE, "ntuple"},
                                   {ETH_FLAG_RXHASH, "rxhash"}};
        for (const auto& f : kFlags) {
            if ((*flags & f.bit) != 0) {
                out.emplace_back(f.name);
            }
        }
    }
    return out;
}

}  // namespace corral::host
