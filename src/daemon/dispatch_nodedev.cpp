// SPDX-License-Identifier: LGPL-2.1-or-later
// Node-device procedures (virsh nodedev-*): the host's devices on qemu and lxc connections, the
// test driver's fixtures on test:///default. Detaching, resetting, creating and defining devices
// are refused with VIR_ERR_NO_SUPPORT and the reason: corrald assigns no host device to guests.
#include "conf/node_device_def.hpp"
#include "daemon/dispatcher.hpp"
#include "daemon/wire_convert.hpp"
#include "drivers/interfaces/node_devices.hpp"

namespace corral::daemon {

namespace proto = rpc::proto;
using proto::xdr_void;

namespace {

Result<drivers::NodeDeviceFacet*> deviceFacet(CallContext& ctx, std::string_view api) {
    return requireFacet(ctx.registry.nodeDevicesFor(ctx.driver()), api);
}

Result<conf::NodeDeviceDef> lookup(CallContext& ctx, const std::string& name, std::string_view api) {
    CORRAL_ASSIGN_OR_RETURN(auto* f, deviceFacet(ctx, api));
    return f->lookupNodeDevice(name);
}

/// The devices the old list calls select: all, or those answering to `cap`. They take no flags.
Result<std::vector<conf::NodeDeviceDef>> devicesWithCap(CallContext& ctx, const proto::remote_string& cap,
                                                        unsigned flags, std::string_view api) {
    if (flags != 0) {
        return drivers::unsupportedFlags(flags, api, drivers::kFromNodeDev);
    }
    CORRAL_ASSIGN_OR_RETURN(auto* f, deviceFacet(ctx, api));
    CORRAL_ASSIGN_OR_RETURN(auto all, f->listNodeDevices(0));
    std::vector<conf::NodeDeviceDef> out;
    for (auto& d : all) {
        if (!cap || conf::nodeDeviceHasCap(d, *cap)) {
            out.push_back(std::move(d));
        }
    }
    return out;
}

/// What the refused calls answer: the API, and why corrald does not offer it.
template <class Args>
auto refused(std::string_view api, std::string_view why) {
    return [api, why](CallContext& ctx, const Args&) -> Result<xdr_void> {
        CORRAL_TRY(deviceFacet(ctx, api));
        return fail(ErrorCode::NoSupport, std::string(api) + ": " + std::string(why), drivers::kFromNodeDev);
    };
}

constexpr std::string_view kNoAssignment = "corrald does not assign host devices to guests";
constexpr std::string_view kNoCreation =
    "corrald creates no host devices (mediated devices, virtual HBAs) and defines none";

void registerLists(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_CONNECT_LIST_ALL_NODE_DEVICES>(
        [](CallContext& ctx, const proto::remote_connect_list_all_node_devices_args& a)
            -> Result<proto::remote_connect_list_all_node_devices_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, deviceFacet(ctx, "virConnectListAllNodeDevices"));
            CORRAL_ASSIGN_OR_RETURN(auto devices, f->listNodeDevices(a.flags));
            proto::remote_connect_list_all_node_devices_ret ret;
            if (a.need_results != 0) {
                for (const auto& dev : devices) {
                    ret.devices.push_back(proto::remote_nonnull_node_device{dev.name});
                }
            }
            ret.ret = static_cast<unsigned>(devices.size());
            return ret;
        });
    d.add<proto::REMOTE_PROC_NODE_NUM_OF_DEVICES>(
        [](CallContext& ctx, const proto::remote_node_num_of_devices_args& a)
            -> Result<proto::remote_node_num_of_devices_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto devices, devicesWithCap(ctx, a.cap, a.flags, "virNodeNumOfDevices"));
            return proto::remote_node_num_of_devices_ret{static_cast<std::int32_t>(devices.size())};
        });
    d.add<proto::REMOTE_PROC_NODE_LIST_DEVICES>(
        [](CallContext& ctx, const proto::remote_node_list_devices_args& a)
            -> Result<proto::remote_node_list_devices_ret> {
            if (a.maxnames < 0 || a.maxnames > static_cast<std::int32_t>(proto::REMOTE_NODE_DEVICE_LIST_MAX)) {
                return fail(ErrorCode::Rpc, "maxnames > REMOTE_NODE_DEVICE_LIST_MAX", ErrorDomain::Rpc);
            }
            CORRAL_ASSIGN_OR_RETURN(auto devices, devicesWithCap(ctx, a.cap, a.flags, "virNodeListDevices"));
            proto::remote_node_list_devices_ret ret;
            for (const auto& dev : devices) {
                if (static_cast<std::int32_t>(ret.names.size()) >= a.maxnames) {
                    break;
                }
                ret.names.push_back(dev.name);
            }
            return ret;
        });
}

