// SPDX-License-Identifier: LGPL-2.1-or-later
// Dispatcher: program/procedure routing, the checks every call passes, error replies.
#include "daemon/dispatcher.hpp"

#include "daemon/access_check.hpp"

#include <cctype>

#include "rpc/generated/lxc_protocol.hpp"
#include "rpc/generated/qemu_protocol.hpp"
#include "util/logging.hpp"

namespace corral::daemon {

namespace proto = rpc::proto;

namespace {

/// The session's driver answers which name a UUID has (what its handlers act on).
DomainNameByUuid nameByUuid(CallContext& ctx) {
    return [&ctx](const Uuid& uuid) -> std::optional<std::string> {
        drivers::DomainLookup* lookup = ctx.driver().lookup();
        auto ref = lookup != nullptr ? lookup->lookupByUuid(uuid) : Result<drivers::DomainRef>(fail(ErrorCode::NoDomain, ""));
        return ref ? std::optional<std::string>(ref->name) : std::nullopt;
    };
}

}  // namespace


bool CallContext::readOnly() const {
    std::lock_guard lock(session->stateMutex());
    return session->readOnly;
}

Result<void> CallContext::denyReadOnly(std::string_view api) const {
    if (readOnly()) {
        return fail(ErrorCode::OperationDenied, "read only access prevents " + std::string(api),
                    ErrorDomain::Domain);
    }
    return {};
}

std::string apiNameOf(std::string_view procName) {
    // libvirt spells these acronyms in capitals inside its API names (virDomainGetXMLDesc).
    static const char* const kAcronyms[] = {"XML", "UUID", "ID", "OS", "URI", "CPU", "SASL", "MAC",
                                            "IO", "FS", "PCI", "USB", "TLS", "NUMA", "SEV", "LXC"};
    std::string out = "vir";
    std::size_t start = 0;
    while (start < procName.size()) {
        std::size_t end = procName.find('_', start);
        if (end == std::string_view::npos) {
            end = procName.size();
        }
        std::string word(procName.substr(start, end - start));
        bool acronym = false;
        for (const char* a : kAcronyms) {
            if (word == a) {
                acronym = true;
                break;
            }
        }
        if (!acronym) {
            for (std::size_t i = 1; i < word.size(); ++i) {
                word[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(word[i])));
            }
        }
        out += word;
        start = end + 1;
    }
    return out;
}

Dispatcher::Dispatcher(drivers::DriverRegistry& registry) : registry_(registry) {
    registerConnectHandlers(*this);
    registerHostHandlers(*this);
    registerDomainHandlers(*this);
    registerDeviceHandlers(*this);
    registerDomainOpsHandlers(*this);
    registerEventHandlers(*this);
    registerStatsHandlers(*this);
    registerNetworkHandlers(*this);
    registerSecretHandlers(*this);
    registerNodeDeviceHandlers(*this);
    registerInterfaceHandlers(*this);
    registerStorageHandlers(*this);
    registerPoolEventHandlers(*this);
    registerTuningHandlers(*this);
    registerAgentHandlers(*this);
    registerContainerHandlers(*this);
    registerAuthHandlers(*this);
}

bool Dispatcher::isHighPriority(const rpc::MessageHeader& header) const {
    if (header.prog != proto::REMOTE_PROGRAM) {
        return false;
    }
    const proto::ProcedureInfo* info = proto::findRemoteProcedure(header.proc);
    return info != nullptr && info->highPriority;
}

