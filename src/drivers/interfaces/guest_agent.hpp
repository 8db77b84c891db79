// SPDX-License-Identifier: LGPL-2.1-or-later
// The calls answered by an agent inside the guest (virsh domtime, domhostname, domifaddr,
// domfsinfo, domfsfreeze/domfsthaw, set-user-password, guestinfo, qemu-agent-command), and
// domifaddr's two sources that need no agent (the network's DHCP leases, the host's ARP table).
// Everything an agent reports is written by the guest: it is data to show, never to act on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "drivers/interfaces/hypervisor.hpp"
#include "objects/domain_obj.hpp"
#include "util/result.hpp"

namespace corral::drivers {

/// virDomainGetTime's answer: the guest's clock.
struct GuestTime {
    std::int64_t seconds = 0;
    unsigned nseconds = 0;
};

/// virDomainIPAddress: type 0 IPv4, 1 IPv6 (virIPAddrType).
struct GuestIpAddress {
    int type = 0;
    std::string addr;
    unsigned prefix = 0;
};

/// virDomainInterface.
struct GuestInterface {
    std::string name;
    std::optional<std::string> hwaddr;
    std::vector<GuestIpAddress> addrs;
};

/// virDomainFSInfo.
struct GuestFsInfo {
    std::string mountpoint, name, fstype;
    std::vector<std::string> devAliases;  ///< the domain's disks under it (target names: "vda")
};

/// virDomainInterfaceAddressesSource.
enum class AddressSource : unsigned { Lease = 0, Agent = 1, Arp = 2 };

/// The agent-backed calls of a running guest's driver. Every method is called from a worker
/// thread without the domain's lock; each waits for the guest at most the domain's agent
/// timeout. Errors: AgentUnresponsive "QEMU guest agent is not connected" when no agent has
/// opened its channel, AgentUnresponsive "Guest agent not available for now" when it does not
/// answer in time, InternalError with the agent's text when it refuses the command.
class GuestAgentBackend {
public:
    virtual ~GuestAgentBackend() = default;
    virtual Result<GuestTime> agentGetTime(objects::DomainObj& dom) = 0;
    /// `time` nullopt: the guest reads its clock again from its RTC (virsh domtime --sync).
    virtual Result<void> agentSetTime(objects::DomainObj& dom, std::optional<GuestTime> time) = 0;
    virtual Result<std::string> agentHostname(objects::DomainObj& dom) = 0;
    virtual Result<std::vector<GuestInterface>> agentInterfaces(objects::DomainObj& dom) = 0;
    /// The guest's mounted file systems, their disks named by the live definition's targets.
    virtual Result<std::vector<GuestFsInfo>> agentFsInfo(objects::DomainObj& dom) = 0;
    /// Freezes (thaws) `mountpoints`, all when empty; returns how many file systems changed.
    virtual Result<int> agentFsFreeze(objects::DomainObj& dom, const std::vector<std::string>& mountpoints) = 0;
    virtual Result<int> agentFsThaw(objects::DomainObj& dom) = 0;
    /// `crypted`: `password` is already a crypt(3) hash.
    virtual Result<void> agentSetUserPassword(objects::DomainObj& dom, const std::string& user,
                                              const std::string& password, bool crypted) = 0;
    /// virDomainGetGuestInfo's typed parameters for the VIR_DOMAIN_GUEST_INFO_* `types` (0:
    /// every type the agent offers).
    virtual Result<std::vector<TypedValue>> agentGuestInfo(objects::DomainObj& dom, unsigned types) = 0;
    /// `command` is passed to the agent as it is (a JSON object); returns its reply as JSON.
    /// `timeoutSeconds` has virDomainQemuAgentCommand's meaning (-2 block, -1 default, 0 no wait).
    virtual Result<std::string> agentRawCommand(objects::DomainObj& dom, const std::string& command,
                                                int timeoutSeconds) = 0;
    /// virDomainAgentSetResponseTimeout: the wait of this guest's later calls, until it stops.
    virtual Result<void> setAgentTimeout(objects::DomainObj& dom, int timeoutSeconds) = 0;
};

/// Facet: the same calls by domain reference, with libvirt's flag checks.
class DomainGuestAgent {
public:
    virtual ~DomainGuestAgent() = default;
    virtual Result<GuestTime> getTime(const DomainRef& dom, unsigned flags) = 0;
    /// VIR_DOMAIN_TIME_SYNC (1) in `flags`: `time` is ignored, the guest rereads its RTC.
    virtual Result<void> setTime(const DomainRef& dom, GuestTime time, unsigned flags) = 0;
    /// VIR_DOMAIN_GET_HOSTNAME_LEASE (1) / _AGENT (2); none: the agent.
    virtual Result<std::string> getHostname(const DomainRef& dom, unsigned flags) = 0;
    virtual Result<std::vector<GuestInterface>> interfaceAddresses(const DomainRef& dom, unsigned source,
                                                                   unsigned flags) = 0;
    virtual Result<std::vector<GuestFsInfo>> getFsInfo(const DomainRef& dom, unsigned flags) = 0;
    virtual Result<int> fsFreeze(const DomainRef& dom, const std::vector<std::string>& mountpoints,
                                 unsigned flags) = 0;
    virtual Result<int> fsThaw(const DomainRef& dom, const std::vector<std::string>& mountpoints, unsigned flags) = 0;
    /// VIR_DOMAIN_PASSWORD_ENCRYPTED (1): `password` is a crypt(3) hash.
    virtual Result<void> setUserPassword(const DomainRef& dom, const std::string& user, const std::string& password,
                                         unsigned flags) = 0;
    virtual Result<std::vector<TypedValue>> getGuestInfo(const DomainRef& dom, unsigned types, unsigned flags) = 0;
    virtual Result<std::string> agentCommand(const DomainRef& dom, const std::string& command, int timeout,
                                             unsigned flags) = 0;
    virtual Result<void> setAgentResponseTimeout(const DomainRef& dom, int timeout, unsigned flags) = 0;
};

}  // namespace corral::drivers
