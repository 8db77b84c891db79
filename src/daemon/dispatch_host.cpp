// SPDX-License-Identifier: LGPL-2.1-or-later
// Host procedures beyond virNodeGetInfo: node CPU and memory statistics, free memory per NUMA
// cell, the CPU map, sysinfo, domain capabilities and CPU model names. Each asks the
// connection's driver, so the test driver answers with its fixed values and the host drivers
// with the host's.
#include "daemon/dispatcher.hpp"
#include "daemon/wire_convert.hpp"

namespace corral::daemon {

namespace proto = rpc::proto;
using proto::xdr_void;

namespace {

Unexpected unsupportedFlags(std::string_view function) {
    return fail(ErrorCode::InvalidArg, "unsupported flags in function " + std::string(function), ErrorDomain::Rpc);
}

/// The reply of the nparams protocol (virNodeGetCPUStats, virNodeGetMemoryStats): asked with 0,
/// only the number; otherwise the counters themselves.
template <class Ret, class Param>
Ret countersReply(const std::vector<drivers::NodeCounter>& counters, int asked) {
    Ret ret;
    ret.nparams = static_cast<std::int32_t>(counters.size());
    if (asked != 0) {
        for (const auto& c : counters) {
            Param p;
            p.field = c.field;
            p.value = c.value;
            ret.params.push_back(std::move(p));
        }
    }
    return ret;
}

void registerStatistics(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_NODE_GET_CPU_STATS>(
        [](CallContext& ctx, const proto::remote_node_get_cpu_stats_args& a)
            -> Result<proto::remote_node_get_cpu_stats_ret> {
            if (a.nparams < 0 || a.nparams > static_cast<std::int32_t>(proto::REMOTE_NODE_CPU_STATS_MAX)) {
                return fail(ErrorCode::InternalError, "nparams too large", ErrorDomain::Rpc);
            }
            if (a.flags != 0) {
                return unsupportedFlags("virNodeGetCPUStats");
            }
            CORRAL_ASSIGN_OR_RETURN(auto counters, ctx.driver().host()->nodeCpuStats(a.cpuNum, a.nparams));
            return countersReply<proto::remote_node_get_cpu_stats_ret, proto::remote_node_get_cpu_stats>(counters,
                                                                                                         a.nparams);
        });
    d.add<proto::REMOTE_PROC_NODE_GET_MEMORY_STATS>(
        [](CallContext& ctx, const proto::remote_node_get_memory_stats_args& a)
            -> Result<proto::remote_node_get_memory_stats_ret> {
            if (a.nparams < 0 || a.nparams > static_cast<std::int32_t>(proto::REMOTE_NODE_MEMORY_STATS_MAX)) {
                return fail(ErrorCode::InternalError, "nparams too large", ErrorDomain::Rpc);
            }
            if (a.flags != 0) {
                return unsupportedFlags("virNodeGetMemoryStats");
            }
            CORRAL_ASSIGN_OR_RETURN(auto counters, ctx.driver().host()->nodeMemoryStats(a.cellNum, a.nparams));
            return countersReply<proto::remote_node_get_memory_stats_ret, proto::remote_node_get_memory_stats>(
                counters, a.nparams);
        });
    d.add<proto::REMOTE_PROC_NODE_GET_CELLS_FREE_MEMORY>(
        [](CallContext& ctx, const proto::remote_node_get_cells_free_memory_args& a)
            -> Result<proto::remote_node_get_cells_free_memory_ret> {
            if (a.maxcells < 0 || a.maxcells > static_cast<std::int32_t>(proto::REMOTE_NODE_MAX_CELLS)) {
                return fail(ErrorCode::Rpc, "maxCells > REMOTE_NODE_MAX_CELLS", ErrorDomain::Rpc);
            }
            CORRAL_ASSIGN_OR_RETURN(auto cells, ctx.driver().host()->cellsFreeMemory(a.startCell, a.maxcells));
            proto::remote_node_get_cells_free_memory_ret ret;
            ret.cells = std::move(cells);
            return ret;
        });
    d.add<proto::REMOTE_PROC_NODE_GET_FREE_MEMORY>(
        [](CallContext& ctx, const xdr_void&) -> Result<proto::remote_node_get_free_memory_ret> {
            CORRAL_ASSIGN_OR_RETURN(std::uint64_t bytes, ctx.driver().host()->freeMemory());
            proto::remote_node_get_free_memory_ret ret{};
            ret.freeMem = bytes;
            return ret;
        });
    d.add<proto::REMOTE_PROC_NODE_GET_CPU_MAP>(
        [](CallContext& ctx, const proto::remote_node_get_cpu_map_args& a) -> Result<proto::remote_node_get_cpu_map_ret> {
            if (a.flags != 0) {
                return unsupportedFlags("nodeGetCPUMap");
            }
            CORRAL_ASSIGN_OR_RETURN(drivers::NodeCpuMap map, ctx.driver().host()->cpuMap());
            proto::remote_node_get_cpu_map_ret ret;
            if (a.need_map != 0) {
                ret.cpumap = std::move(map.online);
            }
            if (a.need_online != 0) {
                ret.online = map.onlineCount;
            }
            ret.ret = static_cast<int>(map.present);
            return ret;
        });
}

void registerDescriptions(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_CONNECT_GET_SYSINFO>(
        [](CallContext& ctx, const proto::remote_connect_get_sysinfo_args& a)
            -> Result<proto::remote_connect_get_sysinfo_ret> {
            if (a.flags != 0) {
                return unsupportedFlags("virConnectGetSysinfo");
            }
            CORRAL_ASSIGN_OR_RETURN(std::string xml, ctx.driver().host()->sysinfoXml());
            proto::remote_connect_get_sysinfo_ret ret;
            ret.sysinfo = std::move(xml);
            return ret;
        });
    d.add<proto::REMOTE_PROC_CONNECT_GET_DOMAIN_CAPABILITIES>(
        [](CallContext& ctx, const proto::remote_connect_get_domain_capabilities_args& a)
            -> Result<proto::remote_connect_get_domain_capabilities_ret> {
            if (a.flags != 0) {
                return unsupportedFlags("virConnectGetDomainCapabilities");
            }
            drivers::DomainCapsQuery query{a.emulatorbin.value_or(""), a.arch.value_or(""), a.machine.value_or(""),
                                           a.virttype.value_or("")};
            CORRAL_ASSIGN_OR_RETURN(std::string xml, ctx.driver().host()->domainCapabilitiesXml(query));
            proto::remote_connect_get_domain_capabilities_ret ret;
            ret.capabilities = std::move(xml);
            return ret;
        });
    d.add<proto::REMOTE_PROC_CONNECT_GET_CPU_MODEL_NAMES>(
        [](CallContext& ctx, const proto::remote_connect_get_cpu_model_names_args& a)
            -> Result<proto::remote_connect_get_cpu_model_names_ret> {
            if (a.flags != 0) {
                return unsupportedFlags("virConnectGetCPUModelNames");
            }
            CORRAL_ASSIGN_OR_RETURN(auto models, ctx.driver().host()->cpuModelNames(a.arch));
            if (models.size() > proto::REMOTE_CONNECT_CPU_MODELS_MAX) {
                return fail(ErrorCode::InternalError,
                            "Too many CPU models '" + std::to_string(models.size()) + "' for limit '" +
                                std::to_string(proto::REMOTE_CONNECT_CPU_MODELS_MAX) + "'",
                            ErrorDomain::Rpc);
            }
            proto::remote_connect_get_cpu_model_names_ret ret;
            ret.ret = static_cast<std::int32_t>(models.size());
            if (a.need_results != 0) {
                ret.models = std::move(models);
            }
            return ret;
        });
}

}  // namespace

void registerHostHandlers(Dispatcher& d) {
    registerStatistics(d);
    registerDescriptions(d);
}

}  // namespace corral::daemon
