// SPDX-License-Identifier: LGPL-2.1-or-later
// Conversions between driver types and their wire structs, and the facet lookup that turns a
// missing facet into VIR_ERR_NO_SUPPORT.
#pragma once

#include <string>

#include <type_traits>
#include <variant>

#include "drivers/interfaces/domain_stats.hpp"
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

inline rpc::proto::remote_typed_param toWire(const drivers::TypedValue& v) {
    namespace proto = rpc::proto;
    proto::remote_typed_param p;
    p.field = v.field;
    auto& w = p.value;
    std::visit(
        [&w](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, int>) {
                w.type = proto::VIR_TYPED_PARAM_INT, w.i = x;
            } else if constexpr (std::is_same_v<T, unsigned>) {
                w.type = proto::VIR_TYPED_PARAM_UINT, w.ui = x;
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
                w.type = proto::VIR_TYPED_PARAM_LLONG, w.l = x;
            } else if constexpr (std::is_same_v<T, std::uint64_t>) {
                w.type = proto::VIR_TYPED_PARAM_ULLONG, w.ul = x;
            } else if constexpr (std::is_same_v<T, double>) {
                w.type = proto::VIR_TYPED_PARAM_DOUBLE, w.d = x;
            } else if constexpr (std::is_same_v<T, bool>) {
                w.type = proto::VIR_TYPED_PARAM_BOOLEAN, w.b = x ? 1 : 0;
            } else {
                w.type = proto::VIR_TYPED_PARAM_STRING, w.s = x;
            }
        },
        v.value);
    return p;
}

inline drivers::TypedValue fromWire(const rpc::proto::remote_typed_param& p) {
    namespace proto = rpc::proto;
    drivers::TypedValue v;
    v.field = p.field;
    switch (p.value.type) {
        case proto::VIR_TYPED_PARAM_INT: v.value = p.value.i; break;
        case proto::VIR_TYPED_PARAM_UINT: v.value = p.value.ui; break;
        case proto::VIR_TYPED_PARAM_LLONG: v.value = static_cast<std::int64_t>(p.value.l); break;
        case proto::VIR_TYPED_PARAM_ULLONG: v.value = static_cast<std::uint64_t>(p.value.ul); break;
        case proto::VIR_TYPED_PARAM_DOUBLE: v.value = p.value.d; break;
        case proto::VIR_TYPED_PARAM_BOOLEAN: v.value = p.value.b != 0; break;
        default: v.value = p.value.s; break;
    }
    return v;
}

}  // namespace corral::daemon
