// SPDX-License-Identifier: LGPL-2.1-or-later
// Device procedures: virDomainAttachDevice(Flags) and virDomainDetachDevice(Flags), what virsh's
// attach-device, detach-device, attach-disk and detach-disk call, and virDomainUpdateDeviceFlags
// (update-device, virt-xml --update).
#include "daemon/dispatcher.hpp"
#include "daemon/wire_convert.hpp"
#include "drivers/interfaces/domain_tuning.hpp"

namespace corral::daemon {

namespace proto = rpc::proto;
using proto::xdr_void;

namespace {

Result<drivers::DomainDevices*> devicesFacet(CallContext& ctx, std::string_view api) {
    return requireFacet(ctx.driver().devices(), api);
}

}  // namespace

void registerDeviceHandlers(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_DOMAIN_ATTACH_DEVICE_FLAGS>(
        [](CallContext& ctx, const proto::remote_domain_attach_device_flags_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, devicesFacet(ctx, "virDomainAttachDeviceFlags"));
            CORRAL_TRY(f->attachDevice(fromWire(a.dom), a.xml, a.flags));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_DOMAIN_DETACH_DEVICE_FLAGS>(
        [](CallContext& ctx, const proto::remote_domain_detach_device_flags_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, devicesFacet(ctx, "virDomainDetachDeviceFlags"));
            CORRAL_TRY(f->detachDevice(fromWire(a.dom), a.xml, a.flags));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_DOMAIN_UPDATE_DEVICE_FLAGS>(
        [](CallContext& ctx, const proto::remote_domain_update_device_flags_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, devicesFacet(ctx, "virDomainUpdateDeviceFlags"));
            CORRAL_TRY(f->updateDevice(fromWire(a.dom), a.xml, a.flags));
            return xdr_void{};
        });
    // The calls without flags act on the running guest (libvirt: VIR_DOMAIN_AFFECT_LIVE).
    d.add<proto::REMOTE_PROC_DOMAIN_ATTACH_DEVICE>(
        [](CallContext& ctx, const proto::remote_domain_attach_device_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, devicesFacet(ctx, "virDomainAttachDevice"));
            CORRAL_TRY(f->attachDevice(fromWire(a.dom), a.xml, drivers::affect_flags::kLive));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_DOMAIN_DETACH_DEVICE>(
        [](CallContext& ctx, const proto::remote_domain_detach_device_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, devicesFacet(ctx, "virDomainDetachDevice"));
            CORRAL_TRY(f->detachDevice(fromWire(a.dom), a.xml, drivers::affect_flags::kLive));
            return xdr_void{};
        });
}

}  // namespace corral::daemon
