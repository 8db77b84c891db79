// SPDX-License-Identifier: LGPL-2.1-or-later
// Virtual-network procedures (virsh net-*), served by the host's network driver on qemu and lxc
// connections; the test driver answers them with VIR_ERR_NO_SUPPORT.
#include "daemon/dispatcher.hpp"
#include "daemon/wire_convert.hpp"
#include "drivers/interfaces/network.hpp"

namespace corral::daemon {

namespace proto = rpc::proto;
using proto::xdr_void;

namespace {

Result<drivers::NetworkFacet*> networkFacet(CallContext& ctx, std::string_view api) {
    return requireFacet(ctx.driver().networks(), api);
}

/// The reply of the procedures that answer {net}.
template <class Ret>
Ret withNet(const drivers::NetworkRef& ref) {
    Ret ret;
    ret.net = toWire(ref);
    return ret;
}

/// At most `maxnames` names of the networks `flags` selects, as the old list calls answer.
Result<std::vector<std::string>> networkNames(CallContext& ctx, std::int32_t maxnames, unsigned flags,
                                              std::string_view api) {
    if (maxnames < 0 || maxnames > static_cast<std::int32_t>(proto::REMOTE_NETWORK_LIST_MAX)) {
        return fail(ErrorCode::Rpc, "maxnames > REMOTE_NETWORK_LIST_MAX", ErrorDomain::Rpc);
    }
    CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, api));
    CORRAL_ASSIGN_OR_RETURN(auto refs, f->listAllNetworks(flags));
    std::vector<std::string> names;
    for (const auto& r : refs) {
        if (static_cast<std::int32_t>(names.size()) >= maxnames) {
            break;
        }
        names.push_back(r.name);
    }
    return names;
}

void registerLookupsAndLists(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_NETWORK_LOOKUP_BY_NAME>(
        [](CallContext& ctx, const proto::remote_network_lookup_by_name_args& a)
            -> Result<proto::remote_network_lookup_by_name_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, "virNetworkLookupByName"));
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->lookupNetworkByName(a.name));
            return withNet<proto::remote_network_lookup_by_name_ret>(ref);
        });
    d.add<proto::REMOTE_PROC_NETWORK_LOOKUP_BY_UUID>(
        [](CallContext& ctx, const proto::remote_network_lookup_by_uuid_args& a)
            -> Result<proto::remote_network_lookup_by_uuid_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, "virNetworkLookupByUUID"));
            Uuid uuid;
            uuid.bytes = a.uuid;
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->lookupNetworkByUuid(uuid));
            return withNet<proto::remote_network_lookup_by_uuid_ret>(ref);
        });
    d.add<proto::REMOTE_PROC_CONNECT_LIST_ALL_NETWORKS>(
        [](CallContext& ctx, const proto::remote_connect_list_all_networks_args& a)
            -> Result<proto::remote_connect_list_all_networks_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, "virConnectListAllNetworks"));
            CORRAL_ASSIGN_OR_RETURN(auto refs, f->listAllNetworks(a.flags));
            proto::remote_connect_list_all_networks_ret ret;
            if (a.need_results != 0) {
                for (const auto& r : refs) {
                    ret.nets.push_back(toWire(r));
                }
            }
            ret.ret = static_cast<unsigned>(refs.size());
            return ret;
        });

    // The lists before virConnectListAllNetworks, which ansible's virt_net, Sys::Virt and
    // python's listNetworks() still call: counts, then names, of active and inactive networks.
    d.add<proto::REMOTE_PROC_CONNECT_NUM_OF_NETWORKS>(
        [](CallContext& ctx, const xdr_void&) -> Result<proto::remote_connect_num_of_networks_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, "virConnectNumOfNetworks"));
            CORRAL_ASSIGN_OR_RETURN(auto refs, f->listAllNetworks(drivers::network_list_flags::kActive));
            proto::remote_connect_num_of_networks_ret ret{};
            ret.num = static_cast<std::int32_t>(refs.size());
            return ret;
        });
    d.add<proto::REMOTE_PROC_CONNECT_LIST_NETWORKS>(
        [](CallContext& ctx, const proto::remote_connect_list_networks_args& a)
            -> Result<proto::remote_connect_list_networks_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto names, networkNames(ctx, a.maxnames, drivers::network_list_flags::kActive,
                                                             "virConnectListNetworks"));
            proto::remote_connect_list_networks_ret ret;
            ret.names = std::move(names);
            return ret;
        });
    d.add<proto::REMOTE_PROC_CONNECT_NUM_OF_DEFINED_NETWORKS>(
        [](CallContext& ctx, const xdr_void&) -> Result<proto::remote_connect_num_of_defined_networks_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, "virConnectNumOfDefinedNetworks"));
            CORRAL_ASSIGN_OR_RETURN(auto refs, f->listAllNetworks(drivers::network_list_flags::kInactive));
            proto::remote_connect_num_of_defined_networks_ret ret{};
            ret.num = static_cast<std::int32_t>(refs.size());
            return ret;
        });
    d.add<proto::REMOTE_PROC_CONNECT_LIST_DEFINED_NETWORKS>(
        [](CallContext& ctx, const proto::remote_connect_list_defined_networks_args& a)
            -> Result<proto::remote_connect_list_defined_networks_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto names, networkNames(ctx, a.maxnames, drivers::network_list_flags::kInactive,
                                                             "virConnectListDefinedNetworks"));
            proto::remote_connect_list_defined_networks_ret ret;
            ret.names = std::move(names);
            return ret;
        });
}

