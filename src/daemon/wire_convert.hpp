// SPDX-License-Identifier: LGPL-2.1-or-later
// Conversions between driver types and their wire structs, and the facet lookup that turns a
// missing facet into VIR_ERR_NO_SUPPORT.
#pragma once

#include <string>

#include "drivers/interfaces/hypervisor.hpp"
#include "drivers/interfaces/network.hpp"
#include "rpc/generated/remote_protocol.hpp"
#include "util/result.hpp"

namespace corral::daemon {

inline rpc::proto::remote_nonnull_domain toWire(const drivers::DomainRef& ref) {
    rpc::proto::remote_nonnull_domain d;
    d.name = ref.name;
    d.uuid = ref.uuid.bytes;
    d.id = ref.id;
    return d;
}

inline drivers::DomainRef fromWire(const rpc::proto::remote_nonnull_domain& d) {
    drivers::DomainRef ref;
    ref.name = d.name;
    ref.uuid.bytes = d.uuid;
    ref.id = d.id;
    return ref;
}

inline rpc::proto::remote_nonnull_network toWire(const drivers::NetworkRef& ref) {
    rpc::proto::remote_nonnull_network n;
    n.name = ref.name;
    n.uuid = ref.uuid.bytes;
    return n;
}

inline drivers::NetworkRef fromWire(const rpc::proto::remote_nonnull_network& n) {
    drivers::NetworkRef ref;
    ref.name = n.name;
    ref.uuid.bytes = n.uuid;
    return ref;
}

/// The facet `f` of the connection's driver, or NoSupport naming the public API.
template <class Facet>
Result<Facet*> requireFacet(Facet* f, std::string_view api) {
    if (f == nullptr) {
        return fail(ErrorCode::NoSupport, std::string(api), ErrorDomain::Domain);
    }
    return f;
}

/// A string as the wire's `char x<N>` arrays want it: the bytes plus the terminating NUL,
/// which libvirt counts in the length.
inline std::vector<char> toCharArrayWithNul(const std::string& s) {
    std::vector<char> out(s.begin(), s.end());
    out.push_back('\0');
    return out;
}

}  // namespace corral::daemon
