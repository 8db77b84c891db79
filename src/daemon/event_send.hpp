// SPDX-License-Identifier: LGPL-2.1-or-later
// Queuing event packets for a client, shared by domain and storage pool events.
#pragma once

#include <cstdint>
#include <vector>

#include "daemon/client_session.hpp"

namespace corral::daemon {

/// Queues event packets for `session`; a client that lets too many wait is closed (libvirt's
/// answer: the protocol cannot say that events were lost). Defined in dispatch_events.cpp.
void sendEventPackets(ClientSession& session, std::vector<std::vector<std::uint8_t>> packets);

}  // namespace corral::daemon
