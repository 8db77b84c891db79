// SPDX-License-Identifier: LGPL-2.1-or-later
// QemuBackend: a running guest's memory through its virtio balloon (virsh setmem --live) and
// vCPUs plugged in with device_add (virsh setvcpus --live). QEMU's replies are untrusted input:
// every field used is checked for type and range before it reaches a command.
#include <algorithm>
#include <tuple>

#include "conf/domain_def.hpp"
#include "drivers/qemu/qemu_backend.hpp"
#include "drivers/qemu/qemu_backend_runtime.hpp"
#include "drivers/qemu/qemu_cpu_slots.hpp"
#include "util/json.hpp"

namespace corral::drivers::qemu {

namespace {

bool hasVirtioBalloon(const conf::DomainDef& def) {
    return std::any_of(def.devices.begin(), def.devices.end(), [](const conf::XmlNode& dev) {
        return dev.name == "memballoon" && dev.attrOr("model", "virtio") == "virtio";
    });
}

}  // namespace

Result<void> QemuBackend::setMemoryLive(objects::DomainObj& dom, const conf::DomainDef& newLive) {
    if (!hasVirtioBalloon(newLive)) {
        return fail(ErrorCode::OperationInvalid,
                    "Unable to change memory of active domain without the balloon device and guest OS balloon driver",
                    ErrorDomain::Qemu);
    }
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    JsonWriter args;
    args.beginObject().key("value").value(newLive.currentMemoryKiB * 1024).endObject();
    CORRAL_TRY(rt->monitor->execute("balloon", args.str()));
    return {};
}

Result<void> QemuBackend::setVcpusLive(objects::DomainObj& dom, const conf::DomainDef& newLive, unsigned previous) {
    const unsigned wanted = newLive.vcpuCurrent != 0 ? newLive.vcpuCurrent : newLive.vcpus;
    if (wanted < previous) {
        // Unplugging needs the guest's consent (an ACPI eject) and vCPUs QEMU can name; the
        // vCPUs a guest boots with have no id to unplug by.
        return fail(ErrorCode::OperationUnsupported,
                    "removing vCPUs from running domain '" + dom.name() + "' is not supported; use --config",
                    ErrorDomain::Qemu);
    }
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    CORRAL_ASSIGN_OR_RETURN(JsonValue reply, rt->monitor->execute("query-hotpluggable-cpus"));
    CORRAL_ASSIGN_OR_RETURN(std::vector<CpuSlot> slots, parseEmptyCpuSlots(reply));
    if (slots.size() < wanted - previous) {
        return fail(ErrorCode::OperationFailed,
                    "QEMU has " + std::to_string(slots.size()) + " free vCPU slots, " +
                        std::to_string(wanted - previous) + " needed",
                    ErrorDomain::Qemu);
    }
    for (unsigned index = previous; index < wanted; ++index) {
        const CpuSlot& slot = slots[index - previous];
        JsonWriter args;
        args.beginObject().key("driver").value(slot.type).key("id").value("vcpu" + std::to_string(index));
        args.key("socket-id").value(slot.socket);
        if (slot.die >= 0) {
            args.key("die-id").value(slot.die);
        }
        args.key("core-id").value(slot.core).key("thread-id").value(slot.thread).endObject();
        if (auto added = rt->monitor->execute("device_add", args.str()); !added) {
            Error e = added.error();
            e.withContext("plugging vCPU " + std::to_string(index));
            return unexpected(std::move(e));
        }
    }
    // The new vCPU threads join their cgroups and pinning as the boot vCPUs did.
    return placeNewThreads(*rt, newLive);
}

Result<std::vector<CpuSlot>> parseEmptyCpuSlots(const JsonValue& reply) {
    if (!reply.isArray()) {
        return fail(ErrorCode::InternalError, "QEMU's query-hotpluggable-cpus reply is not a list", ErrorDomain::Qemu);
    }
    constexpr std::int64_t kMaxId = 4096;  // far above any machine's topology, far below overflow
    std::vector<CpuSlot> slots;
    for (const auto& entry : reply.items()) {
        if (!entry.isObject()) {
            return fail(ErrorCode::InternalError, "QEMU reported a vCPU slot that is not an object", ErrorDomain::Qemu);
        }
        if (entry.has("qom-path")) {
            continue;  // plugged
        }
        const JsonValue& props = entry["props"];
        auto id = [&](const char* key, std::int64_t absent) {
            if (!props.has(key)) {
                return absent;
            }
            return props[key].isNumber() ? props[key].asInt(-2) : -2;
        };
        CpuSlot slot{entry["type"].asString(), id("socket-id", -2), id("die-id", -1), id("core-id", -2),
                     id("thread-id", -2)};
        auto inRange = [](std::int64_t v, std::int64_t low) { return v >= low && v < kMaxId; };
        const bool plainType = !slot.type.empty() && slot.type.size() < 64 &&
                               slot.type.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
                                   std::string::npos;
        if (!plainType || entry["vcpus-count"].asInt(0) != 1 || !inRange(slot.socket, 0) || !inRange(slot.core, 0) ||
            !inRange(slot.thread, 0) || !inRange(slot.die, -1)) {
            return fail(ErrorCode::InternalError, "QEMU reported a vCPU slot Corral cannot use", ErrorDomain::Qemu);
        }
        slots.push_back(std::move(slot));
    }
    std::sort(slots.begin(), slots.end(), [](const CpuSlot& a, const CpuSlot& b) {
        return std::tie(a.socket, a.die, a.core, a.thread) < std::tie(b.socket, b.die, b.core, b.thread);
    });
    return slots;
}

}  // namespace corral::drivers::qemu
