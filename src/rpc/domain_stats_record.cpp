// SPDX-License-Identifier: LGPL-2.1-or-later
// Reading a GET_ALL_DOMAIN_STATS record's typed parameters into GuestStats.
#include "rpc/domain_stats_record.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <string_view>

namespace corral::rpc {

namespace {

using Fields = std::map<std::string_view, const proto::remote_typed_param_value*>;

/// The value of an integer parameter that is not negative, whatever its width.
std::optional<std::uint64_t> unsignedField(const Fields& fields, const std::string& name) {
    auto it = fields.find(name);
    if (it == fields.end()) {
        return std::nullopt;
    }
    const auto& v = *it->second;
    switch (static_cast<std::uint32_t>(v.type)) {
        case proto::VIR_TYPED_PARAM_INT:
            return v.i >= 0 ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(v.i))
                            : std::nullopt;
        case proto::VIR_TYPED_PARAM_UINT:
            return v.ui;
        case proto::VIR_TYPED_PARAM_LLONG:
            return v.l >= 0 ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(v.l))
                            : std::nullopt;
        case proto::VIR_TYPED_PARAM_ULLONG:
            return v.ul;
        default:
            return std::nullopt;
    }
}

/// A counter as the driver structs keep it: -1 when absent (or beyond int64).
std::int64_t counterField(const Fields& fields, const std::string& name) {
    auto v = unsignedField(fields, name);
    if (!v || *v > static_cast<std::uint64_t>(INT64_MAX)) {
        return -1;
    }
    return static_cast<std::int64_t>(*v);
}

std::string stringField(const Fields& fields, const std::string& name) {
    auto it = fields.find(name);
    if (it == fields.end() ||
        static_cast<std::uint32_t>(it->second->type) != proto::VIR_TYPED_PARAM_STRING) {
        return {};
    }
    return it->second->s;
}

/// N of "PREFIX.count", no more than the record could describe.
std::size_t entryCount(const Fields& fields, const std::string& prefix) {
    auto n = unsignedField(fields, prefix + ".count");
    return n ? static_cast<std::size_t>(std::min<std::uint64_t>(*n, fields.size())) : 0;
}

}  // namespace

GuestStats readGuestStats(const std::vector<proto::remote_typed_param>& params) {
    Fields fields;
    for (const auto& p : params) {
        fields.emplace(p.field, &p.value);
    }
    GuestStats g;
    if (auto state = unsignedField(fields, "state.state"); state && *state <= INT32_MAX) {
        g.state = static_cast<int>(*state);
    }
    g.cpuTimeNs = unsignedField(fields, "cpu.time");
    g.memoryKiB = unsignedField(fields, "balloon.current");
    g.maxMemoryKiB = unsignedField(fields, "balloon.maximum");
    g.vcpus = unsignedField(fields, "vcpu.current");
    for (std::size_t i = 0, n = entryCount(fields, "block"); i < n; ++i) {
        const std::string prefix = "block." + std::to_string(i) + ".";
        g.disks.push_back(
            {stringField(fields, prefix + "name"), counterField(fields, prefix + "rd.bytes"),
             counterField(fields, prefix + "rd.reqs"), counterField(fields, prefix + "wr.bytes"),
             counterField(fields, prefix + "wr.reqs")});
    }
    for (std::size_t i = 0, n = entryCount(fields, "net"); i < n; ++i) {
        const std::string prefix = "net." + std::to_string(i) + ".";
        g.interfaces.push_back(
            {stringField(fields, prefix + "name"), counterField(fields, prefix + "rx.bytes"),
             counterField(fields, prefix + "rx.pkts"), counterField(fields, prefix + "tx.bytes"),
             counterField(fields, prefix + "tx.pkts")});
    }
    return g;
}

}  // namespace corral::rpc