void registerQueries(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_NODE_DEVICE_LOOKUP_BY_NAME>(
        [](CallContext& ctx, const proto::remote_node_device_lookup_by_name_args& a)
            -> Result<proto::remote_node_device_lookup_by_name_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto dev, lookup(ctx, a.name, "virNodeDeviceLookupByName"));
            return proto::remote_node_device_lookup_by_name_ret{proto::remote_nonnull_node_device{dev.name}};
        });
    d.add<proto::REMOTE_PROC_NODE_DEVICE_GET_XML_DESC>(
        [](CallContext& ctx, const proto::remote_node_device_get_xml_desc_args& a)
            -> Result<proto::remote_node_device_get_xml_desc_ret> {
            // VIR_NODE_DEVICE_XML_INACTIVE (1) asks for the persistent definition: every device
            // here is the host's own, so it is the same document.
            if ((a.flags & ~1u) != 0) {
                return drivers::unsupportedFlags(a.flags & ~1u, "nodeDeviceGetXMLDesc", drivers::kFromNodeDev);
            }
            CORRAL_ASSIGN_OR_RETURN(auto dev, lookup(ctx, a.name, "virNodeDeviceGetXMLDesc"));
            return proto::remote_node_device_get_xml_desc_ret{conf::formatNodeDeviceXml(dev)};
        });
    d.add<proto::REMOTE_PROC_NODE_DEVICE_GET_PARENT>(
        [](CallContext& ctx, const proto::remote_node_device_get_parent_args& a)
            -> Result<proto::remote_node_device_get_parent_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto dev, lookup(ctx, a.name, "virNodeDeviceGetParent"));
            proto::remote_node_device_get_parent_ret ret;
            if (!dev.parent.empty()) {
                ret.parentName = dev.parent;
            }
            return ret;
        });
    d.add<proto::REMOTE_PROC_NODE_DEVICE_NUM_OF_CAPS>(
        [](CallContext& ctx, const proto::remote_node_device_num_of_caps_args& a)
            -> Result<proto::remote_node_device_num_of_caps_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto dev, lookup(ctx, a.name, "virNodeDeviceNumOfCaps"));
            return proto::remote_node_device_num_of_caps_ret{
                static_cast<std::int32_t>(conf::nodeDeviceCapNames(dev).size())};
        });
    d.add<proto::REMOTE_PROC_NODE_DEVICE_LIST_CAPS>(
        [](CallContext& ctx, const proto::remote_node_device_list_caps_args& a)
            -> Result<proto::remote_node_device_list_caps_ret> {
            if (a.maxnames < 0 || a.maxnames > static_cast<std::int32_t>(proto::REMOTE_NODE_DEVICE_CAPS_LIST_MAX)) {
                return fail(ErrorCode::Rpc, "maxnames > REMOTE_NODE_DEVICE_CAPS_LIST_MAX", ErrorDomain::Rpc);
            }
            CORRAL_ASSIGN_OR_RETURN(auto dev, lookup(ctx, a.name, "virNodeDeviceListCaps"));
            proto::remote_node_device_list_caps_ret ret;
            for (auto& name : conf::nodeDeviceCapNames(dev)) {
                if (static_cast<std::int32_t>(ret.names.size()) >= a.maxnames) {
                    break;
                }
                ret.names.push_back(std::move(name));
            }
            return ret;
        });
}

void registerRefusals(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_NODE_DEVICE_DETTACH>(
        refused<proto::remote_node_device_dettach_args>("virNodeDeviceDettach", kNoAssignment));
    d.add<proto::REMOTE_PROC_NODE_DEVICE_DETACH_FLAGS>(
        refused<proto::remote_node_device_detach_flags_args>("virNodeDeviceDetachFlags", kNoAssignment));
    d.add<proto::REMOTE_PROC_NODE_DEVICE_RE_ATTACH>(
        refused<proto::remote_node_device_re_attach_args>("virNodeDeviceReAttach", kNoAssignment));
    d.add<proto::REMOTE_PROC_NODE_DEVICE_RESET>(
        refused<proto::remote_node_device_reset_args>("virNodeDeviceReset", kNoAssignment));
    d.add<proto::REMOTE_PROC_NODE_DEVICE_DESTROY>(
        refused<proto::remote_node_device_destroy_args>("virNodeDeviceDestroy", kNoCreation));
    d.add<proto::REMOTE_PROC_NODE_DEVICE_UNDEFINE>(
        refused<proto::remote_node_device_undefine_args>("virNodeDeviceUndefine", kNoCreation));
    d.add<proto::REMOTE_PROC_NODE_DEVICE_CREATE>(
        refused<proto::remote_node_device_create_args>("virNodeDeviceCreate", kNoCreation));
    d.add<proto::REMOTE_PROC_NODE_DEVICE_CREATE_XML>(
        [](CallContext& ctx, const proto::remote_node_device_create_xml_args&)
            -> Result<proto::remote_node_device_create_xml_ret> {
            CORRAL_TRY(deviceFacet(ctx, "virNodeDeviceCreateXML"));
            return fail(ErrorCode::NoSupport, "virNodeDeviceCreateXML: " + std::string(kNoCreation),
                        drivers::kFromNodeDev);
        });
    d.add<proto::REMOTE_PROC_NODE_DEVICE_DEFINE_XML>(
        [](CallContext& ctx, const proto::remote_node_device_define_xml_args&)
            -> Result<proto::remote_node_device_define_xml_ret> {
            CORRAL_TRY(deviceFacet(ctx, "virNodeDeviceDefineXML"));
            return fail(ErrorCode::NoSupport, "virNodeDeviceDefineXML: " + std::string(kNoCreation),
                        drivers::kFromNodeDev);
        });
}

}  // namespace

void registerNodeDeviceHandlers(Dispatcher& d) {
    registerLists(d);
    registerQueries(d);
    registerRefusals(d);
}

}  // namespace corral::daemon
