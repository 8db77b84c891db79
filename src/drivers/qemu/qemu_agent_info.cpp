// SPDX-License-Identifier: LGPL-2.1-or-later
// virDomainGetGuestInfo over the QEMU guest agent: one agent command per kind of information,
// each reply turned into libvirt's typed parameters ("user.count", "os.id", "fs.0.name", ...)
// in libvirt's order. Asked for everything (types 0), a kind the agent does not offer is left
// out, as libvirt does; asked for it by name, its failure is the call's.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>

#include "conf/domain_def.hpp"
#include "drivers/qemu/qemu_backend.hpp"
#include "drivers/qemu/qemu_backend_runtime.hpp"

namespace corral::drivers::qemu {

namespace {

// virDomainGuestInfoTypes
constexpr unsigned kUsers = 1, kOs = 2, kTimezone = 4, kHostname = 8, kFilesystem = 16, kDisks = 32,
                   kInterfaces = 64;

class Params {
public:
    explicit Params(std::vector<TypedValue>& out) : out_(out) {}
    void str(const std::string& field, const JsonValue& v) {
        if (v.isString()) {
            out_.push_back(TypedValue{field, v.asString()});
        }
    }
    void text(const std::string& field, const std::string& v) { out_.push_back(TypedValue{field, v}); }
    void uint(const std::string& field, std::uint64_t v) {
        out_.push_back(TypedValue{field, static_cast<unsigned>(std::min<std::uint64_t>(v, 0xffffffffu))});
    }
    void ullong(const std::string& field, std::uint64_t v) { out_.push_back(TypedValue{field, v}); }
    void integer(const std::string& field, std::int64_t v) {
        out_.push_back(TypedValue{field, static_cast<int>(std::clamp<std::int64_t>(v, INT32_MIN, INT32_MAX))});
    }
    void boolean(const std::string& field, bool v) { out_.push_back(TypedValue{field, v}); }

private:
    std::vector<TypedValue>& out_;
};

using DiskLookup = std::function<std::optional<std::string>(const JsonValue& address)>;

void addUsers(Params& p, const JsonValue& users) {
    p.uint("user.count", users.items().size());
    std::size_t i = 0;
    for (const auto& u : users.items()) {
        const std::string prefix = "user." + std::to_string(i++) + ".";
        p.str(prefix + "name", u["user"]);
        p.str(prefix + "domain", u["domain"]);
        // Seconds since the epoch, with a fraction; libvirt reports milliseconds.
        const double t = u["login-time"].asDouble();
        if (std::isfinite(t) && t >= 0 && t < 1.8e16) {
            p.ullong(prefix + "login-time", static_cast<std::uint64_t>(t * 1000));
        }
    }
}

void addOs(Params& p, const JsonValue& os) {
    for (const char* key : {"id", "name", "pretty-name", "version", "version-id", "machine", "variant", "variant-id",
                            "kernel-release", "kernel-version"}) {
        p.str(std::string("os.") + key, os[key]);
    }
}

void addTimezone(Params& p, const JsonValue& tz) {
    p.str("timezone.name", tz["zone"]);
    p.integer("timezone.offset", tz["offset"].asInt());
}

void addFilesystems(Params& p, const JsonValue& list, const DiskLookup& diskFor) {
    p.uint("fs.count", list.items().size());
    std::size_t i = 0;
    for (const auto& fs : list.items()) {
        const std::string prefix = "fs." + std::to_string(i++) + ".";
        p.str(prefix + "name", fs["name"]);
        p.str(prefix + "mountpoint", fs["mountpoint"]);
        p.str(prefix + "fstype", fs["type"]);
        if (fs["used-bytes"].isNumber() && fs["total-bytes"].isNumber()) {
            p.ullong(prefix + "total-bytes", fs["total-bytes"].asUnsigned());
            p.ullong(prefix + "used-bytes", fs["used-bytes"].asUnsigned());
        }
        const auto& disks = fs["disk"].items();
        p.uint(prefix + "disk.count", disks.size());
        std::size_t j = 0;
        for (const auto& d : disks) {
            const std::string dp = prefix + "disk." + std::to_string(j++) + ".";
            if (auto target = diskFor(d)) {
                p.text(dp + "alias", *target);
            }
            p.str(dp + "serial", d["serial"]);
            p.str(dp + "device", d["dev"]);
        }
    }
}

void addDisks(Params& p, const JsonValue& disks, const DiskLookup& diskFor) {
    p.uint("disk.count", disks.items().size());
    std::size_t i = 0;
    for (const auto& d : disks.items()) {
        const std::string prefix = "disk." + std::to_string(i++) + ".";
        p.str(prefix + "name", d["name"]);
        p.boolean(prefix + "partition", d["partition"].asBool());
        const auto& deps = d["dependencies"].items();
        if (!deps.empty()) {
            p.uint(prefix + "dependency.count", deps.size());
            std::size_t j = 0;
            for (const auto& dep : deps) {
                p.str(prefix + "dependency." + std::to_string(j++) + ".name", dep);
            }
        }
        const JsonValue& address = d["address"];
        p.str(prefix + "serial", address["serial"]);
        if (auto target = address.isObject() ? diskFor(address) : std::nullopt) {
            p.text(prefix + "alias", *target);
        }
        p.str(prefix + "guest_alias", d["alias"]);
    }
}

void addInterfaces(Params& p, const std::vector<GuestInterface>& ifaces) {
    p.uint("if.count", ifaces.size());
    std::size_t i = 0;
    for (const auto& iface : ifaces) {
        const std::string prefix = "if." + std::to_string(i++) + ".";
        p.text(prefix + "name", iface.name);
        if (iface.hwaddr) {
            p.text(prefix + "hwaddr", *iface.hwaddr);
        }
        p.uint(prefix + "addr.count", iface.addrs.size());
        std::size_t j = 0;
        for (const auto& a : iface.addrs) {
            const std::string ap = prefix + "addr." + std::to_string(j++) + ".";
            p.text(ap + "type", a.type == 0 ? "ipv4" : "ipv6");
            p.text(ap + "addr", a.addr);
            p.uint(ap + "prefix", a.prefix);
        }
    }
}

}  // namespace

Result<std::vector<TypedValue>> QemuBackend::agentGuestInfo(objects::DomainObj& dom, unsigned types) {
    const bool all = types == 0;
    std::vector<TypedValue> out;
    Params p(out);
    std::shared_ptr<const conf::DomainDef> def;
    {
        std::lock_guard lock(dom.mutex());
        def = dom.def;
    }
    const DiskLookup diskFor = [&](const JsonValue& address) {
        return def ? diskForAgentAddress(*def, address) : std::nullopt;
    };
    // One kind: its agent command's reply, or nothing when the agent cannot give it and the
    // caller asked for everything. An agent that stops answering fails the call either way.
    auto ask = [&](unsigned kind, const char* command) -> Result<std::optional<JsonValue>> {
        if (!all && (types & kind) == 0) {
            return std::optional<JsonValue>();
        }
        auto reply = agentCall(dom, command, "");
        if (!reply) {
            if (all && reply.error().code == ErrorCode::InternalError) {
                return std::optional<JsonValue>();
            }
            return unexpected(std::move(reply).error());
        }
        return std::optional<JsonValue>(std::move(*reply));
    };
    CORRAL_ASSIGN_OR_RETURN(auto users, ask(kUsers, "guest-get-users"));
    if (users && users->isArray()) {
        addUsers(p, *users);
    }
    CORRAL_ASSIGN_OR_RETURN(auto os, ask(kOs, "guest-get-osinfo"));
    if (os && os->isObject()) {
        addOs(p, *os);
    }
    CORRAL_ASSIGN_OR_RETURN(auto tz, ask(kTimezone, "guest-get-timezone"));
    if (tz && tz->isObject()) {
        addTimezone(p, *tz);
    }
    CORRAL_ASSIGN_OR_RETURN(auto host, ask(kHostname, "guest-get-host-name"));
    if (host && host->isObject()) {
        p.str("hostname", (*host)["host-name"]);
    }
    CORRAL_ASSIGN_OR_RETURN(auto fs, ask(kFilesystem, "guest-get-fsinfo"));
    if (fs && fs->isArray()) {
        addFilesystems(p, *fs, diskFor);
    }
    CORRAL_ASSIGN_OR_RETURN(auto disks, ask(kDisks, "guest-get-disks"));
    if (disks && disks->isArray()) {
        addDisks(p, *disks, diskFor);
    }
    if (all || (types & kInterfaces) != 0) {
        auto ifaces = agentInterfaces(dom);
        if (ifaces) {
            addInterfaces(p, *ifaces);
        } else if (!all || ifaces.error().code != ErrorCode::InternalError) {
            return unexpected(std::move(ifaces).error());
        }
    }
    return out;
}

}  // namespace corral::drivers::qemu
