// SPDX-License-Identifier: LGPL-2.1-or-later
// Fuzzes the packet assembler and the XDR decoders of every argument type the daemon decodes.
#include <cstddef>
#include <cstdint>
#include <span>

#include "rpc/generated/netmessage_protocol.hpp"
#include "rpc/generated/remote_protocol.hpp"
#include "rpc/packet.hpp"

using namespace corral::rpc;
using namespace corral::rpc::proto;

namespace {
template <class T>
void tryDecode(std::span<const std::uint8_t> bytes) {
    T value{};
    if (decodeFromBytes(bytes, value)) {
        // A decoded value must encode back to the same bytes (XDR is canonical except padding).
        auto again = encodeToBytes(value);
        T second{};
        if (!decodeFromBytes(again, second)) {
            __builtin_trap();
        }
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> bytes(data, size);
    PacketAssembler assembler;
    if (assembler.feed(bytes)) {
        while (auto p = assembler.next()) {
            (void)p;
        }
    }
    tryDecode<remote_connect_open_args>(bytes);
    tryDecode<remote_domain_lookup_by_name_args>(bytes);
    tryDecode<remote_domain_define_xml_flags_args>(bytes);
    tryDecode<remote_connect_list_all_domains_ret>(bytes);
    tryDecode<remote_domain_get_info_ret>(bytes);
    tryDecode<remote_node_get_info_ret>(bytes);
    tryDecode<remote_node_get_security_model_ret>(bytes);
    tryDecode<remote_domain_set_memory_parameters_args>(bytes);
    tryDecode<remote_connect_domain_event_callback_register_any_args>(bytes);
    tryDecode<remote_domain_event_callback_lifecycle_msg>(bytes);
    tryDecode<remote_auth_sasl_start_args>(bytes);
    tryDecode<remote_error>(bytes);
    return 0;
}
