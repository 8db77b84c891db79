// SPDX-License-Identifier: LGPL-2.1-or-later
// Statistics procedures: vCPUs, block and interface counters, memory, IOThreads and the
// typed-parameter records of GET_ALL_DOMAIN_STATS (virsh domstats).
#include "daemon/dispatcher.hpp"
#include "daemon/wire_convert.hpp"
#include "drivers/interfaces/domain_stats.hpp"

namespace corral::daemon {

namespace proto = rpc::proto;

namespace {

Result<drivers::DomainStatsQueries*> statsFacet(CallContext& ctx, std::string_view api) {
    return requireFacet(ctx.driver().stats(), api);
}

/// virDomainBlockStatsFlags' parameters, in libvirt's order; counters QEMU lacks are left out.
std::vector<drivers::TypedValue> blockStatsParams(const drivers::BlockStats& b) {
    std::vector<drivers::TypedValue> out;
    auto add = [&out](const char* name, std::int64_t v) {
        if (v >= 0) {
            out.push_back({name, v});
        }
    };
    add("rd_operations", b.rdReqs);
    add("rd_bytes", b.rdBytes);
    add("rd_total_times", b.rdTimeNs);
    add("wr_operations", b.wrReqs);
    add("wr_bytes", b.wrBytes);
    add("wr_total_times", b.wrTimeNs);
    add("flush_operations", b.flushReqs);
    add("flush_total_times", b.flushTimeNs);
    add("errs", b.errors);
    return out;
}

}  // namespace

void registerStatsHandlers(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_DOMAIN_GET_VCPUS>(
        [](CallContext& ctx, const proto::remote_domain_get_vcpus_args& a) -> Result<proto::remote_domain_get_vcpus_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, statsFacet(ctx, "virDomainGetVcpus"));
            if (a.maxinfo < 1 || a.maplen < 0 ||
                static_cast<std::int64_t>(a.maxinfo) * a.maplen > proto::REMOTE_CPUMAPS_MAX) {
                return fail(ErrorCode::InvalidArg, "vCPU count or cpumap length out of range", ErrorDomain::Rpc);
            }
            CORRAL_ASSIGN_OR_RETURN(auto vcpus, f->getVcpus(fromWire(a.dom)));
            proto::remote_domain_get_vcpus_ret ret;
            for (const auto& v : vcpus) {
                if (ret.info.size() == static_cast<std::size_t>(a.maxinfo)) {
                    break;
                }
                ret.info.push_back({v.number, v.state, v.cpuTimeNs, v.cpu});
                std::vector<std::uint8_t> map(static_cast<std::size_t>(a.maplen), 0);
                for (std::size_t i = 0; i < map.size() && i < v.affinity.size(); ++i) {
                    map[i] = v.affinity[i];
                }
                ret.cpumaps.insert(ret.cpumaps.end(), map.begin(), map.end());
            }
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_GET_VCPU_PIN_INFO>(
        [](CallContext& ctx, const proto::remote_domain_get_vcpu_pin_info_args& a)
            -> Result<proto::remote_domain_get_vcpu_pin_info_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, statsFacet(ctx, "virDomainGetVcpuPinInfo"));
            if (a.ncpumaps < 1 || a.maplen < 1 ||
                static_cast<std::int64_t>(a.ncpumaps) * a.maplen > proto::REMOTE_CPUMAPS_MAX) {
                return fail(ErrorCode::InvalidArg, "vCPU count or cpumap length out of range", ErrorDomain::Rpc);
            }
            CORRAL_ASSIGN_OR_RETURN(auto maps, f->vcpuPinInfo(fromWire(a.dom), a.flags));
            proto::remote_domain_get_vcpu_pin_info_ret ret;
            std::size_t n = std::min(maps.size(), static_cast<std::size_t>(a.ncpumaps));
            for (std::size_t v = 0; v < n; ++v) {
                std::vector<std::uint8_t> map(static_cast<std::size_t>(a.maplen), 0);
                for (std::size_t i = 0; i < map.size() && i < maps[v].size(); ++i) {
                    map[i] = maps[v][i];
                }
                ret.cpumaps.insert(ret.cpumaps.end(), map.begin(), map.end());
            }
            ret.num = static_cast<int>(n);
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_BLOCK_STATS>(
        [](CallContext& ctx, const proto::remote_domain_block_stats_args& a)
            -> Result<proto::remote_domain_block_stats_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, statsFacet(ctx, "virDomainBlockStats"));
            CORRAL_ASSIGN_OR_RETURN(auto b, f->blockStats(fromWire(a.dom), a.path));
            return proto::remote_domain_block_stats_ret{b.rdReqs, b.rdBytes, b.wrReqs, b.wrBytes, b.errors};
        });
    d.add<proto::REMOTE_PROC_DOMAIN_BLOCK_STATS_FLAGS>(
        [](CallContext& ctx, const proto::remote_domain_block_stats_flags_args& a)
            -> Result<proto::remote_domain_block_stats_flags_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, statsFacet(ctx, "virDomainBlockStatsFlags"));
            if (a.nparams < 0 || a.nparams > static_cast<int>(proto::REMOTE_DOMAIN_BLOCK_STATS_PARAMETERS_MAX)) {
                return fail(ErrorCode::InvalidArg, "nparams too large", ErrorDomain::Rpc);
            }
            // virTypedParameterFlags: only VIR_TYPED_PARAM_STRING_OKAY (4) is meaningful here.
            if ((a.flags & ~4u) != 0) {
                return fail(ErrorCode::InvalidArg, "unsupported flags in function domainBlockStatsFlags",
                            ErrorDomain::Domain);
            }
            CORRAL_ASSIGN_OR_RETURN(auto b, f->blockStats(fromWire(a.dom), a.path));
            auto params = blockStatsParams(b);
            proto::remote_domain_block_stats_flags_ret ret;
            // Two phases, as the API is called: nparams 0 asks how many there are.
            ret.nparams = static_cast<int>(params.size());
            for (std::size_t i = 0; i < params.size() && i < static_cast<std::size_t>(a.nparams); ++i) {
                ret.params.push_back(toWire(params[i]));
            }
            if (a.nparams != 0) {
                ret.nparams = static_cast<int>(ret.params.size());
            }
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_INTERFACE_STATS>(
        [](CallContext& ctx, const proto::remote_domain_interface_stats_args& a)
            -> Result<proto::remote_domain_interface_stats_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, statsFacet(ctx, "virDomainInterfaceStats"));
            CORRAL_ASSIGN_OR_RETURN(auto s, f->interfaceStats(fromWire(a.dom), a.device));
            return proto::remote_domain_interface_stats_ret{s.rxBytes, s.rxPackets, s.rxErrs, s.rxDrop,
                                                             s.txBytes, s.txPackets, s.txErrs, s.txDrop};
        });
    d.add<proto::REMOTE_PROC_DOMAIN_MEMORY_STATS>(
        [](CallContext& ctx, const proto::remote_domain_memory_stats_args& a)
            -> Result<proto::remote_domain_memory_stats_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, statsFacet(ctx, "virDomainMemoryStats"));
            if (a.maxStats > proto::REMOTE_DOMAIN_MEMORY_STATS_MAX) {
                return fail(ErrorCode::InvalidArg, "maxStats > REMOTE_DOMAIN_MEMORY_STATS_MAX", ErrorDomain::Rpc);
            }
            if (a.flags != 0) {
                return fail(ErrorCode::InvalidArg, "unsupported flags in function domainMemoryStats",
                            ErrorDomain::Domain);
            }
            CORRAL_ASSIGN_OR_RETURN(auto stats, f->memoryStats(fromWire(a.dom), a.maxStats));
            proto::remote_domain_memory_stats_ret ret;
            for (const auto& s : stats) {
                ret.stats.push_back({s.tag, s.value});
            }
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_GET_IOTHREAD_INFO>(
        [](CallContext& ctx, const proto::remote_domain_get_iothread_info_args& a)
            -> Result<proto::remote_domain_get_iothread_info_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, statsFacet(ctx, "virDomainGetIOThreadInfo"));
            CORRAL_ASSIGN_OR_RETURN(auto threads, f->iothreadInfo(fromWire(a.dom), a.flags));
            proto::remote_domain_get_iothread_info_ret ret;
            for (auto& t : threads) {
                ret.info.push_back({t.id, std::move(t.affinity)});
            }
            ret.ret = static_cast<unsigned>(ret.info.size());
            return ret;
        });
    d.add<proto::REMOTE_PROC_CONNECT_GET_ALL_DOMAIN_STATS>(
        [](CallContext& ctx, const proto::remote_connect_get_all_domain_stats_args& a)
            -> Result<proto::remote_connect_get_all_domain_stats_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, statsFacet(ctx, "virConnectGetAllDomainStats"));
            std::vector<drivers::DomainRef> doms;
            for (const auto& w : a.doms) {
                doms.push_back(fromWire(w));
            }
            CORRAL_ASSIGN_OR_RETURN(auto records, f->allDomainStats(doms, a.stats, a.flags));
            proto::remote_connect_get_all_domain_stats_ret ret;
            for (const auto& r : records) {
                proto::remote_domain_stats_record w;
                w.dom = toWire(r.dom);
                for (const auto& p : r.params) {
                    w.params.push_back(toWire(p));
                }
                ret.retStats.push_back(std::move(w));
            }
            return ret;
        });
}

}  // namespace corral::daemon
