// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainGuestAgent: libvirt's flag checks for the guest agent's calls, then the backend's agent;
// and domifaddr's sources that need no agent: the DHCP leases of the networks the guest's
// interfaces are on, and the host's ARP table. Addresses from those two are the host's own
// records, matched by the MACs of the live definition.
#include <algorithm>
#include <cctype>
#include <cstdio>

#include "conf/domain_def.hpp"
#include "drivers/common/domain_manager.hpp"
#include "drivers/common/domain_manager_errors.hpp"
#include "host/arp_table.hpp"

namespace corral::drivers {

using objects::DomainObjPtr;

namespace {

/// The running guest's <interface> elements with a MAC: (MAC lower case, host device, network).
struct GuestNic {
    std::string mac, hostDev, network;
};

std::vector<GuestNic> guestNics(const objects::DomainObj& dom) {
    std::vector<GuestNic> out;
    std::lock_guard lock(dom.mutex());
    if (!dom.def) {
        return out;
    }
    for (const auto& dev : dom.def->devices) {
        if (dev.name != "interface") {
            continue;
        }
        std::string mac = dev.childAttr("mac", "address");
        std::transform(mac.begin(), mac.end(), mac.begin(), [](unsigned char c) { return std::tolower(c); });
        if (mac.empty()) {
            continue;
        }
        const std::string network = dev.attrOr("type") == "network" ? dev.childAttr("source", "network") : "";
        out.push_back(GuestNic{mac, dev.childAttr("target", "dev"), network});
    }
    return out;
}

}  // namespace

Result<std::pair<DomainObjPtr, GuestAgentBackend*>> DomainManager::agentOf(const DomainRef& ref) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, findRunning(ref));
    GuestAgentBackend* agent = backend_->guestAgent();
    if (agent == nullptr) {
        return fail(ErrorCode::ArgumentUnsupported,
                    "domain '" + dom->name() + "' has no guest agent in the " + options_.driverName + " driver",
                    ErrorDomain::Domain);
    }
    return std::make_pair(std::move(dom), agent);
}

Result<GuestTime> DomainManager::getTime(const DomainRef& ref, unsigned flags) {
    if (flags != 0) {
        return unsupportedFlags(flags, "qemuDomainGetTime");
    }
    CORRAL_ASSIGN_OR_RETURN(auto found, agentOf(ref));
    return found.second->agentGetTime(*found.first);
}

Result<void> DomainManager::setTime(const DomainRef& ref, GuestTime time, unsigned flags) {
    constexpr unsigned kSync = 1;  // VIR_DOMAIN_TIME_SYNC
    if ((flags & ~kSync) != 0) {
        return unsupportedFlags(flags, "qemuDomainSetTime");
    }
    CORRAL_ASSIGN_OR_RETURN(auto found, agentOf(ref));
    return found.second->agentSetTime(*found.first, (flags & kSync) != 0 ? std::nullopt : std::optional(time));
}

Result<std::string> DomainManager::getHostname(const DomainRef& ref, unsigned flags) {
    constexpr unsigned kLease = 1, kAgent = 2;  // VIR_DOMAIN_GET_HOSTNAME_LEASE / _AGENT
    if ((flags & ~(kLease | kAgent)) != 0) {
        return unsupportedFlags(flags, "qemuDomainGetHostname");
    }
    if ((flags & kLease) != 0 && (flags & kAgent) != 0) {
        return fail(ErrorCode::InvalidArg,
                    "Flags 'VIR_DOMAIN_GET_HOSTNAME_LEASE' and 'VIR_DOMAIN_GET_HOSTNAME_AGENT' are mutually exclusive",
                    ErrorDomain::Domain);
    }
    if ((flags & kLease) == 0) {
        CORRAL_ASSIGN_OR_RETURN(auto found, agentOf(ref));
        return found.second->agentHostname(*found.first);
    }
    // The name the guest gave the network's DHCP server, for the first interface that has one.
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, findRunning(ref));
    if (leases_) {
        for (const auto& nic : guestNics(*dom)) {
            if (nic.network.empty()) {
                continue;
            }
            auto leases = leases_(nic.network, nic.mac);
            if (!leases) {
                continue;  // a network that is gone or stopped has no lease to offer
            }
            for (const auto& lease : *leases) {
                if (!lease.hostname.empty()) {
                    return lease.hostname;
                }
            }
        }
    }
    return fail(ErrorCode::NoHostname, "no hostname found for domain " + dom->name(), ErrorDomain::Domain);
}

Result<std::vector<GuestInterface>> DomainManager::leaseAddresses(const objects::DomainObj& dom) {
    std::vector<GuestInterface> out;
    if (!leases_) {
        return out;
    }
    for (const auto& nic : guestNics(dom)) {
        if (nic.network.empty()) {
            continue;
        }
        auto leases = leases_(nic.network, nic.mac);
        if (!leases || leases->empty()) {
            continue;
        }
        GuestInterface iface{nic.hostDev, nic.mac, {}};
        for (const auto& lease : *leases) {
            iface.addrs.push_back(GuestIpAddress{lease.ipAddress.find(':') == std::string::npos ? 0 : 1,
                                                 lease.ipAddress, lease.prefix});
        }
        out.push_back(std::move(iface));
    }
    return out;
}

