// SPDX-License-Identifier: LGPL-2.1-or-later
// Connection-level procedures: authentication list, features, open/close, host facts.
#include <cstring>

#include "daemon/dispatcher.hpp"
#include "daemon/wire_convert.hpp"
#include "host/node_info.hpp"

namespace corral::daemon {

namespace proto = rpc::proto;

namespace {

// Feature numbers from libvirt's libvirt_internal.h (virDrvFeature).
constexpr int kFeatureRemote = 2;
constexpr int kFeatureFdPassing = 8;
constexpr int kFeatureTypedParamString = 9;
constexpr int kFeatureProgramKeepalive = 10;
constexpr int kFeatureRemoteEventCallback = 14;
constexpr int kFeatureRemoteCloseCallback = 15;
constexpr int kFeatureNetworkUpdateHasCorrectOrder = 16;  // virNetworkUpdate takes command, then section

// libvirt 9.0.0 as major*1000000 + minor*1000 + micro: the API level we implement.
constexpr std::uint64_t kLibVersion = 9000000;

constexpr std::int32_t kRemoteAuthNone = 0;

}  // namespace

void registerConnectHandlers(Dispatcher& d) {
    using proto::xdr_void;

    d.add<proto::REMOTE_PROC_AUTH_LIST>([](CallContext& ctx, const xdr_void&)
                                            -> Result<proto::remote_auth_list_ret> {
        // One type, the listener's, as libvirtd answers: unix sockets and TLS certificates
        // authenticate by themselves (none); SASL when the listener asks for it.
        proto::remote_auth_list_ret ret;
        std::lock_guard lock(ctx.session->stateMutex());
        bool sasl = ctx.session->authScheme == AuthScheme::Sasl && !ctx.session->authenticated;
        ret.types.push_back(static_cast<proto::remote_auth_type>(sasl ? proto::REMOTE_AUTH_SASL : kRemoteAuthNone));
        return ret;
    });

    d.add<proto::REMOTE_PROC_CONNECT_SUPPORTS_FEATURE>(
        [](CallContext& ctx, const proto::remote_connect_supports_feature_args& args)
            -> Result<proto::remote_connect_supports_feature_ret> {
            proto::remote_connect_supports_feature_ret ret{};
            switch (args.feature) {
                case kFeatureProgramKeepalive:
                    // Asking is what opts a client in to server-side pings (libvirt's rule).
                    ctx.session->keepaliveEnabled = true;
                    ret.supported = 1;
                    break;
                case kFeatureRemote:
                case kFeatureFdPassing:
                case kFeatureTypedParamString:
                case kFeatureRemoteEventCallback:
                case kFeatureRemoteCloseCallback:
                case kFeatureNetworkUpdateHasCorrectOrder:
                    ret.supported = 1;
                    break;
                default:
                    ret.supported = 0;
                    break;
            }
            return ret;
        });

    d.add<proto::REMOTE_PROC_CONNECT_OPEN>(
        [](CallContext& ctx, const proto::remote_connect_open_args& args) -> Result<xdr_void> {
            std::string name = args.name.value_or("");
            drivers::HypervisorDriver* driver = nullptr;
            if (name.empty()) {
                driver = ctx.registry.defaultDriver();
            } else {
                CORRAL_ASSIGN_OR_RETURN(driver, ctx.registry.driverForUri(name));
            }
            std::lock_guard lock(ctx.session->stateMutex());
            if (ctx.session->driver != nullptr) {
                return fail(ErrorCode::InternalError, "connection already open", ErrorDomain::Rpc);
            }
            ctx.session->driver = driver;
            ctx.session->driverHold = driver->holdConnection();
            // Bit 0 of the open flags is VIR_CONNECT_RO; the -ro socket forces it regardless.
            if ((args.flags & 1u) != 0) {
                ctx.session->readOnly = true;
            }
            return xdr_void{};
        });

    d.add<proto::REMOTE_PROC_CONNECT_CLOSE>([](CallContext&, const xdr_void&) -> Result<xdr_void> {
        // The client closes the socket next; teardown happens when the I/O thread sees EOF.
        return xdr_void{};
    });

    d.add<proto::REMOTE_PROC_CONNECT_GET_TYPE>(
        [](CallContext& ctx, const xdr_void&) -> Result<proto::remote_connect_get_type_ret> {
            proto::remote_connect_get_type_ret ret;
            ret.type = ctx.driver().host()->type();
            return ret;
        });

    d.add<proto::REMOTE_PROC_CONNECT_GET_VERSION>(
        [](CallContext& ctx, const xdr_void&) -> Result<proto::remote_connect_get_version_ret> {
            proto::remote_connect_get_version_ret ret{};
            ret.hv_ver = ctx.driver().host()->version();
            return ret;
        });

    d.addInline<proto::REMOTE_PROC_CONNECT_GET_LIB_VERSION>(
        [](CallContext&, const xdr_void&) -> Result<proto::remote_connect_get_lib_version_ret> {
            proto::remote_connect_get_lib_version_ret ret{};
            ret.lib_ver = kLibVersion;
            return ret;
        });

    d.add<proto::REMOTE_PROC_CONNECT_GET_HOSTNAME>(
        [](CallContext&, const xdr_void&) -> Result<proto::remote_connect_get_hostname_ret> {
            CORRAL_ASSIGN_OR_RETURN(std::string hostname, host::readHostname());
            proto::remote_connect_get_hostname_ret ret;
            ret.hostname = hostname;
            return ret;
        });

    d.add<proto::REMOTE_PROC_CONNECT_GET_URI>(
        [](CallContext& ctx, const xdr_void&) -> Result<proto::remote_connect_get_uri_ret> {
            proto::remote_connect_get_uri_ret ret;
            ret.uri = ctx.driver().host()->uri();
            return ret;
        });

    d.add<proto::REMOTE_PROC_CONNECT_GET_CAPABILITIES>(
        [](CallContext& ctx, const xdr_void&) -> Result<proto::remote_connect_get_capabilities_ret> {
            CORRAL_ASSIGN_OR_RETURN(std::string caps, ctx.driver().host()->capabilitiesXml());
            proto::remote_connect_get_capabilities_ret ret;
            ret.capabilities = caps;
            return ret;
        });

    d.add<proto::REMOTE_PROC_CONNECT_GET_MAX_VCPUS>(
        [](CallContext& ctx, const proto::remote_connect_get_max_vcpus_args& args)
            -> Result<proto::remote_connect_get_max_vcpus_ret> {
            CORRAL_ASSIGN_OR_RETURN(int max, ctx.driver().host()->maxVcpus(args.type.value_or("")));
            proto::remote_connect_get_max_vcpus_ret ret{};
            ret.max_vcpus = max;
            return ret;
        });

    d.add<proto::REMOTE_PROC_CONNECT_IS_SECURE>(
        [](CallContext&, const xdr_void&) -> Result<proto::remote_connect_is_secure_ret> {
            proto::remote_connect_is_secure_ret ret{};
            ret.secure = 1;  // unix sockets cannot be sniffed from the network
            return ret;
        });

    d.add<proto::REMOTE_PROC_NODE_GET_INFO>(
        [](CallContext& ctx, const xdr_void&) -> Result<proto::remote_node_get_info_ret> {
            CORRAL_ASSIGN_OR_RETURN(drivers::NodeInfo info, ctx.driver().host()->nodeInfo());
            proto::remote_node_get_info_ret ret{};
            std::size_t n = std::min(info.model.size(), ret.model.size() - 1);
            std::memcpy(ret.model.data(), info.model.data(), n);
            ret.memory = info.memoryKiB;
            ret.cpus = static_cast<std::int32_t>(info.cpus);
            ret.mhz = static_cast<std::int32_t>(info.mhz);
            ret.nodes = static_cast<std::int32_t>(info.nodes);
            ret.sockets = static_cast<std::int32_t>(info.sockets);
            ret.cores = static_cast<std::int32_t>(info.cores);
            ret.threads = static_cast<std::int32_t>(info.threads);
            return ret;
        });

    d.add<proto::REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK>(
        [](CallContext& ctx, const xdr_void&) -> Result<xdr_void> {
            std::lock_guard lock(ctx.session->stateMutex());
            ctx.session->closeCallbackRegistered = true;
            return xdr_void{};
        });

    d.add<proto::REMOTE_PROC_CONNECT_UNREGISTER_CLOSE_CALLBACK>(
        [](CallContext& ctx, const xdr_void&) -> Result<xdr_void> {
            std::lock_guard lock(ctx.session->stateMutex());
            ctx.session->closeCallbackRegistered = false;
            return xdr_void{};
        });
}

}  // namespace corral::daemon
