// SPDX-License-Identifier: LGPL-2.1-or-later
// The guest agent's procedures: domtime, domhostname, domifaddr, domfsinfo, domfsfreeze,
// domfsthaw, set-user-password, guestinfo, the agent's response timeout, and the QEMU program's
// qemu-agent-command. What the agent reports is the guest's word and may be anything: lists
// longer than the wire allows fail the call as libvirt's do rather than being cut silently.
#include "daemon/dispatcher.hpp"
#include "daemon/wire_convert.hpp"
#include "drivers/interfaces/guest_agent.hpp"
#include "rpc/generated/qemu_protocol.hpp"

namespace corral::daemon {

namespace proto = rpc::proto;
using proto::xdr_void;

namespace {

Result<drivers::DomainGuestAgent*> agentFacet(CallContext& ctx, std::string_view api) {
    return requireFacet(ctx.driver().guestAgent(), api);
}

Unexpected tooMany(const char* what, std::size_t n, std::size_t max) {
    return fail(ErrorCode::InternalError,
                std::string("Number of ") + what + ", " + std::to_string(n) + " exceeds the max limit: " +
                    std::to_string(max),
                ErrorDomain::Remote);
}

}  // namespace

void registerAgentHandlers(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_DOMAIN_GET_TIME>(
        [](CallContext& ctx, const proto::remote_domain_get_time_args& a) -> Result<proto::remote_domain_get_time_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, agentFacet(ctx, "virDomainGetTime"));
            CORRAL_ASSIGN_OR_RETURN(drivers::GuestTime t, f->getTime(fromWire(a.dom), a.flags));
            proto::remote_domain_get_time_ret ret{};
            ret.seconds = t.seconds;
            ret.nseconds = t.nseconds;
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_SET_TIME>(
        [](CallContext& ctx, const proto::remote_domain_set_time_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, agentFacet(ctx, "virDomainSetTime"));
            CORRAL_TRY(f->setTime(fromWire(a.dom), drivers::GuestTime{a.seconds, a.nseconds}, a.flags));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_DOMAIN_GET_HOSTNAME>(
        [](CallContext& ctx,
           const proto::remote_domain_get_hostname_args& a) -> Result<proto::remote_domain_get_hostname_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, agentFacet(ctx, "virDomainGetHostname"));
            CORRAL_ASSIGN_OR_RETURN(std::string name, f->getHostname(fromWire(a.dom), a.flags));
            proto::remote_domain_get_hostname_ret ret;
            ret.hostname = std::move(name);
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_INTERFACE_ADDRESSES>(
        [](CallContext& ctx, const proto::remote_domain_interface_addresses_args& a)
            -> Result<proto::remote_domain_interface_addresses_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, agentFacet(ctx, "virDomainInterfaceAddresses"));
            CORRAL_ASSIGN_OR_RETURN(auto ifaces, f->interfaceAddresses(fromWire(a.dom), a.source, a.flags));
            if (ifaces.size() > proto::REMOTE_DOMAIN_INTERFACE_MAX) {
                return tooMany("interfaces", ifaces.size(), proto::REMOTE_DOMAIN_INTERFACE_MAX);
            }
            proto::remote_domain_interface_addresses_ret ret;
            for (auto& i : ifaces) {
                if (i.addrs.size() > proto::REMOTE_DOMAIN_IP_ADDR_MAX) {
                    return tooMany("IP addresses", i.addrs.size(), proto::REMOTE_DOMAIN_IP_ADDR_MAX);
                }
                proto::remote_domain_interface w;
                w.name = std::move(i.name);
                w.hwaddr = std::move(i.hwaddr);
                for (auto& addr : i.addrs) {
                    proto::remote_domain_ip_addr wa;
                    wa.type = addr.type;
                    wa.addr = std::move(addr.addr);
                    wa.prefix = addr.prefix;
                    w.addrs.push_back(std::move(wa));
                }
                ret.ifaces.push_back(std::move(w));
            }
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_GET_FSINFO>(
        [](CallContext& ctx,
           const proto::remote_domain_get_fsinfo_args& a) -> Result<proto::remote_domain_get_fsinfo_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, agentFacet(ctx, "virDomainGetFSInfo"));
            CORRAL_ASSIGN_OR_RETURN(auto list, f->getFsInfo(fromWire(a.dom), a.flags));
            if (list.size() > proto::REMOTE_DOMAIN_FSINFO_MAX) {
                return tooMany("file systems", list.size(), proto::REMOTE_DOMAIN_FSINFO_MAX);
            }
            proto::remote_domain_get_fsinfo_ret ret;
            for (auto& fs : list) {
                proto::remote_domain_fsinfo w;
                w.mountpoint = std::move(fs.mountpoint);
                w.name = std::move(fs.name);
                w.fstype = std::move(fs.fstype);
                if (fs.devAliases.size() > proto::REMOTE_DOMAIN_FSINFO_DISKS_MAX) {
                    return tooMany("disks", fs.devAliases.size(), proto::REMOTE_DOMAIN_FSINFO_DISKS_MAX);
                }
                w.dev_aliases = std::move(fs.devAliases);
                ret.info.push_back(std::move(w));
            }
            ret.ret = static_cast<unsigned>(ret.info.size());
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_FSFREEZE>(
        [](CallContext& ctx,
           const proto::remote_domain_fsfreeze_args& a) -> Result<proto::remote_domain_fsfreeze_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, agentFacet(ctx, "virDomainFSFreeze"));
            CORRAL_ASSIGN_OR_RETURN(int n, f->fsFreeze(fromWire(a.dom), a.mountpoints, a.flags));
            return proto::remote_domain_fsfreeze_ret{n};
        });
    d.add<proto::REMOTE_PROC_DOMAIN_FSTHAW>(
        [](CallContext& ctx, const proto::remote_domain_fsthaw_args& a) -> Result<proto::remote_domain_fsthaw_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, agentFacet(ctx, "virDomainFSThaw"));
            CORRAL_ASSIGN_OR_RETURN(int n, f->fsThaw(fromWire(a.dom), a.mountpoints, a.flags));
            return proto::remote_domain_fsthaw_ret{n};
        });
    d.add<proto::REMOTE_PROC_DOMAIN_SET_USER_PASSWORD>(
        [](CallContext& ctx, const proto::remote_domain_set_user_password_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, agentFacet(ctx, "virDomainSetUserPassword"));
            if (!a.user || !a.password) {
                return fail(ErrorCode::InvalidArg, std::string(!a.user ? "user" : "password") +
                                                       " in virDomainSetUserPassword must not be NULL",
                            ErrorDomain::Domain);
            }
            CORRAL_TRY(f->setUserPassword(fromWire(a.dom), *a.user, *a.password, a.flags));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_DOMAIN_GET_GUEST_INFO>(
        [](CallContext& ctx,
           const proto::remote_domain_get_guest_info_args& a) -> Result<proto::remote_domain_get_guest_info_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, agentFacet(ctx, "virDomainGetGuestInfo"));
            CORRAL_ASSIGN_OR_RETURN(auto params, f->getGuestInfo(fromWire(a.dom), a.types, a.flags));
            if (params.size() > proto::REMOTE_DOMAIN_GUEST_INFO_PARAMS_MAX) {
                return tooMany("guest information parameters", params.size(),
                               proto::REMOTE_DOMAIN_GUEST_INFO_PARAMS_MAX);
            }
            proto::remote_domain_get_guest_info_ret ret;
            for (const auto& p : params) {
                ret.params.push_back(toWire(p));
            }
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_AGENT_SET_RESPONSE_TIMEOUT>(
        [](CallContext& ctx, const proto::remote_domain_agent_set_response_timeout_args& a)
            -> Result<proto::remote_domain_agent_set_response_timeout_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, agentFacet(ctx, "virDomainAgentSetResponseTimeout"));
            CORRAL_TRY(f->setAgentResponseTimeout(fromWire(a.dom), a.timeout, a.flags));
            return proto::remote_domain_agent_set_response_timeout_ret{0};
        });
    d.addQemu<proto::QEMU_PROC_DOMAIN_AGENT_COMMAND>(
        [](CallContext& ctx,
           const proto::qemu_domain_agent_command_args& a) -> Result<proto::qemu_domain_agent_command_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, agentFacet(ctx, "virDomainQemuAgentCommand"));
            CORRAL_ASSIGN_OR_RETURN(std::string result, f->agentCommand(fromWire(a.dom), a.cmd, a.timeout, a.flags));
            proto::qemu_domain_agent_command_ret ret;
            ret.result = std::move(result);
            return ret;
        });
}

}  // namespace corral::daemon
