// SPDX-License-Identifier: LGPL-2.1-or-later
// Host-interface procedures (virsh iface-*): the host's network interfaces on qemu and lxc
// connections, the test driver's eth1 on test:///default. Defining, starting, stopping and
// undefining interfaces and the change transactions are refused with VIR_ERR_NO_SUPPORT: corrald
// leaves the host's own network configuration to the host.
#include "conf/interface_def.hpp"
#include "daemon/dispatcher.hpp"
#include "daemon/wire_convert.hpp"
#include "drivers/interfaces/node_devices.hpp"

namespace corral::daemon {

namespace proto = rpc::proto;
using proto::xdr_void;

namespace {

Result<drivers::InterfaceFacet*> interfaceFacet(CallContext& ctx, std::string_view api) {
    return requireFacet(ctx.registry.interfacesFor(ctx.driver()), api);
}

proto::remote_nonnull_interface toWire(const conf::InterfaceDef& def) { return {def.name, def.mac}; }

/// The interface a call names, looked up again by name (its state may have changed).
Result<conf::InterfaceDef> lookup(CallContext& ctx, const proto::remote_nonnull_interface& iface,
                                  std::string_view api) {
    CORRAL_ASSIGN_OR_RETURN(auto* f, interfaceFacet(ctx, api));
    return f->lookupInterfaceByName(iface.name);
}

Result<std::vector<std::string>> names(CallContext& ctx, std::int32_t maxnames, unsigned flags, std::string_view api) {
    if (maxnames < 0 || maxnames > static_cast<std::int32_t>(proto::REMOTE_INTERFACE_LIST_MAX)) {
        return fail(ErrorCode::Rpc, "maxnames > REMOTE_INTERFACE_LIST_MAX", ErrorDomain::Rpc);
    }
    CORRAL_ASSIGN_OR_RETURN(auto* f, interfaceFacet(ctx, api));
    CORRAL_ASSIGN_OR_RETURN(auto all, f->listInterfaces(flags));
    std::vector<std::string> out;
    for (const auto& i : all) {
        if (static_cast<std::int32_t>(out.size()) >= maxnames) {
            break;
        }
        out.push_back(i.name);
    }
    return out;
}

Result<std::int32_t> count(CallContext& ctx, unsigned flags, std::string_view api) {
    CORRAL_ASSIGN_OR_RETURN(auto* f, interfaceFacet(ctx, api));
    CORRAL_ASSIGN_OR_RETURN(auto all, f->listInterfaces(flags));
    return static_cast<std::int32_t>(all.size());
}

template <class Args>
auto refused(std::string_view api) {
    return [api](CallContext& ctx, const Args&) -> Result<xdr_void> {
        CORRAL_TRY(interfaceFacet(ctx, api));
        return fail(ErrorCode::NoSupport,
                    std::string(api) + ": corrald reads the host's interfaces and does not configure them",
                    drivers::kFromInterface);
    };
}

void registerLists(Dispatcher& d) {
    using namespace drivers::interface_list_flags;
    d.add<proto::REMOTE_PROC_CONNECT_LIST_ALL_INTERFACES>(
        [](CallContext& ctx, const proto::remote_connect_list_all_interfaces_args& a)
            -> Result<proto::remote_connect_list_all_interfaces_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, interfaceFacet(ctx, "virConnectListAllInterfaces"));
            CORRAL_ASSIGN_OR_RETURN(auto all, f->listInterfaces(a.flags));
            proto::remote_connect_list_all_interfaces_ret ret;
            if (a.need_results != 0) {
                for (const auto& i : all) {
                    ret.ifaces.push_back(toWire(i));
                }
            }
            ret.ret = static_cast<unsigned>(all.size());
            return ret;
        });
    d.add<proto::REMOTE_PROC_CONNECT_NUM_OF_INTERFACES>(
        [](CallContext& ctx, const xdr_void&) -> Result<proto::remote_connect_num_of_interfaces_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto n, count(ctx, kActive, "virConnectNumOfInterfaces"));
            return proto::remote_connect_num_of_interfaces_ret{n};
        });
    d.add<proto::REMOTE_PROC_CONNECT_NUM_OF_DEFINED_INTERFACES>(
        [](CallContext& ctx, const xdr_void&) -> Result<proto::remote_connect_num_of_defined_interfaces_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto n, count(ctx, kInactive, "virConnectNumOfDefinedInterfaces"));
            return proto::remote_connect_num_of_defined_interfaces_ret{n};
        });
    d.add<proto::REMOTE_PROC_CONNECT_LIST_INTERFACES>(
        [](CallContext& ctx, const proto::remote_connect_list_interfaces_args& a)
            -> Result<proto::remote_connect_list_interfaces_ret> {
            proto::remote_connect_list_interfaces_ret ret;
            CORRAL_ASSIGN_OR_RETURN(ret.names, names(ctx, a.maxnames, kActive, "virConnectListInterfaces"));
            return ret;
        });
    d.add<proto::REMOTE_PROC_CONNECT_LIST_DEFINED_INTERFACES>(
        [](CallContext& ctx, const proto::remote_connect_list_defined_interfaces_args& a)
            -> Result<proto::remote_connect_list_defined_interfaces_ret> {
            proto::remote_connect_list_defined_interfaces_ret ret;
            CORRAL_ASSIGN_OR_RETURN(ret.names,
                                    names(ctx, a.maxnames, kInactive, "virConnectListDefinedInterfaces"));
            return ret;
        });
}

