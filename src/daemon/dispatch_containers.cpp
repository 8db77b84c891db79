// SPDX-License-Identifier: LGPL-2.1-or-later
// Container procedures, the ones that move descriptors: starting with files handed to init
// (virsh start/create --pass-fds) and the LXC program's namespace descriptors (virsh
// lxc-enter-namespace). Descriptors travel only over unix sockets, beside the packet.
#include <vector>

#include "daemon/dispatcher.hpp"
#include "daemon/wire_convert.hpp"
#include "rpc/generated/lxc_protocol.hpp"

namespace corral::daemon {

namespace proto = rpc::proto;
using proto::xdr_void;

namespace {

Result<drivers::DomainContainers*> containersFacet(CallContext& ctx, std::string_view api) {
    return requireFacet(ctx.driver().containers(), api);
}

std::vector<int> rawFds(const std::vector<UniqueFd>& fds) {
    std::vector<int> out;
    out.reserve(fds.size());
    for (const auto& fd : fds) {
        out.push_back(fd.get());
    }
    return out;
}

}  // namespace

void registerContainerHandlers(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_DOMAIN_CREATE_WITH_FILES>(
        [](CallContext& ctx, const proto::remote_domain_create_with_files_args& a)
            -> Result<proto::remote_domain_create_with_files_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, containersFacet(ctx, "virDomainCreateWithFiles"));
            std::vector<int> files = rawFds(ctx.fds);
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->createWithFiles(fromWire(a.dom), files, a.flags));
            proto::remote_domain_create_with_files_ret ret;
            ret.dom = toWire(ref);
            return ret;
        });
    d.add<proto::REMOTE_PROC_DOMAIN_CREATE_XML_WITH_FILES>(
        [](CallContext& ctx, const proto::remote_domain_create_xml_with_files_args& a)
            -> Result<proto::remote_domain_create_xml_with_files_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, containersFacet(ctx, "virDomainCreateXMLWithFiles"));
            std::vector<int> files = rawFds(ctx.fds);
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->createXmlWithFiles(a.xml_desc, files, a.flags));
            proto::remote_domain_create_xml_with_files_ret ret;
            ret.dom = toWire(ref);
            return ret;
        });
    d.addLxc<proto::LXC_PROC_DOMAIN_OPEN_NAMESPACE>(
        [](CallContext& ctx, const proto::lxc_domain_open_namespace_args& a) -> Result<xdr_void> {
            if (!ctx.session->passesDescriptors()) {
                return fail(ErrorCode::OperationInvalid,
                            "namespace descriptors can only be passed over a local unix socket", ErrorDomain::Rpc);
            }
            CORRAL_ASSIGN_OR_RETURN(auto* f, containersFacet(ctx, "virDomainLxcOpenNamespace"));
            CORRAL_ASSIGN_OR_RETURN(ctx.replyFds, f->openNamespaces(fromWire(a.dom), a.flags));
            return xdr_void{};
        });
}

}  // namespace corral::daemon
