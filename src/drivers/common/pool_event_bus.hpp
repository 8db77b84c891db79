// SPDX-License-Identifier: LGPL-2.1-or-later
// PoolEventBus: fans a storage driver's pool events out to its subscribers, in emission order
// (the storage twin of EventBus, which carries domain events).
#pragma once

#include <map>
#include <mutex>

#include "drivers/interfaces/storage.hpp"

namespace corral::drivers {

class PoolEventBus {
public:
    int subscribe(StoragePoolEventSink sink) {
        std::lock_guard lock(mutex_);
        const int id = nextId_++;
        sinks_.emplace(id, std::move(sink));
        return id;
    }
    void unsubscribe(int id) {
        std::lock_guard lock(mutex_);
        sinks_.erase(id);
    }
    void emit(const StoragePoolRef& pool, int eventId, int event = 0) {
        StoragePoolEvent ev{pool, eventId, event, 0};
        std::lock_guard lock(mutex_);  // sinks only enqueue: one lock keeps one global order
        for (auto& [id, sink] : sinks_) {
            sink(ev);
        }
    }
    void lifecycle(const StoragePoolRef& pool, int event) { emit(pool, storage_pool_event::kIdLifecycle, event); }
    void refresh(const StoragePoolRef& pool) { emit(pool, storage_pool_event::kIdRefresh); }

private:
    std::mutex mutex_;
    std::map<int, StoragePoolEventSink> sinks_;
    int nextId_ = 1;
};

}  // namespace corral::drivers