void registerQueries(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_INTERFACE_LOOKUP_BY_NAME>(
        [](CallContext& ctx, const proto::remote_interface_lookup_by_name_args& a)
            -> Result<proto::remote_interface_lookup_by_name_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, interfaceFacet(ctx, "virInterfaceLookupByName"));
            CORRAL_ASSIGN_OR_RETURN(auto def, f->lookupInterfaceByName(a.name));
            return proto::remote_interface_lookup_by_name_ret{toWire(def)};
        });
    d.add<proto::REMOTE_PROC_INTERFACE_LOOKUP_BY_MAC_STRING>(
        [](CallContext& ctx, const proto::remote_interface_lookup_by_mac_string_args& a)
            -> Result<proto::remote_interface_lookup_by_mac_string_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, interfaceFacet(ctx, "virInterfaceLookupByMACString"));
            CORRAL_ASSIGN_OR_RETURN(auto def, f->lookupInterfaceByMac(a.mac));
            return proto::remote_interface_lookup_by_mac_string_ret{toWire(def)};
        });
    d.add<proto::REMOTE_PROC_INTERFACE_GET_XML_DESC>(
        [](CallContext& ctx, const proto::remote_interface_get_xml_desc_args& a)
            -> Result<proto::remote_interface_get_xml_desc_ret> {
            // VIR_INTERFACE_XML_INACTIVE (1): the host's interfaces have no other definition.
            if ((a.flags & ~1u) != 0) {
                return fail(ErrorCode::InvalidArg, "unsupported flags in function interfaceGetXMLDesc",
                            drivers::kFromInterface);
            }
            CORRAL_ASSIGN_OR_RETURN(auto def, lookup(ctx, a.iface, "virInterfaceGetXMLDesc"));
            return proto::remote_interface_get_xml_desc_ret{conf::formatInterfaceXml(def)};
        });
    d.add<proto::REMOTE_PROC_INTERFACE_IS_ACTIVE>(
        [](CallContext& ctx, const proto::remote_interface_is_active_args& a)
            -> Result<proto::remote_interface_is_active_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto def, lookup(ctx, a.iface, "virInterfaceIsActive"));
            return proto::remote_interface_is_active_ret{def.active ? 1 : 0};
        });
}

void registerRefusals(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_INTERFACE_DEFINE_XML>(
        [](CallContext& ctx, const proto::remote_interface_define_xml_args&)
            -> Result<proto::remote_interface_define_xml_ret> {
            CORRAL_TRY(interfaceFacet(ctx, "virInterfaceDefineXML"));
            return fail(ErrorCode::NoSupport,
                        "virInterfaceDefineXML: corrald reads the host's interfaces and does not configure them",
                        drivers::kFromInterface);
        });
    d.add<proto::REMOTE_PROC_INTERFACE_UNDEFINE>(refused<proto::remote_interface_undefine_args>("virInterfaceUndefine"));
    d.add<proto::REMOTE_PROC_INTERFACE_CREATE>(refused<proto::remote_interface_create_args>("virInterfaceCreate"));
    d.add<proto::REMOTE_PROC_INTERFACE_DESTROY>(refused<proto::remote_interface_destroy_args>("virInterfaceDestroy"));
    d.add<proto::REMOTE_PROC_INTERFACE_CHANGE_BEGIN>(
        refused<proto::remote_interface_change_begin_args>("virInterfaceChangeBegin"));
    d.add<proto::REMOTE_PROC_INTERFACE_CHANGE_COMMIT>(
        refused<proto::remote_interface_change_commit_args>("virInterfaceChangeCommit"));
    d.add<proto::REMOTE_PROC_INTERFACE_CHANGE_ROLLBACK>(
        refused<proto::remote_interface_change_rollback_args>("virInterfaceChangeRollback"));
}

}  // namespace

void registerInterfaceHandlers(Dispatcher& d) {
    registerLists(d);
    registerQueries(d);
    registerRefusals(d);
}

}  // namespace corral::daemon
