// SPDX-License-Identifier: LGPL-2.1-or-later
// Storage pool events (virConnectStoragePoolEventRegisterAny, virsh pool-event): registrations
// with callback ids, and delivery of the lifecycle and refresh events the connection's storage
// driver raises. Read-only clients get them too, as libvirt's.
#include <atomic>

#include "daemon/client_session.hpp"
#include "daemon/dispatcher.hpp"
#include "daemon/event_send.hpp"
#include "daemon/wire_convert.hpp"
#include "drivers/interfaces/storage.hpp"

namespace corral::daemon {

namespace proto = rpc::proto;
using proto::xdr_void;

namespace {

namespace pool_event = drivers::storage_pool_event;

std::atomic<int> gNextPoolCallbackId{1};

proto::remote_nonnull_storage_pool poolToWire(const drivers::StoragePoolRef& ref) {
    proto::remote_nonnull_storage_pool p;
    p.name = ref.name;
    p.uuid = ref.uuid.bytes;
    return p;
}

std::vector<std::uint8_t> encodePoolEvent(const drivers::StoragePoolEvent& ev, int callbackId) {
    if (ev.eventId == pool_event::kIdRefresh) {
        proto::remote_storage_pool_event_refresh_msg msg;
        msg.callbackID = callbackId;
        msg.pool = poolToWire(ev.pool);
        return eventPacket(proto::REMOTE_PROC_STORAGE_POOL_EVENT_REFRESH, proto::encodeToBytes(msg));
    }
    proto::remote_storage_pool_event_lifecycle_msg msg;
    msg.callbackID = callbackId;
    msg.pool = poolToWire(ev.pool);
    msg.event = ev.event;
    msg.detail = ev.detail;
    return eventPacket(proto::REMOTE_PROC_STORAGE_POOL_EVENT_LIFECYCLE, proto::encodeToBytes(msg));
}

void deliverPoolEvent(ClientSession& session, const drivers::StoragePoolEvent& ev) {
    std::vector<std::vector<std::uint8_t>> packets;
    {
        std::lock_guard lock(session.eventMutex());
        for (const auto& [callbackId, cb] : session.poolEventCallbacks) {
            if (cb.eventId == ev.eventId && (!cb.pool || *cb.pool == ev.pool.uuid)) {
                packets.push_back(encodePoolEvent(ev, callbackId));
            }
        }
    }
    sendEventPackets(session, std::move(packets));
}

}  // namespace

Result<void> Dispatcher::subscribePoolEvents(const std::shared_ptr<ClientSession>& session,
                                             drivers::StorageFacet& storage) {
    std::lock_guard lock(session->subscriptionMutex());
    if (session->poolEventSinkId != 0) {
        return {};
    }
    std::weak_ptr<ClientSession> weak = session;
    const int id = storage.addPoolEventSink([weak](const drivers::StoragePoolEvent& ev) {
        if (auto s = weak.lock()) {
            deliverPoolEvent(*s, ev);
        }
    });
    if (id == 0) {
        return fail(ErrorCode::NoSupport, "this connection's storage driver raises no storage pool events",
                    ErrorDomain::Storage);
    }
    session->poolEventSource = &storage;
    session->poolEventSinkId = id;
    // The client may have gone while this ran; clientClosed() found no subscription then.
    if (session->closed()) {
        storage.removePoolEventSink(id);
        session->poolEventSinkId = 0;
        session->poolEventSource = nullptr;
    }
    return {};
}

void registerPoolEventHandlers(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY>(
        [&d](CallContext& ctx, const proto::remote_connect_storage_pool_event_register_any_args& a)
            -> Result<proto::remote_connect_storage_pool_event_register_any_ret> {
            if (a.eventID < 0 || a.eventID > pool_event::kIdLast) {
                return fail(ErrorCode::InvalidArg, "unsupported storage pool event ID " + std::to_string(a.eventID),
                            ErrorDomain::Storage);
            }
            CORRAL_ASSIGN_OR_RETURN(drivers::StorageFacet * storage,
                                    requireFacet(ctx.driver().storage(), "virConnectStoragePoolEventRegisterAny"));
            PoolEventCallback cb;
            cb.eventId = a.eventID;
            if (a.pool) {
                Uuid uuid;
                uuid.bytes = a.pool->uuid;
                cb.pool = uuid;
            }
            CORRAL_TRY(d.subscribePoolEvents(ctx.session, *storage));
            const int id = gNextPoolCallbackId++;
            {
                std::lock_guard lock(ctx.session->eventMutex());
                ctx.session->poolEventCallbacks.emplace(id, cb);
            }
            proto::remote_connect_storage_pool_event_register_any_ret ret{};
            ret.callbackID = id;
            return ret;
        });

    d.add<proto::REMOTE_PROC_CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY>(
        [](CallContext& ctx, const proto::remote_connect_storage_pool_event_deregister_any_args& a)
            -> Result<xdr_void> {
            std::lock_guard lock(ctx.session->eventMutex());
            if (ctx.session->poolEventCallbacks.erase(a.callbackID) == 0) {
                return fail(ErrorCode::InvalidArg,
                            "storage pool event callback " + std::to_string(a.callbackID) + " not registered",
                            ErrorDomain::Rpc);
            }
            return xdr_void{};
        });
}

}  // namespace corral::daemon