void registerConfig(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_NETWORK_DEFINE_XML>(
        [](CallContext& ctx, const proto::remote_network_define_xml_args& a)
            -> Result<proto::remote_network_define_xml_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, "virNetworkDefineXML"));
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->defineNetwork(a.xml));
            return withNet<proto::remote_network_define_xml_ret>(ref);
        });
    d.add<proto::REMOTE_PROC_NETWORK_DEFINE_XML_FLAGS>(
        [](CallContext& ctx, const proto::remote_network_define_xml_flags_args& a)
            -> Result<proto::remote_network_define_xml_flags_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, "virNetworkDefineXMLFlags"));
            // VIR_NETWORK_DEFINE_VALIDATE (1): our parser refuses what it does not know anyway.
            if ((a.flags & ~1u) != 0) {
                return fail(ErrorCode::InvalidArg, "unsupported flags in function networkDefineXMLFlags",
                            ErrorDomain::Network);
            }
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->defineNetwork(a.xml));
            return withNet<proto::remote_network_define_xml_flags_ret>(ref);
        });
    d.add<proto::REMOTE_PROC_NETWORK_CREATE_XML>(
        [](CallContext& ctx, const proto::remote_network_create_xml_args& a)
            -> Result<proto::remote_network_create_xml_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, "virNetworkCreateXML"));
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->createNetworkXml(a.xml));
            return withNet<proto::remote_network_create_xml_ret>(ref);
        });
    d.add<proto::REMOTE_PROC_NETWORK_CREATE_XML_FLAGS>(
        [](CallContext& ctx, const proto::remote_network_create_xml_flags_args& a)
            -> Result<proto::remote_network_create_xml_flags_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, "virNetworkCreateXMLFlags"));
            if ((a.flags & ~1u) != 0) {
                return fail(ErrorCode::InvalidArg, "unsupported flags in function networkCreateXMLFlags",
                            ErrorDomain::Network);
            }
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->createNetworkXml(a.xml));
            return withNet<proto::remote_network_create_xml_flags_ret>(ref);
        });
    d.add<proto::REMOTE_PROC_NETWORK_UNDEFINE>(
        [](CallContext& ctx, const proto::remote_network_undefine_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, "virNetworkUndefine"));
            CORRAL_TRY(f->undefineNetwork(fromWire(a.net)));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_NETWORK_CREATE>(
        [](CallContext& ctx, const proto::remote_network_create_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, "virNetworkCreate"));
            CORRAL_TRY(f->startNetwork(fromWire(a.net)));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_NETWORK_DESTROY>(
        [](CallContext& ctx, const proto::remote_network_destroy_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, "virNetworkDestroy"));
            CORRAL_TRY(f->destroyNetwork(fromWire(a.net)));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_NETWORK_UPDATE>(
        [](CallContext& ctx, const proto::remote_network_update_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, "virNetworkUpdate"));
            // The fields are in the documented order: this server answers feature 16
            // (NETWORK_UPDATE_HAS_CORRECT_ORDER), so clients do not swap them.
            CORRAL_TRY(f->updateNetwork(fromWire(a.net), a.command, a.section, a.parentIndex, a.xml, a.flags));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_NETWORK_SET_AUTOSTART>(
        [](CallContext& ctx, const proto::remote_network_set_autostart_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, "virNetworkSetAutostart"));
            CORRAL_TRY(f->setNetworkAutostart(fromWire(a.net), a.autostart != 0));
            return xdr_void{};
        });
}

