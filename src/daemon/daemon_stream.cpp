// SPDX-License-Identifier: LGPL-2.1-or-later
// What every daemon stream sends the same way.
#include "daemon/daemon_stream.hpp"

#include "rpc/generated/netmessage_protocol.hpp"

namespace corral::daemon {

std::vector<std::uint8_t> buildStreamError(const rpc::MessageHeader& stream, const Error& err) {
    rpc::MessageHeader h = stream;
    h.type = rpc::MessageType::Stream;
    h.status = rpc::MessageStatus::Error;
    rpc::proto::remote_error wire{};
    wire.code = static_cast<std::int32_t>(err.code);
    wire.domain = static_cast<std::int32_t>(err.domain);
    wire.message = err.wireMessage();
    wire.level = 2;  // VIR_ERR_ERROR
    return rpc::buildPacket(h, wire);
}

}  // namespace corral::daemon
