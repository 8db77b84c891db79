// SPDX-License-Identifier: LGPL-2.1-or-later
// Tap and bridge ioctls.
#include "host/netdev.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "util/files.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

namespace corral::host {

namespace {

Result<UniqueFd> controlSocket() {
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        return failErrno(errno, "cannot open a socket for interface control");
    }
    return fd;
}

Result<void> fillName(ifreq& req, const std::string& ifname) {
    if (ifname.empty() || ifname.size() >= IFNAMSIZ) {
        return fail(ErrorCode::InvalidArg, "interface name '" + ifname + "' is empty or longer than " +
                                               std::to_string(IFNAMSIZ - 1) + " characters");
    }
    std::memcpy(req.ifr_name, ifname.c_str(), ifname.size() + 1);
    return {};
}

}  // namespace

Result<TapDevice> createTap(const std::string& nameTemplate) {
    UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (!fd) {
        return failErrno(errno, "cannot open /dev/net/tun to create a tap device");
    }
    ifreq req{};
    CORRAL_TRY(fillName(req, nameTemplate));
    req.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (::ioctl(fd.get(), TUNSETIFF, &req) != 0) {
        return failErrno(errno, "cannot create tap device '" + nameTemplate + "'");
    }
    TapDevice tap;
    tap.fd = std::move(fd);
    tap.name = req.ifr_name;
    return tap;
}

