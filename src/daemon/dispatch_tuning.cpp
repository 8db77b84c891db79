// SPDX-License-Identifier: LGPL-2.1-or-later
// Resource-control and security procedures: schedinfo, memtune, blkiotune, vcpupin,
// emulatorpin, iothreadpin, the security model and labels (dominfo), consoles (virsh console,
// as a stream), and the QEMU program's monitor pass-through (virsh qemu-monitor-command).
#include <algorithm>

#include "daemon/console_stream.hpp"
#include "daemon/dispatcher.hpp"
#include "daemon/wire_convert.hpp"
#include "drivers/interfaces/domain_tuning.hpp"

namespace corral::daemon {

namespace proto = rpc::proto;
using proto::xdr_void;

namespace {

Result<drivers::DomainTuningControl*> tuningFacet(CallContext& ctx, std::string_view api) {
    return requireFacet(ctx.driver().tuning(), api);
}

std::vector<drivers::TypedValue> fromWire(const std::vector<proto::remote_typed_param>& params) {
    std::vector<drivers::TypedValue> out;
    for (const auto& p : params) {
        out.push_back(daemon::fromWire(p));
    }
    return out;
}

std::vector<proto::remote_typed_param> toWire(const std::vector<drivers::TypedValue>& values, int limit) {
    std::vector<proto::remote_typed_param> out;
    for (const auto& v : values) {
        if (limit >= 0 && out.size() >= static_cast<std::size_t>(limit)) {
            break;
        }
        out.push_back(daemon::toWire(v));
    }
    return out;
}

Result<void> requireWritable(CallContext& ctx, std::string_view api) { return ctx.denyReadOnly(std::string(api)); }

}  // namespace

void registerTuningHandlers(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_DOMAIN_GET_SCHEDULER_TYPE>(
        [](CallContext& ctx, const proto::remote_domain_get_scheduler_type_args& a)
            -> Result<proto::remote_domain_get_scheduler_type_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, tuningFacet(ctx, "virDomainGetSchedulerType"));
            CORRAL_ASSIGN_OR_RETURN(auto type, f->schedulerType(fromWire(a.dom)));
            proto::remote_domain_get_scheduler_type_ret ret;
            ret.type = type.first;
            ret.nparams = type.second;
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_GET_SCHEDULER_PARAMETERS>(
        [](CallContext& ctx, const proto::remote_domain_get_scheduler_parameters_args& a)
            -> Result<proto::remote_domain_get_scheduler_parameters_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, tuningFacet(ctx, "virDomainGetSchedulerParameters"));
            CORRAL_ASSIGN_OR_RETURN(auto values, f->schedulerParameters(fromWire(a.dom), 0));
            proto::remote_domain_get_scheduler_parameters_ret ret;
            ret.params = toWire(values, a.nparams);
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS>(
        [](CallContext& ctx, const proto::remote_domain_get_scheduler_parameters_flags_args& a)
            -> Result<proto::remote_domain_get_scheduler_parameters_flags_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, tuningFacet(ctx, "virDomainGetSchedulerParametersFlags"));
            CORRAL_ASSIGN_OR_RETURN(auto values, f->schedulerParameters(fromWire(a.dom), a.flags));
            proto::remote_domain_get_scheduler_parameters_flags_ret ret;
            ret.params = toWire(values, a.nparams);
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_SET_SCHEDULER_PARAMETERS>(
        [](CallContext& ctx, const proto::remote_domain_set_scheduler_parameters_args& a) -> Result<xdr_void> {
            CORRAL_TRY(requireWritable(ctx, "virDomainSetSchedulerParameters"));
            CORRAL_ASSIGN_OR_RETURN(auto* f, tuningFacet(ctx, "virDomainSetSchedulerParameters"));
            CORRAL_TRY(f->setSchedulerParameters(fromWire(a.dom), fromWire(a.params), 0));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS>(
        [](CallContext& ctx, const proto::remote_domain_set_scheduler_parameters_flags_args& a) -> Result<xdr_void> {
            CORRAL_TRY(requireWritable(ctx, "virDomainSetSchedulerParametersFlags"));
            CORRAL_ASSIGN_OR_RETURN(auto* f, tuningFacet(ctx, "virDomainSetSchedulerParametersFlags"));
            CORRAL_TRY(f->setSchedulerParameters(fromWire(a.dom), fromWire(a.params), a.flags));
            return xdr_void{};
        });

    // setmem/setmaxmem/setvcpus. The old calls take the flags libvirt's drivers give them:
    // virDomainSetMemory and virDomainSetVcpus are live, virDomainSetMaxMemory the current
    // definition's maximum.
    d.add<proto::REMOTE_PROC_DOMAIN_SET_MEMORY>(
        [](CallContext& ctx, const proto::remote_domain_set_memory_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, tuningFacet(ctx, "virDomainSetMemory"));
            CORRAL_TRY(f->setMemory(fromWire(a.dom), a.memory, drivers::affect_flags::kLive));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_DOMAIN_SET_MAX_MEMORY>(
        [](CallContext& ctx, const proto::remote_domain_set_max_memory_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, tuningFacet(ctx, "virDomainSetMaxMemory"));
            CORRAL_TRY(f->setMemory(fromWire(a.dom), a.memory, drivers::memory_flags::kMaximum));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_DOMAIN_SET_MEMORY_FLAGS>(
        [](CallContext& ctx, const proto::remote_domain_set_memory_flags_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, tuningFacet(ctx, "virDomainSetMemoryFlags"));
            CORRAL_TRY(f->setMemory(fromWire(a.dom), a.memory, a.flags));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_DOMAIN_SET_VCPUS>(
        [](CallContext& ctx, const proto::remote_domain_set_vcpus_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, tuningFacet(ctx, "virDomainSetVcpus"));
            CORRAL_TRY(f->setVcpus(fromWire(a.dom), a.nvcpus, drivers::affect_flags::kLive));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_DOMAIN_SET_VCPUS_FLAGS>(
        [](CallContext& ctx, const proto::remote_domain_set_vcpus_flags_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, tuningFacet(ctx, "virDomainSetVcpusFlags"));
            CORRAL_TRY(f->setVcpus(fromWire(a.dom), a.nvcpus, a.flags));
            return xdr_void{};
        });

    // Memory and blkio gets follow libvirt's two-step convention: nparams 0 asks how many.
    d.add<proto::REMOTE_PROC_DOMAIN_GET_MEMORY_PARAMETERS>(
        [](CallContext& ctx, const proto::remote_domain_get_memory_parameters_args& a)
            -> Result<proto::remote_domain_get_memory_parameters_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, tuningFacet(ctx, "virDomainGetMemoryParameters"));
            CORRAL_ASSIGN_OR_RETURN(auto values, f->memoryParameters(fromWire(a.dom), a.flags));
            proto::remote_domain_get_memory_parameters_ret ret;
            ret.nparams = static_cast<int>(values.size());
            if (a.nparams != 0) {
                ret.params = toWire(values, a.nparams);
            }
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_SET_MEMORY_PARAMETERS>(
        [](CallContext& ctx, const proto::remote_domain_set_memory_parameters_args& a) -> Result<xdr_void> {
            CORRAL_TRY(requireWritable(ctx, "virDomainSetMemoryParameters"));
            CORRAL_ASSIGN_OR_RETURN(auto* f, tuningFacet(ctx, "virDomainSetMemoryParameters"));
            CORRAL_TRY(f->setMemoryParameters(fromWire(a.dom), fromWire(a.params), a.flags));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_DOMAIN_GET_BLKIO_PARAMETERS>(
        [](CallContext& ctx, const proto::remote_domain_get_blkio_parameters_args& a)
            -> Result<proto::remote_domain_get_blkio_parameters_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, tuningFacet(ctx, "virDomainGetBlkioParameters"));
            CORRAL_ASSIGN_OR_RETURN(auto values, f->blkioParameters(fromWire(a.dom), a.flags));
            proto::remote_domain_get_blkio_parameters_ret ret;
            ret.nparams = static_cast<int>(values.size());
            if (a.nparams != 0) {
                ret.params = toWire(values, a.nparams);
            }
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_SET_BLKIO_PARAMETERS>(
        [](CallContext& ctx, const proto::remote_domain_set_blkio_parameters_args& a) -> Result<xdr_void> {
            CORRAL_TRY(requireWritable(ctx, "virDomainSetBlkioParameters"));
            CORRAL_ASSIGN_OR_RETURN(auto* f, tuningFacet(ctx, "virDomainSetBlkioParameters"));
            CORRAL_TRY(f->setBlkioParameters(fromWire(a.dom), fromWire(a.params), a.flags));
            return xdr_void{};
        });

    d.add<proto::REMOTE_PROC_DOMAIN_PIN_VCPU>(
        [](CallContext& ctx, const proto::remote_domain_pin_vcpu_args& a) -> Result<xdr_void> {
            CORRAL_TRY(requireWritable(ctx, "virDomainPinVcpu"));
            CORRAL_ASSIGN_OR_RETURN(auto* f, tuningFacet(ctx, "virDomainPinVcpu"));
            CORRAL_TRY(f->pinVcpu(fromWire(a.dom), a.vcpu, a.cpumap, drivers::affect_flags::kLive));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_DOMAIN_PIN_VCPU_FLAGS>(
        [](CallContext& ctx, const proto::remote_domain_pin_vcpu_flags_args& a) -> Result<xdr_void> {
            CORRAL_TRY(requireWritable(ctx, "virDomainPinVcpuFlags"));
            CORRAL_ASSIGN_OR_RETURN(auto* f, tuningFacet(ctx, "virDomainPinVcpuFlags"));
            CORRAL_TRY(f->pinVcpu(fromWire(a.dom), a.vcpu, a.cpumap, a.flags));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_DOMAIN_PIN_EMULATOR>(
        [](CallContext& ctx, const proto::remote_domain_pin_emulator_args& a) -> Result<xdr_void> {
            CORRAL_TRY(requireWritable(ctx, "virDomainPinEmulator"));
            CORRAL_ASSIGN_OR_RETURN(auto* f, tuningFacet(ctx, "virDomainPinEmulator"));
            CORRAL_TRY(f->pinEmulator(fromWire(a.dom), a.cpumap, a.flags));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_DOMAIN_GET_EMULATOR_PIN_INFO>(
        [](CallContext& ctx, const proto::remote_domain_get_emulator_pin_info_args& a)
            -> Result<proto::remote_domain_get_emulator_pin_info_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, tuningFacet(ctx, "virDomainGetEmulatorPinInfo"));
            CORRAL_ASSIGN_OR_RETURN(auto map, f->emulatorPinInfo(fromWire(a.dom), a.flags));
            map.resize(static_cast<std::size_t>(std::max(a.maplen, 0)), 0);
            proto::remote_domain_get_emulator_pin_info_ret ret;
            ret.cpumaps = std::move(map);
            ret.ret = 1;
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_PIN_IOTHREAD>(
        [](CallContext& ctx, const proto::remote_domain_pin_iothread_args& a) -> Result<xdr_void> {
            CORRAL_TRY(requireWritable(ctx, "virDomainPinIOThread"));
            CORRAL_ASSIGN_OR_RETURN(auto* f, tuningFacet(ctx, "virDomainPinIOThread"));
            CORRAL_TRY(f->pinIothread(fromWire(a.dom), a.iothreads_id, a.cpumap, a.flags));
            return xdr_void{};
        });

    d.add<proto::REMOTE_PROC_NODE_GET_SECURITY_MODEL>(
        [](CallContext& ctx, const xdr_void&) -> Result<proto::remote_node_get_security_model_ret> {
            // The primary model, as the capabilities XML lists it first; "none" without drivers.
            auto models = ctx.driver().host()->securityModels();
            proto::remote_node_get_security_model_ret ret;
            ret.model = toCharArrayWithNul(models.empty() ? "none" : models.front().first);
            ret.doi = toCharArrayWithNul(models.empty() ? "0" : models.front().second);
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_GET_SECURITY_LABEL>(
        [](CallContext& ctx, const proto::remote_domain_get_security_label_args& a)
            -> Result<proto::remote_domain_get_security_label_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, requireFacet(ctx.driver().security(), "virDomainGetSecurityLabel"));
            CORRAL_ASSIGN_OR_RETURN(auto labels, f->securityLabels(fromWire(a.dom)));
            proto::remote_domain_get_security_label_ret ret{};
            ret.label = toCharArrayWithNul(labels.empty() ? "" : labels.front().second);
            ret.enforcing = labels.empty() ? 0 : 1;
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_GET_SECURITY_LABEL_LIST>(
        [](CallContext& ctx, const proto::remote_domain_get_security_label_list_args& a)
            -> Result<proto::remote_domain_get_security_label_list_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, requireFacet(ctx.driver().security(), "virDomainGetSecurityLabelList"));
            CORRAL_ASSIGN_OR_RETURN(auto labels, f->securityLabels(fromWire(a.dom)));
            proto::remote_domain_get_security_label_list_ret ret{};
            for (const auto& [model, label] : labels) {
                proto::remote_domain_get_security_label_ret one{};
                one.label = toCharArrayWithNul(label);
                one.enforcing = 1;
                ret.labels.push_back(std::move(one));
            }
            ret.ret = static_cast<int>(ret.labels.size());
            return ret;
        });

    d.add<proto::REMOTE_PROC_DOMAIN_OPEN_CONSOLE>(
        [&d](CallContext& ctx, const proto::remote_domain_open_console_args& a) -> Result<xdr_void> {
            CORRAL_TRY(requireWritable(ctx, "virDomainOpenConsole"));
            CORRAL_ASSIGN_OR_RETURN(auto* f, requireFacet(ctx.driver().console(), "virDomainOpenConsole"));
            constexpr unsigned kForce = 1;  // VIR_DOMAIN_CONSOLE_FORCE
            drivers::DomainRef dom = fromWire(a.dom);
            std::string device = a.dev_name.value_or("");
            std::string key = ctx.driver().name() + "/" + dom.uuid.toString() + "/" + device;
            auto open = [&]() -> Result<std::shared_ptr<ConsoleStream>> {
                CORRAL_ASSIGN_OR_RETURN(UniqueFd fd, f->openConsole(dom, device, a.flags));
                return std::make_shared<ConsoleStream>(ctx.session, ctx.header, std::move(fd));
            };
            CORRAL_ASSIGN_OR_RETURN(auto stream, d.consoles().open(key, (a.flags & kForce) != 0, open));
            ctx.session->addStream(stream);
            ctx.afterReply = [stream] { stream->start(); };
            return xdr_void{};
        });

    d.addQemu<proto::QEMU_PROC_DOMAIN_MONITOR_COMMAND>(
        [](CallContext& ctx, const proto::qemu_domain_monitor_command_args& a)
            -> Result<proto::qemu_domain_monitor_command_ret> {
            CORRAL_TRY(requireWritable(ctx, "virDomainQemuMonitorCommand"));
            constexpr unsigned kHmp = 1;  // VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP
            if ((a.flags & ~kHmp) != 0) {
                return fail(ErrorCode::InvalidArg, "unsupported flags in function virDomainQemuMonitorCommand",
                            ErrorDomain::Qemu);
            }
            CORRAL_ASSIGN_OR_RETURN(auto* f, requireFacet(ctx.driver().monitor(), "virDomainQemuMonitorCommand"));
            CORRAL_ASSIGN_OR_RETURN(std::string result, f->monitorCommand(fromWire(a.dom), a.cmd, (a.flags & kHmp) != 0));
            proto::qemu_domain_monitor_command_ret ret;
            ret.result = std::move(result);
            return ret;
        });
}

}  // namespace corral::daemon