Result<std::vector<std::uint8_t>> Dispatcher::dispatchRemote(CallContext& ctx,
                                                             std::span<const std::uint8_t> payload) {
    const auto& h = ctx.header;
    const proto::ProcedureInfo* info = proto::findRemoteProcedure(h.proc);
    if (info == nullptr) {
        return fail(ErrorCode::Rpc, "unknown procedure: " + std::to_string(h.proc), ErrorDomain::Rpc);
    }
    bool authCall = h.proc == proto::REMOTE_PROC_AUTH_LIST || h.proc == proto::REMOTE_PROC_AUTH_SASL_INIT ||
                    h.proc == proto::REMOTE_PROC_AUTH_SASL_START || h.proc == proto::REMOTE_PROC_AUTH_SASL_STEP ||
                    h.proc == proto::REMOTE_PROC_AUTH_POLKIT;
    if (!authCall && !ctx.authenticated()) {
        // libvirtd's words and code: old clients do not know VIR_ERR_AUTH_FAILED here.
        return fail(ErrorCode::Rpc, "authentication required", ErrorDomain::Rpc);
    }
    bool opened = ctx.connectionOpened();
    // Only these may run before CONNECT_OPEN: virsh asks for keepalive support first.
    bool preOpen = h.proc == proto::REMOTE_PROC_CONNECT_OPEN ||
                   h.proc == proto::REMOTE_PROC_AUTH_LIST ||
                   h.proc == proto::REMOTE_PROC_CONNECT_SUPPORTS_FEATURE ||
                   h.proc == proto::REMOTE_PROC_AUTH_SASL_INIT ||
                   h.proc == proto::REMOTE_PROC_AUTH_SASL_START ||
                   h.proc == proto::REMOTE_PROC_AUTH_SASL_STEP ||
                   h.proc == proto::REMOTE_PROC_AUTH_POLKIT;
    if (!opened && !preOpen) {
        return fail(ErrorCode::InternalError, "hypervisor connection not open", ErrorDomain::Rpc);
    }
    if (!info->readonlyAllowed) {
        CORRAL_TRY(ctx.denyReadOnly(apiNameOf(info->name)));
    }
    if (opened) {
        // Before the driver is called: who may do what, on which domain (docs/access.md).
        auto decision = access_.check(identityOf(*ctx.session), h.proc,
                                      domainNameOfCall(*info, payload, nameByUuid(ctx)), flagsOfCall(*info, payload));
        if (!decision.allowed) {
            return decision.toError();
        }
    }
    auto handler = handlers_.find(h.proc);
    if (handler == handlers_.end()) {
        return fail(ErrorCode::NoSupport, apiNameOf(info->name), ErrorDomain::Rpc);
    }
    return handler->second(ctx, payload);
}

bool CallContext::authenticated() const {
    std::lock_guard lock(session->stateMutex());
    return session->authenticated;
}

bool CallContext::connectionOpened() const {
    std::lock_guard lock(session->stateMutex());
    return session->driver != nullptr;
}

Result<std::vector<std::uint8_t>> Dispatcher::dispatchProgram(CallContext& ctx, const proto::ProcedureInfo* info,
                                                              access::Program program, std::string_view driverWord,
                                                              const HandlerTable& handlers,
                                                              std::span<const std::uint8_t> payload) {
    if (info == nullptr) {
        return fail(ErrorCode::Rpc, "unknown procedure: " + std::to_string(ctx.header.proc), ErrorDomain::Rpc);
    }
    // These programs' APIs carry the driver's name: DOMAIN_OPEN_NAMESPACE is virDomainLxcOpenNamespace.
    std::string api = apiNameOf(info->name);
    if (api.rfind("virDomain", 0) == 0) {
        api.insert(9, driverWord);
    }
    auto handler = handlers.find(ctx.header.proc);
    if (handler == handlers.end()) {
        return fail(ErrorCode::NoSupport, api, ErrorDomain::Rpc);
    }
    if (!ctx.connectionOpened()) {
        return fail(ErrorCode::InternalError, "hypervisor connection not open", ErrorDomain::Rpc);
    }
    if (!info->readonlyAllowed) {
        CORRAL_TRY(ctx.denyReadOnly(api));
    }
    auto decision = access_.check(identityOf(*ctx.session), program, ctx.header.proc,
                                  domainNameOfCall(*info, payload, nameByUuid(ctx)), flagsOfCall(*info, payload));
    if (!decision.allowed) {
        return decision.toError();
    }
    return handler->second(ctx, payload);
}

void Dispatcher::handleCall(const std::shared_ptr<ClientSession>& session, rpc::Packet packet) {
    serve(session, packet, false);
}