Result<std::vector<GuestInterface>> DomainManager::arpAddresses(const objects::DomainObj& dom) {
    CORRAL_ASSIGN_OR_RETURN(auto table, host::readArpTable());
    std::vector<GuestInterface> out;
    // One entry per neighbour the host has resolved to one of the guest's MACs, as libvirt
    // reports them: IPv4, no prefix.
    for (const auto& nic : guestNics(dom)) {
        for (const auto& entry : table) {
            if (entry.mac == nic.mac) {
                out.push_back(GuestInterface{nic.hostDev, nic.mac, {GuestIpAddress{0, entry.ip, 0}}});
            }
        }
    }
    return out;
}

Result<std::vector<GuestInterface>> DomainManager::interfaceAddresses(const DomainRef& ref, unsigned source,
                                                                      unsigned flags) {
    if (flags != 0) {
        return unsupportedFlags(flags, "qemuDomainInterfaceAddresses");
    }
    switch (static_cast<AddressSource>(source)) {
        case AddressSource::Agent: {
            CORRAL_ASSIGN_OR_RETURN(auto found, agentOf(ref));
            return found.second->agentInterfaces(*found.first);
        }
        case AddressSource::Lease: {
            CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, findRunning(ref));
            return leaseAddresses(*dom);
        }
        case AddressSource::Arp: {
            CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, findRunning(ref));
            return arpAddresses(*dom);
        }
    }
    return fail(ErrorCode::InvalidArg, "Unknown IP address data source " + std::to_string(source), ErrorDomain::Domain);
}

Result<std::vector<GuestFsInfo>> DomainManager::getFsInfo(const DomainRef& ref, unsigned flags) {
    if (flags != 0) {
        return unsupportedFlags(flags, "qemuDomainGetFSInfo");
    }
    CORRAL_ASSIGN_OR_RETURN(auto found, agentOf(ref));
    return found.second->agentFsInfo(*found.first);
}

Result<int> DomainManager::fsFreeze(const DomainRef& ref, const std::vector<std::string>& mountpoints,
                                    unsigned flags) {
    if (flags != 0) {
        return unsupportedFlags(flags, "qemuDomainFSFreeze");
    }
    CORRAL_ASSIGN_OR_RETURN(auto found, agentOf(ref));
    return found.second->agentFsFreeze(*found.first, mountpoints);
}

Result<int> DomainManager::fsThaw(const DomainRef& ref, const std::vector<std::string>& mountpoints,
                                  unsigned flags) {
    if (flags != 0) {
        return unsupportedFlags(flags, "qemuDomainFSThaw");
    }
    // The agent thaws every frozen file system at once; libvirt's QEMU driver accepts a list
    // and does the same.
    (void)mountpoints;
    CORRAL_ASSIGN_OR_RETURN(auto found, agentOf(ref));
    return found.second->agentFsThaw(*found.first);
}

Result<void> DomainManager::setUserPassword(const DomainRef& ref, const std::string& user,
                                            const std::string& password, unsigned flags) {
    constexpr unsigned kEncrypted = 1;  // VIR_DOMAIN_PASSWORD_ENCRYPTED
    if ((flags & ~kEncrypted) != 0) {
        return unsupportedFlags(flags, "qemuDomainSetUserPassword");
    }
    CORRAL_ASSIGN_OR_RETURN(auto found, agentOf(ref));
    return found.second->agentSetUserPassword(*found.first, user, password, (flags & kEncrypted) != 0);
}

Result<std::vector<TypedValue>> DomainManager::getGuestInfo(const DomainRef& ref, unsigned types, unsigned flags) {
    if (flags != 0) {
        return unsupportedFlags(flags, "qemuDomainGetGuestInfo");
    }
    constexpr unsigned kKnownTypes = 0x7f;  // VIR_DOMAIN_GUEST_INFO_USERS .. _INTERFACES
    if ((types & ~kKnownTypes) != 0) {
        return fail(ErrorCode::InvalidArg, "unsupported guest information types (0x" + [&] {
            char hex[16];
            std::snprintf(hex, sizeof hex, "%x", types & ~kKnownTypes);
            return std::string(hex);
        }() + ")", ErrorDomain::Domain);
    }
    CORRAL_ASSIGN_OR_RETURN(auto found, agentOf(ref));
    return found.second->agentGuestInfo(*found.first, types);
}

Result<std::string> DomainManager::agentCommand(const DomainRef& ref, const std::string& command, int timeout,
                                                unsigned flags) {
    if (flags != 0) {
        return unsupportedFlags(flags, "qemuDomainQemuAgentCommand");
    }
    if (timeout < -2) {
        return fail(ErrorCode::InvalidArg,
                    "guest agent timeout '" + std::to_string(timeout) + "' is less than the minimum '-2'",
                    ErrorDomain::Domain);
    }
    CORRAL_ASSIGN_OR_RETURN(auto found, agentOf(ref));
    return found.second->agentRawCommand(*found.first, command, timeout);
}

Result<void> DomainManager::setAgentResponseTimeout(const DomainRef& ref, int timeout, unsigned flags) {
    if (flags != 0) {
        return unsupportedFlags(flags, "qemuDomainAgentSetResponseTimeout");
    }
    if (timeout < -2) {
        return fail(ErrorCode::InvalidArg,
                    "guest agent timeout '" + std::to_string(timeout) + "' is less than the minimum '-2'",
                    ErrorDomain::Domain);
    }
    CORRAL_ASSIGN_OR_RETURN(auto found, agentOf(ref));
    return found.second->setAgentTimeout(*found.first, timeout);
}

}  // namespace corral::drivers
