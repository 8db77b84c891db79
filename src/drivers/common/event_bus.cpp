// SPDX-License-Identifier: LGPL-2.1-or-later
// EventBus implementation.
#include "drivers/common/event_bus.hpp"

namespace corral::drivers {

int EventBus::subscribe(DomainEventSink sink) {
    std::lock_guard lock(mutex_);
    int id = nextId_++;
    sinks_.emplace(id, std::move(sink));
    return id;
}

void EventBus::unsubscribe(int id) {
    std::lock_guard lock(mutex_);
    sinks_.erase(id);
}

void EventBus::emit(const DomainEvent& event) {
    // Sinks only enqueue (they must not block), so holding the lock keeps one global order.
    std::lock_guard lock(mutex_);
    for (auto& [id, sink] : sinks_) {
        sink(event);
    }
}

}  // namespace corral::drivers