Result<void> setInterfaceMac(const std::string& ifname, const std::string& mac) {
    ifreq req{};
    CORRAL_TRY(fillName(req, ifname));
    unsigned b[6];
    if (std::sscanf(mac.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) {
        return fail(ErrorCode::InvalidMac, "malformed MAC address '" + mac + "'");
    }
    req.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    for (int i = 0; i < 6; ++i) {
        req.ifr_hwaddr.sa_data[i] = static_cast<char>(b[i]);
    }
    CORRAL_ASSIGN_OR_RETURN(UniqueFd sock, controlSocket());
    if (::ioctl(sock.get(), SIOCSIFHWADDR, &req) != 0) {
        return failErrno(errno, "cannot set MAC address of '" + ifname + "' to " + mac);
    }
    return {};
}

Result<void> setInterfaceUp(const std::string& ifname) {
    ifreq req{};
    CORRAL_TRY(fillName(req, ifname));
    CORRAL_ASSIGN_OR_RETURN(UniqueFd sock, controlSocket());
    if (::ioctl(sock.get(), SIOCGIFFLAGS, &req) != 0) {
        return failErrno(errno, "cannot read flags of interface '" + ifname + "'");
    }
    req.ifr_flags |= IFF_UP;
    if (::ioctl(sock.get(), SIOCSIFFLAGS, &req) != 0) {
        return failErrno(errno, "cannot bring interface '" + ifname + "' up");
    }
    return {};
}

Result<void> attachToBridge(const std::string& bridge, const std::string& ifname) {
    CORRAL_ASSIGN_OR_RETURN(UniqueFd sock, controlSocket());
    ifreq lookup{};
    CORRAL_TRY(fillName(lookup, ifname));
    if (::ioctl(sock.get(), SIOCGIFINDEX, &lookup) != 0) {
        return failErrno(errno, "interface '" + ifname + "' does not exist");
    }
    ifreq req{};
    CORRAL_TRY(fillName(req, bridge));
    req.ifr_ifindex = lookup.ifr_ifindex;
    if (::ioctl(sock.get(), SIOCBRADDIF, &req) != 0) {
        int err = errno;
        if (err == ENODEV) {
            return fail(ErrorCode::OperationFailed, "bridge '" + bridge + "' does not exist (create it, or name an existing bridge in <source bridge=...>)");
        }
        return failErrno(err, "cannot add interface '" + ifname + "' to bridge '" + bridge + "'");
    }
    return {};
}

bool interfaceExists(const std::string& ifname) {
    ifreq req{};
    if (!fillName(req, ifname)) {
        return false;
    }
    auto sock = controlSocket();
    return sock && ::ioctl(sock->get(), SIOCGIFINDEX, &req) == 0;
}

Result<void> createBridge(const std::string& name) {
    ifreq check{};
    CORRAL_TRY(fillName(check, name));
    CORRAL_ASSIGN_OR_RETURN(UniqueFd sock, controlSocket());
    if (::ioctl(sock.get(), SIOCBRADDBR, name.c_str()) != 0) {
        return failErrno(errno, "cannot create bridge '" + name + "'");
    }
    return {};
}

Result<void> setBridgeStp(const std::string& name, bool stp, unsigned delaySeconds) {
    const std::string dir = "/sys/class/net/" + name + "/bridge/";
    // The kernel counts the forward delay in USER_HZ ticks, hundredths of a second.
    CORRAL_TRY(writeKernelFile(dir + "forward_delay", std::to_string(delaySeconds * 100))
                   .withContext("setting the forward delay of bridge '" + name + "'"));
    return writeKernelFile(dir + "stp_state", stp ? "1" : "0")
        .withContext("turning STP " + std::string(stp ? "on" : "off") + " on bridge '" + name + "'");
}

Result<void> setInterfaceMtu(const std::string& ifname, unsigned mtu) {
    ifreq req{};
    CORRAL_TRY(fillName(req, ifname));
    CORRAL_ASSIGN_OR_RETURN(UniqueFd sock, controlSocket());
    req.ifr_mtu = static_cast<int>(mtu);
    if (::ioctl(sock.get(), SIOCSIFMTU, &req) != 0) {
        return failErrno(errno, "cannot set the MTU of '" + ifname + "' to " + std::to_string(mtu));
    }
    return {};
}

Result<void> deleteBridge(const std::string& name) {
    ifreq req{};
    CORRAL_TRY(fillName(req, name));
    CORRAL_ASSIGN_OR_RETURN(UniqueFd sock, controlSocket());
    if (::ioctl(sock.get(), SIOCGIFFLAGS, &req) != 0) {
        return errno == ENODEV ? Result<void>() : failErrno(errno, "cannot read flags of bridge '" + name + "'");
    }
    req.ifr_flags &= ~IFF_UP;
    ::ioctl(sock.get(), SIOCSIFFLAGS, &req);  // a bridge must be down to be deleted
    if (::ioctl(sock.get(), SIOCBRDELBR, name.c_str()) != 0 && errno != ENXIO && errno != ENODEV) {
        return failErrno(errno, "cannot delete bridge '" + name + "'");
    }
    return {};
}

Result<void> setInterfaceIpv4(const std::string& ifname, std::uint32_t address, unsigned prefix) {
    CORRAL_ASSIGN_OR_RETURN(UniqueFd sock, controlSocket());
    auto set = [&](unsigned long request, std::uint32_t value, const char* what) -> Result<void> {
        ifreq req{};
        CORRAL_TRY(fillName(req, ifname));
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(value);
        std::memcpy(&req.ifr_addr, &sin, sizeof sin);
        if (::ioctl(sock.get(), request, &req) != 0) {
            return failErrno(errno, std::string("cannot set the ") + what + " of interface '" + ifname + "'");
        }
        return {};
    };
    CORRAL_TRY(set(SIOCSIFADDR, address, "IPv4 address"));
    const std::uint32_t mask = prefix == 0 ? 0 : ~0u << (32 - prefix);
    CORRAL_TRY(set(SIOCSIFNETMASK, mask, "netmask"));
    return {};
}

namespace {
Result<void> ipLink(const std::vector<std::string>& args, const std::string& what) {
    std::vector<std::string> argv = {"ip", "link"};
    argv.insert(argv.end(), args.begin(), args.end());
    CORRAL_ASSIGN_OR_RETURN(CommandResult r, runCommand(argv));
    if (r.exitStatus != 0) {
        return fail(ErrorCode::OperationFailed, what + ": " + std::string(trimString(r.output)));
    }
    return {};
}
}  // namespace

Result<void> createVethPair(const std::string& hostName, const std::string& peerName) {
    return ipLink({"add", hostName, "type", "veth", "peer", "name", peerName},
                  "cannot create the veth pair '" + hostName + "'/'" + peerName + "'");
}

Result<void> moveToNetworkNamespace(const std::string& ifname, pid_t pid) {
    return ipLink({"set", "dev", ifname, "netns", std::to_string(pid)},
                  "cannot move '" + ifname + "' into the network namespace of process " + std::to_string(pid));
}

Result<void> renameInterface(const std::string& from, const std::string& to) {
    CORRAL_ASSIGN_OR_RETURN(UniqueFd sock, controlSocket());
    ifreq req{};
    std::snprintf(req.ifr_name, IFNAMSIZ, "%s", from.c_str());
    std::snprintf(req.ifr_newname, IFNAMSIZ, "%s", to.c_str());
    if (::ioctl(sock.get(), SIOCSIFNAME, &req) != 0) {
        return failErrno(errno, "cannot rename interface '" + from + "' to '" + to + "'");
    }
    return {};
}

Result<void> deleteInterface(const std::string& ifname) {
    if (!interfaceExists(ifname)) {
        return {};
    }
    return ipLink({"del", ifname}, "cannot delete interface '" + ifname + "'");
}

std::string freeInterfaceName(const std::string& prefix) {
    for (int n = 0;; ++n) {
        std::string name = prefix + std::to_string(n);
        if (!interfaceExists(name)) {
            return name;
        }
    }
}

}  // namespace corral::host
