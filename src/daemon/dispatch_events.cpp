// SPDX-License-Identifier: LGPL-2.1-or-later
// Domain event registration and delivery of lifecycle and reboot events to registered clients.
#include <atomic>

#include "daemon/dispatcher.hpp"
#include "daemon/wire_convert.hpp"

namespace corral::daemon {

namespace proto = rpc::proto;
using proto::xdr_void;

namespace {

// virDomainEventID: 0 (LIFECYCLE) ... 26 (MEMORY_DEVICE_SIZE_CHANGE) in libvirt 9.0.
constexpr int kEventIdReboot = 1;
constexpr int kEventIdLast = 26;

std::atomic<int> gNextCallbackId{1};

std::vector<std::uint8_t> eventPacket(std::int32_t proc, std::vector<std::uint8_t> body) {
    rpc::MessageHeader h{};
    h.prog = proto::REMOTE_PROGRAM;
    h.vers = proto::REMOTE_PROTOCOL_VERSION;
    h.proc = proc;
    h.type = rpc::MessageType::Message;
    h.serial = 1;  // libvirtd's value for events; clients ignore it
    h.status = rpc::MessageStatus::Ok;
    return rpc::buildPacket(h, std::span<const std::uint8_t>(body));
}

/// One event for one registration: the bare message for the old API (legacy procedure), or the
/// message wrapped with the callback id for the newer one.
template <class Wrapped, class Msg>
std::vector<std::uint8_t> eventFor(bool legacy, int callbackId, std::int32_t legacyProc, std::int32_t callbackProc,
                                   const Msg& msg) {
    if (legacy) {
        return eventPacket(legacyProc, proto::encodeToBytes(msg));
    }
    Wrapped wrapped;
    wrapped.callbackID = callbackId;
    wrapped.msg = msg;
    return eventPacket(callbackProc, proto::encodeToBytes(wrapped));
}

void deliver(ClientSession& session, const drivers::DomainLifecycleEvent& ev) {
    std::vector<std::vector<std::uint8_t>> packets;
    {
        std::lock_guard lock(session.eventMutex());
        for (const auto& [callbackId, cb] : session.eventCallbacks) {
            if (cb.eventId != ev.eventId || (cb.domain && *cb.domain != ev.dom.uuid)) {
                continue;
            }
            if (ev.eventId == kEventIdReboot) {
                proto::remote_domain_event_reboot_msg msg;
                msg.dom = toWire(ev.dom);
                packets.push_back(eventFor<proto::remote_domain_event_callback_reboot_msg>(
                    cb.legacy, callbackId, proto::REMOTE_PROC_DOMAIN_EVENT_REBOOT,
                    proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_REBOOT, msg));
                continue;
            }
            proto::remote_domain_event_lifecycle_msg msg;
            msg.dom = toWire(ev.dom);
            msg.event = static_cast<std::int32_t>(ev.event);
            msg.detail = ev.detail;
            packets.push_back(eventFor<proto::remote_domain_event_callback_lifecycle_msg>(
                cb.legacy, callbackId, proto::REMOTE_PROC_DOMAIN_EVENT_LIFECYCLE,
                proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE, msg));
        }
    }
    for (auto& p : packets) {
        session.send(std::move(p));
    }
}

Result<void> checkEventId(int eventId) {
    if (eventId < 0 || eventId > kEventIdLast) {
        return fail(ErrorCode::InvalidArg, "unsupported event ID " + std::to_string(eventId),
                    ErrorDomain::Domain);
    }
    return {};
}

}  // namespace

void Dispatcher::subscribeEvents(const std::shared_ptr<ClientSession>& session) {
    std::lock_guard lock(session->subscriptionMutex());
    if (session->eventSinkId != 0) {
        return;
    }
    drivers::HypervisorDriver* driver = nullptr;
    {
        std::lock_guard state(session->stateMutex());
        driver = session->driver;
    }
    std::weak_ptr<ClientSession> weak = session;
    session->eventDriver = driver;
    session->eventSinkId = driver->addEventSink([weak](const drivers::DomainLifecycleEvent& ev) {
        if (auto s = weak.lock()) {
            deliver(*s, ev);
        }
    });
    // The client may have gone while this registration ran; clientClosed() has then already
    // looked for a subscription and found none, so drop it here.
    if (session->closed()) {
        driver->removeEventSink(session->eventSinkId);
        session->eventSinkId = 0;
    }
}

void Dispatcher::clientClosed(ClientSession& session) {
    std::lock_guard lock(session.subscriptionMutex());
    if (session.eventSinkId != 0 && session.eventDriver != nullptr) {
        session.eventDriver->removeEventSink(session.eventSinkId);
        session.eventSinkId = 0;
    }
}

void registerEventHandlers(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY>(
        [&d](CallContext& ctx, const proto::remote_connect_domain_event_callback_register_any_args& a)
            -> Result<proto::remote_connect_domain_event_callback_register_any_ret> {
            CORRAL_TRY(checkEventId(a.eventID));
            EventCallback cb;
            cb.eventId = a.eventID;
            if (a.dom) {
                drivers::DomainRef ref = fromWire(*a.dom);
                cb.domain = ref.uuid;
            }
            int id = gNextCallbackId++;
            {
                std::lock_guard lock(ctx.session->eventMutex());
                ctx.session->eventCallbacks.emplace(id, cb);
            }
            d.subscribeEvents(ctx.session);
            proto::remote_connect_domain_event_callback_register_any_ret ret{};
            ret.callbackID = id;
            return ret;
        });

    d.add<proto::REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY>(
        [](CallContext& ctx, const proto::remote_connect_domain_event_callback_deregister_any_args& a)
            -> Result<xdr_void> {
            std::lock_guard lock(ctx.session->eventMutex());
            if (ctx.session->eventCallbacks.erase(a.callbackID) == 0) {
                return fail(ErrorCode::InvalidArg,
                            "domain event callback " + std::to_string(a.callbackID) + " not registered",
                            ErrorDomain::Rpc);
            }
            return xdr_void{};
        });

    // Clients that were told feature 14 is missing use these instead (no callback IDs).
    d.add<proto::REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY>(
        [&d](CallContext& ctx, const proto::remote_connect_domain_event_register_any_args& a)
            -> Result<xdr_void> {
            CORRAL_TRY(checkEventId(a.eventID));
            {
                std::lock_guard lock(ctx.session->eventMutex());
                for (const auto& [id, cb] : ctx.session->eventCallbacks) {
                    if (cb.legacy && cb.eventId == a.eventID) {
                        return fail(ErrorCode::InternalError,
                                    "domain event " + std::to_string(a.eventID) + " already registered",
                                    ErrorDomain::Rpc);
                    }
                }
                EventCallback cb;
                cb.eventId = a.eventID;
                cb.legacy = true;
                ctx.session->eventCallbacks.emplace(gNextCallbackId++, cb);
            }
            d.subscribeEvents(ctx.session);
            return xdr_void{};
        });

    d.add<proto::REMOTE_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY>(
        [](CallContext& ctx, const proto::remote_connect_domain_event_deregister_any_args& a)
            -> Result<xdr_void> {
            std::lock_guard lock(ctx.session->eventMutex());
            for (auto it = ctx.session->eventCallbacks.begin(); it != ctx.session->eventCallbacks.end(); ++it) {
                if (it->second.legacy && it->second.eventId == a.eventID) {
                    ctx.session->eventCallbacks.erase(it);
                    return xdr_void{};
                }
            }
            return fail(ErrorCode::InternalError,
                        "domain event " + std::to_string(a.eventID) + " not registered", ErrorDomain::Rpc);
        });
}

}  // namespace corral::daemon
