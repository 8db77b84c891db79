// SPDX-License-Identifier: LGPL-2.1-or-later
// Domain procedures beside the lifecycle: virDomainGetBlockInfo (virsh domblkinfo),
// virDomainSendKey (send-key), virDomainGetJobInfo and virDomainAbortJob (domjobinfo,
// domjobabort), virDomainScreenshot (screenshot: the image goes out as the call's stream).
#include "daemon/console_stream.hpp"
#include "daemon/dispatcher.hpp"
#include "daemon/wire_convert.hpp"

namespace corral::daemon {

namespace proto = rpc::proto;
using proto::xdr_void;

void registerDomainOpsHandlers(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_DOMAIN_GET_BLOCK_INFO>(
        [](CallContext& ctx, const proto::remote_domain_get_block_info_args& a)
            -> Result<proto::remote_domain_get_block_info_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, requireFacet(ctx.driver().queries(), "virDomainGetBlockInfo"));
            CORRAL_ASSIGN_OR_RETURN(drivers::BlockInfo info, f->blockInfo(fromWire(a.dom), a.path, a.flags));
            proto::remote_domain_get_block_info_ret ret{};
            ret.allocation = info.allocation;
            ret.capacity = info.capacity;
            ret.physical = info.physical;
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_GET_JOB_INFO>(
        [](CallContext& ctx, const proto::remote_domain_get_job_info_args& a)
            -> Result<proto::remote_domain_get_job_info_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, requireFacet(ctx.driver().queries(), "virDomainGetJobInfo"));
            CORRAL_ASSIGN_OR_RETURN(drivers::JobInfo info, f->jobInfo(fromWire(a.dom)));
            proto::remote_domain_get_job_info_ret ret{};
            ret.type = info.type;
            ret.timeElapsed = info.timeElapsedMs;
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_ABORT_JOB>(
        [](CallContext& ctx, const proto::remote_domain_abort_job_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, requireFacet(ctx.driver().lifecycle(), "virDomainAbortJob"));
            CORRAL_TRY(f->abortJob(fromWire(a.dom)));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_DOMAIN_SCREENSHOT>(
        [](CallContext& ctx, const proto::remote_domain_screenshot_args& a) -> Result<proto::remote_domain_screenshot_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, requireFacet(ctx.driver().console(), "virDomainScreenshot"));
            CORRAL_ASSIGN_OR_RETURN(auto shot, f->screenshot(fromWire(a.dom), a.screen, a.flags));
            auto stream = std::make_shared<ConsoleStream>(ctx.session, ctx.header, std::move(shot.second));
            ctx.session->addStream(stream);
            ctx.afterReply = [stream] { stream->start(); };
            proto::remote_domain_screenshot_ret ret;
            ret.mime = std::move(shot.first);
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_SEND_KEY>(
        [](CallContext& ctx, const proto::remote_domain_send_key_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, requireFacet(ctx.driver().lifecycle(), "virDomainSendKey"));
            std::vector<unsigned> keys(a.keycodes.begin(), a.keycodes.end());
            CORRAL_TRY(f->sendKey(fromWire(a.dom), a.codeset, a.holdtime, keys, a.flags));
            return xdr_void{};
        });
}

}  // namespace corral::daemon