void registerQueries(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_NETWORK_GET_XML_DESC>(
        [](CallContext& ctx, const proto::remote_network_get_xml_desc_args& a)
            -> Result<proto::remote_network_get_xml_desc_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, "virNetworkGetXMLDesc"));
            proto::remote_network_get_xml_desc_ret ret;
            CORRAL_ASSIGN_OR_RETURN(ret.xml, f->networkXml(fromWire(a.net), a.flags));
            return ret;
        });
    d.add<proto::REMOTE_PROC_NETWORK_GET_BRIDGE_NAME>(
        [](CallContext& ctx, const proto::remote_network_get_bridge_name_args& a)
            -> Result<proto::remote_network_get_bridge_name_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, "virNetworkGetBridgeName"));
            proto::remote_network_get_bridge_name_ret ret;
            CORRAL_ASSIGN_OR_RETURN(ret.name, f->networkBridge(fromWire(a.net)));
            return ret;
        });
    d.add<proto::REMOTE_PROC_NETWORK_GET_AUTOSTART>(
        [](CallContext& ctx, const proto::remote_network_get_autostart_args& a)
            -> Result<proto::remote_network_get_autostart_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, "virNetworkGetAutostart"));
            CORRAL_ASSIGN_OR_RETURN(bool on, f->networkAutostart(fromWire(a.net)));
            return proto::remote_network_get_autostart_ret{on ? 1 : 0};
        });
    d.add<proto::REMOTE_PROC_NETWORK_IS_ACTIVE>(
        [](CallContext& ctx, const proto::remote_network_is_active_args& a)
            -> Result<proto::remote_network_is_active_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, "virNetworkIsActive"));
            CORRAL_ASSIGN_OR_RETURN(bool on, f->networkIsActive(fromWire(a.net)));
            return proto::remote_network_is_active_ret{on ? 1 : 0};
        });
    d.add<proto::REMOTE_PROC_NETWORK_GET_DHCP_LEASES>(
        [](CallContext& ctx, const proto::remote_network_get_dhcp_leases_args& a)
            -> Result<proto::remote_network_get_dhcp_leases_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, "virNetworkGetDHCPLeases"));
            if (a.flags != 0) {
                return fail(ErrorCode::InvalidArg, "unsupported flags in function networkGetDHCPLeases",
                            ErrorDomain::Network);
            }
            CORRAL_ASSIGN_OR_RETURN(auto leases, f->networkDhcpLeases(fromWire(a.net), a.mac.value_or("")));
            proto::remote_network_get_dhcp_leases_ret ret;
            ret.ret = static_cast<std::uint32_t>(leases.size());
            if (a.need_results != 0) {
                for (auto& l : leases) {
                    proto::remote_network_dhcp_lease w;
                    w.iface = std::move(l.iface);
                    w.expirytime = l.expiryTime;
                    w.type = 0;  // VIR_IP_ADDR_TYPE_IPV4
                    w.mac = std::move(l.mac);
                    w.ipaddr = std::move(l.ipAddress);
                    w.prefix = l.prefix;
                    if (!l.hostname.empty()) {
                        w.hostname = std::move(l.hostname);
                    }
                    if (!l.clientId.empty()) {
                        w.clientid = std::move(l.clientId);
                    }
                    ret.leases.push_back(std::move(w));
                }
            }
            return ret;
        });
    d.add<proto::REMOTE_PROC_NETWORK_IS_PERSISTENT>(
        [](CallContext& ctx, const proto::remote_network_is_persistent_args& a)
            -> Result<proto::remote_network_is_persistent_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, networkFacet(ctx, "virNetworkIsPersistent"));
            CORRAL_ASSIGN_OR_RETURN(bool on, f->networkIsPersistent(fromWire(a.net)));
            return proto::remote_network_is_persistent_ret{on ? 1 : 0};
        });
}

}  // namespace

void registerNetworkHandlers(Dispatcher& d) {
    registerLookupsAndLists(d);
    registerConfig(d);
    registerQueries(d);
}

}  // namespace corral::daemon
