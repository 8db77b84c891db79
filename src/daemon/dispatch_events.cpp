// SPDX-License-Identifier: LGPL-2.1-or-later
// Domain event registration, and delivery of every event a driver raises to the clients that
// registered for it, in the form each asked for (legacy or with a callback id).
#include <atomic>

#include "daemon/dispatcher.hpp"
#include "daemon/event_send.hpp"
#include "daemon/wire_convert.hpp"
#include "drivers/interfaces/storage.hpp"
#include "util/logging.hpp"

namespace corral::daemon {

namespace proto = rpc::proto;
using proto::xdr_void;

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

void sendEventPackets(ClientSession& session, std::vector<std::vector<std::uint8_t>> packets) {
    for (auto& p : packets) {
        if (!session.sendEvent(std::move(p), session.maxQueuedEvents)) {
            logWarning("client " + std::to_string(session.id()) + " (" + session.peer().address +
                       ") does not read its events: more than " + std::to_string(session.maxQueuedEvents / 1024) +
                       " KiB of them wait; closing the connection");
            session.markClosed();
            return;
        }
    }
}

namespace {

namespace event_id = drivers::event_id;

std::atomic<int> gNextCallbackId{1};

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

proto::remote_domain_event_graphics_address graphicsAddressToWire(const drivers::GraphicsAddress& a) {
    proto::remote_domain_event_graphics_address w;
    w.family = a.family;
    w.node = a.node;
    w.service = a.service;
    return w;
}

template <class Wrapped>
std::vector<std::uint8_t> paramsEvent(int callbackId, std::int32_t proc, const drivers::DomainEvent& ev) {
    Wrapped msg;
    msg.callbackID = callbackId;
    msg.dom = toWire(ev.dom);
    for (const auto& p : ev.params) {
        msg.params.push_back(toWire(p));
    }
    return eventPacket(proc, proto::encodeToBytes(msg));
}

/// The packet that tells a registration for `wanted` about `ev`: in the legacy form or with the
/// callback id. Events that exist only with callback ids (tunable, job-completed,
/// metadata-change) have no legacy form; nothing is sent for those.
std::optional<std::vector<std::uint8_t>> encodeEvent(const drivers::DomainEvent& ev, int wanted, bool legacy,
                                                     int callbackId) {
    switch (wanted) {
        case event_id::kLifecycle: {
            proto::remote_domain_event_lifecycle_msg msg;
            msg.dom = toWire(ev.dom);
            msg.event = static_cast<std::int32_t>(ev.event);
            msg.detail = ev.detail;
            return eventFor<proto::remote_domain_event_callback_lifecycle_msg>(
                legacy, callbackId, proto::REMOTE_PROC_DOMAIN_EVENT_LIFECYCLE,
                proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE, msg);
        }
        case event_id::kReboot: {
            proto::remote_domain_event_reboot_msg msg;
            msg.dom = toWire(ev.dom);
            return eventFor<proto::remote_domain_event_callback_reboot_msg>(
                legacy, callbackId, proto::REMOTE_PROC_DOMAIN_EVENT_REBOOT,
                proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_REBOOT, msg);
        }
        case event_id::kRtcChange: {
            proto::remote_domain_event_rtc_change_msg msg;
            msg.dom = toWire(ev.dom);
            msg.offset = ev.number;
            return eventFor<proto::remote_domain_event_callback_rtc_change_msg>(
                legacy, callbackId, proto::REMOTE_PROC_DOMAIN_EVENT_RTC_CHANGE,
                proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_RTC_CHANGE, msg);
        }
        case event_id::kWatchdog: {
            proto::remote_domain_event_watchdog_msg msg;
            msg.dom = toWire(ev.dom);
            msg.action = ev.detail;
            return eventFor<proto::remote_domain_event_callback_watchdog_msg>(
                legacy, callbackId, proto::REMOTE_PROC_DOMAIN_EVENT_WATCHDOG,
                proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_WATCHDOG, msg);
        }
        case event_id::kIoError: {
            proto::remote_domain_event_io_error_msg msg;
            msg.dom = toWire(ev.dom);
            msg.srcPath = ev.srcPath;
            msg.devAlias = ev.devAlias;
            msg.action = ev.detail;
            return eventFor<proto::remote_domain_event_callback_io_error_msg>(
                legacy, callbackId, proto::REMOTE_PROC_DOMAIN_EVENT_IO_ERROR,
                proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_IO_ERROR, msg);
        }
        case event_id::kIoErrorReason: {
            proto::remote_domain_event_io_error_reason_msg msg;
            msg.dom = toWire(ev.dom);
            msg.srcPath = ev.srcPath;
            msg.devAlias = ev.devAlias;
            msg.action = ev.detail;
            msg.reason = ev.reason;
            return eventFor<proto::remote_domain_event_callback_io_error_reason_msg>(
                legacy, callbackId, proto::REMOTE_PROC_DOMAIN_EVENT_IO_ERROR_REASON,
                proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON, msg);
        }
        case event_id::kGraphics: {
            proto::remote_domain_event_graphics_msg msg;
            msg.dom = toWire(ev.dom);
            msg.phase = ev.detail;
            msg.local = graphicsAddressToWire(ev.local);
            msg.remote = graphicsAddressToWire(ev.remote);
            msg.authScheme = ev.authScheme;
            for (const auto& [type, name] : ev.subject) {
                proto::remote_domain_event_graphics_identity id;
                id.type = type;
                id.name = name;
                msg.subject.push_back(std::move(id));
            }
            return eventFor<proto::remote_domain_event_callback_graphics_msg>(
                legacy, callbackId, proto::REMOTE_PROC_DOMAIN_EVENT_GRAPHICS,
                proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_GRAPHICS, msg);
        }
        case event_id::kControlError: {
            proto::remote_domain_event_control_error_msg msg;
            msg.dom = toWire(ev.dom);
            return eventFor<proto::remote_domain_event_callback_control_error_msg>(
                legacy, callbackId, proto::REMOTE_PROC_DOMAIN_EVENT_CONTROL_ERROR,
                proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_CONTROL_ERROR, msg);
        }
        case event_id::kBalloonChange: {
            proto::remote_domain_event_balloon_change_msg msg;
            msg.dom = toWire(ev.dom);
            msg.actual = static_cast<std::uint64_t>(ev.number);
            return eventFor<proto::remote_domain_event_callback_balloon_change_msg>(
                legacy, callbackId, proto::REMOTE_PROC_DOMAIN_EVENT_BALLOON_CHANGE,
                proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE, msg);
        }
        case event_id::kPmWakeup:
        case event_id::kPmSuspend: {
            const bool wakeup = ev.eventId == event_id::kPmWakeup;
            if (legacy) {
                proto::remote_domain_event_pmwakeup_msg msg;  // the same shape as pmsuspend's
                msg.dom = toWire(ev.dom);
                return eventPacket(wakeup ? proto::REMOTE_PROC_DOMAIN_EVENT_PMWAKEUP : proto::REMOTE_PROC_DOMAIN_EVENT_PMSUSPEND,
                                   proto::encodeToBytes(msg));
            }
            proto::remote_domain_event_callback_pmwakeup_msg msg;
            msg.callbackID = callbackId;
            msg.reason = 0;  // libvirt defines no reasons
            msg.msg.dom = toWire(ev.dom);
            return eventPacket(wakeup ? proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_PMWAKEUP
                                      : proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_PMSUSPEND,
                               proto::encodeToBytes(msg));
        }
        case event_id::kDeviceRemoved: {
            proto::remote_domain_event_device_removed_msg msg;
            msg.dom = toWire(ev.dom);
            msg.devAlias = ev.devAlias;
            return eventFor<proto::remote_domain_event_callback_device_removed_msg>(
                legacy, callbackId, proto::REMOTE_PROC_DOMAIN_EVENT_DEVICE_REMOVED,
                proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED, msg);
        }
        case event_id::kDeviceAdded: {
            if (legacy) {
                return std::nullopt;
            }
            proto::remote_domain_event_callback_device_added_msg msg;
            msg.callbackID = callbackId;
            msg.dom = toWire(ev.dom);
            msg.devAlias = ev.devAlias;
            return eventPacket(proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_DEVICE_ADDED, proto::encodeToBytes(msg));
        }
        case event_id::kTunable:
            if (legacy) {
                return std::nullopt;
            }
            return paramsEvent<proto::remote_domain_event_callback_tunable_msg>(
                callbackId, proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_TUNABLE, ev);
        case event_id::kJobCompleted:
            if (legacy) {
                return std::nullopt;
            }
            return paramsEvent<proto::remote_domain_event_callback_job_completed_msg>(
                callbackId, proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_JOB_COMPLETED, ev);
        case event_id::kAgentLifecycle: {
            if (legacy) {
                return std::nullopt;
            }
            proto::remote_domain_event_callback_agent_lifecycle_msg msg;
            msg.callbackID = callbackId;
            msg.dom = toWire(ev.dom);
            msg.state = ev.detail;
            msg.reason = static_cast<int>(ev.number);
            return eventPacket(proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_AGENT_LIFECYCLE, proto::encodeToBytes(msg));
        }
        case event_id::kMetadataChange: {
            if (legacy) {
                return std::nullopt;
            }
            proto::remote_domain_event_callback_metadata_change_msg msg;
            msg.callbackID = callbackId;
            msg.dom = toWire(ev.dom);
            msg.type = ev.detail;
            if (!ev.reason.empty()) {
                msg.nsuri = ev.reason;
            }
            return eventPacket(proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_METADATA_CHANGE, proto::encodeToBytes(msg));
        }
        default:
            return std::nullopt;
    }
}

/// Whether a registration for `wanted` hears `ev`: an I/O error is raised once, with its reason,
/// and reaches both the io-error and the io-error-reason registrations.
bool hears(int wanted, const drivers::DomainEvent& ev) {
    return wanted == ev.eventId || (wanted == event_id::kIoError && ev.eventId == event_id::kIoErrorReason);
}

void deliver(ClientSession& session, const drivers::DomainEvent& ev) {
    std::vector<std::vector<std::uint8_t>> packets;
    {
        std::lock_guard lock(session.eventMutex());
        for (const auto& [callbackId, cb] : session.eventCallbacks) {
            if (!hears(cb.eventId, ev) || (cb.domain && *cb.domain != ev.dom.uuid)) {
                continue;
            }
            if (auto packet = encodeEvent(ev, cb.eventId, cb.legacy, callbackId)) {
                packets.push_back(std::move(*packet));
            }
        }
    }
    sendEventPackets(session, std::move(packets));
}

Result<void> checkEventId(int eventId) {
    if (eventId < 0 || eventId > event_id::kLast) {
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
    session->eventSinkId = driver->addEventSink([weak](const drivers::DomainEvent& ev) {
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
    if (session.poolEventSinkId != 0 && session.poolEventSource != nullptr) {
        session.poolEventSource->removePoolEventSink(session.poolEventSinkId);
        session.poolEventSinkId = 0;
        session.poolEventSource = nullptr;
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