bool Dispatcher::answerInline(const std::shared_ptr<ClientSession>& session, rpc::Packet& packet) {
    const rpc::MessageHeader& h = packet.header;
    if (h.prog != proto::REMOTE_PROGRAM || h.vers != proto::REMOTE_PROTOCOL_VERSION ||
        h.type != rpc::MessageType::Call || inline_.count(h.proc) == 0) {
        return false;
    }
    if (access_.needsNameLookups()) {
        return false;  // rules naming users or groups may wait on NSS (LDAP, sssd): not on the I/O thread
    }
    return serve(session, packet, true);
}

bool Dispatcher::serve(const std::shared_ptr<ClientSession>& session, rpc::Packet& packet, bool onIoThread) {
    const rpc::MessageHeader& h = packet.header;
    CallContext ctx{session, h, registry_};
    ctx.onIoThread = onIoThread;
    ctx.fds = std::move(packet.fds);
    Result<std::vector<std::uint8_t>> result = fail(ErrorCode::InternalError, "unhandled call");
    if (h.prog == proto::REMOTE_PROGRAM && h.vers == proto::REMOTE_PROTOCOL_VERSION) {
        result = dispatchRemote(ctx, packet.payload);
    } else if (h.prog == proto::LXC_PROGRAM && h.vers == proto::LXC_PROTOCOL_VERSION) {
        result = dispatchProgram(ctx, proto::findLxcProcedure(h.proc), access::Program::Lxc, "Lxc", lxcHandlers_, packet.payload);
    } else if (h.prog == proto::QEMU_PROGRAM && h.vers == proto::QEMU_PROTOCOL_VERSION) {
        result = dispatchProgram(ctx, proto::findQemuProcedure(h.proc), access::Program::Qemu, "Qemu", qemuHandlers_, packet.payload);
    } else {
        result = fail(ErrorCode::Rpc,
                      "Cannot find program " + std::to_string(h.prog) + " version " + std::to_string(h.vers),
                      ErrorDomain::Rpc);
    }
    ctx.fds.clear();  // descriptors a procedure did not take are closed, as libvirtd does
    if (ctx.deferToWorker) {
        return false;
    }

    if (!result) {
        logDebug("call " + std::to_string(h.proc) + " failed: " + result.error().wireMessage());
        auto errorReply = rpc::buildErrorReply(h, result.error());
        if (ctx.replyDelay.count() > 0 || ctx.closeAfterReply) {
            session->sendAt(std::move(errorReply), std::chrono::steady_clock::now() + ctx.replyDelay,
                            ctx.closeAfterReply);
        } else {
            session->send(std::move(errorReply));
        }
        return true;
    }
    rpc::MessageHeader reply = h;
    reply.status = rpc::MessageStatus::Ok;
    if (ctx.replyDelay.count() > 0) {
        // An authentication answer held back by the AuthGuard (no descriptors, no stream).
        reply.type = rpc::MessageType::Reply;
        session->sendAt(rpc::buildPacket(reply, std::span<const std::uint8_t>(*result)),
                        std::chrono::steady_clock::now() + ctx.replyDelay, ctx.closeAfterReply,
                        std::move(ctx.layerAfterReply), std::move(ctx.whenAnswered));
        return true;
    }
    if (ctx.whenAnswered) {
        ctx.whenAnswered();
    }
    if (ctx.layerAfterReply) {
        reply.type = rpc::MessageType::Reply;
        session->startSecurityLayer(std::move(ctx.layerAfterReply),
                                    rpc::buildPacket(reply, std::span<const std::uint8_t>(*result)));
    } else if (ctx.replyFds.empty()) {
        reply.type = rpc::MessageType::Reply;
        session->send(rpc::buildPacket(reply, std::span<const std::uint8_t>(*result)));
    } else {
        reply.type = rpc::MessageType::ReplyWithFds;
        auto withFds = rpc::buildPacketWithFds(reply, static_cast<std::uint32_t>(ctx.replyFds.size()),
                                               std::span<const std::uint8_t>(*result));
        session->send(std::move(withFds), std::move(ctx.replyFds));
    }
    if (ctx.afterReply) {
        ctx.afterReply();
    }
    return true;
}

}  // namespace corral::daemon
