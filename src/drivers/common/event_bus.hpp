// SPDX-License-Identifier: LGPL-2.1-or-later
// EventBus: fans a driver's domain events out to its subscribers, in emission order.
#pragma once

#include <map>
#include <mutex>

#include "drivers/interfaces/hypervisor.hpp"

namespace corral::drivers {

class EventBus {
public:
    int subscribe(DomainEventSink sink);
    void unsubscribe(int id);
    /// Delivers to every subscriber, serialised so that all subscribers see one order.
    void emit(const DomainEvent& event);

private:
    std::mutex mutex_;
    std::map<int, DomainEventSink> sinks_;
    int nextId_ = 1;
};

}  // namespace corral::drivers
