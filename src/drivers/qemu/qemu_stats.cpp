// SPDX-License-Identifier: LGPL-2.1-or-later
// QemuBackend's statistics: vCPU and IOThread threads from query-cpus-fast / query-iothreads
// plus /proc, disks from query-blockstats, interfaces from the tap devices' counters in /sys,
// memory from query-balloon and the process's RSS. One QMP command per query.
#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "conf/domain_def.hpp"
#include "drivers/qemu/qemu_backend.hpp"
#include "drivers/qemu/qemu_backend_runtime.hpp"
#include "drivers/qemu/qemu_command.hpp"
#include "drivers/qemu/qmp_monitor.hpp"
#include "util/process.hpp"

namespace corral::drivers::qemu {

namespace {

std::shared_ptr<conf::DomainDef> liveDefinition(objects::DomainObj& dom) {
    std::lock_guard lock(dom.mutex());
    return dom.def;
}

std::int64_t readCounter(const std::string& dev, const char* name) {
    std::ifstream in("/sys/class/net/" + dev + "/statistics/" + name);
    std::int64_t v = -1;
    in >> v;
    return in ? v : -1;
}

}  // namespace

Result<std::vector<VcpuStats>> QemuBackend::vcpuStats(objects::DomainObj& dom) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    CORRAL_ASSIGN_OR_RETURN(JsonValue cpus, rt->monitor->execute("query-cpus-fast"));
    std::vector<VcpuStats> out;
    for (const auto& cpu : cpus.items()) {
        VcpuStats v;
        v.number = static_cast<unsigned>(cpu["cpu-index"].asUnsigned());
        ThreadCpu t = threadCpu(rt->pid, static_cast<pid_t>(cpu["thread-id"].asInt()));
        v.cpuTimeNs = t.cpuTimeNs;
        v.cpu = t.lastCpu;
        v.affinity = std::move(t.affinity);
        out.push_back(std::move(v));
    }
    return out;
}

Result<std::vector<IothreadStats>> QemuBackend::iothreadStats(objects::DomainObj& dom) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    CORRAL_ASSIGN_OR_RETURN(JsonValue threads, rt->monitor->execute("query-iothreads"));
    std::vector<IothreadStats> out;
    for (const auto& t : threads.items()) {
        std::string id = t["id"].asString();
        if (!id.starts_with("iothread")) {
            continue;  // not one of ours
        }
        IothreadStats s;
        s.id = static_cast<unsigned>(std::strtoul(id.c_str() + 8, nullptr, 10));
        s.affinity = threadCpu(rt->pid, static_cast<pid_t>(t["thread-id"].asInt())).affinity;
        out.push_back(std::move(s));
    }
    std::sort(out.begin(), out.end(), [](const IothreadStats& a, const IothreadStats& b) { return a.id < b.id; });
    return out;
}

Result<std::vector<BlockStats>> QemuBackend::blockStats(objects::DomainObj& dom) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    auto def = liveDefinition(dom);
    CORRAL_ASSIGN_OR_RETURN(JsonValue all, rt->monitor->execute("query-blockstats"));
    std::vector<BlockStats> out;
    for (const auto& dev : def->devices) {
        if (dev.name != "disk") {
            continue;
        }
        BlockStats b;
        b.target = dev.childAttr("target", "dev");
        b.source = conf::diskSourcePath(dev);
        const std::string node = diskFormatNodeName(b.target);
        for (const auto& entry : all.items()) {
            if (entry["node-name"].asString() != node) {
                continue;
            }
            const JsonValue& st = entry["stats"];
            b.rdReqs = st["rd_operations"].asInt(-1);
            b.rdBytes = st["rd_bytes"].asInt(-1);
            b.rdTimeNs = st["rd_total_time_ns"].asInt(-1);
            b.wrReqs = st["wr_operations"].asInt(-1);
            b.wrBytes = st["wr_bytes"].asInt(-1);
            b.wrTimeNs = st["wr_total_time_ns"].asInt(-1);
            b.flushReqs = st["flush_operations"].asInt(-1);
            b.flushTimeNs = st["flush_total_time_ns"].asInt(-1);
        }
        out.push_back(std::move(b));
    }
    return out;
}

Result<std::vector<InterfaceStats>> QemuBackend::interfaceStats(objects::DomainObj& dom) {
    CORRAL_TRY(requireRuntime(dom));
    auto def = liveDefinition(dom);
    std::vector<InterfaceStats> out;
    for (const auto& dev : def->devices) {
        if (dev.name != "interface") {
            continue;
        }
        InterfaceStats s;
        s.target = dev.childAttr("target", "dev");
        s.mac = dev.childAttr("mac", "address");
        if (s.target.empty()) {
            continue;  // user networking has no host device to count on
        }
        // The tap's transmit side is what the guest receives, and the other way round.
        s.rxBytes = readCounter(s.target, "tx_bytes");
        s.rxPackets = readCounter(s.target, "tx_packets");
        s.rxErrs = readCounter(s.target, "tx_errors");
        s.rxDrop = readCounter(s.target, "tx_dropped");
        s.txBytes = readCounter(s.target, "rx_bytes");
        s.txPackets = readCounter(s.target, "rx_packets");
        s.txErrs = readCounter(s.target, "rx_errors");
        s.txDrop = readCounter(s.target, "rx_dropped");
        out.push_back(std::move(s));
    }
    return out;
}

Result<std::vector<MemoryStat>> QemuBackend::memoryStats(objects::DomainObj& dom) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    auto def = liveDefinition(dom);
    std::uint64_t actualKiB = def->currentMemoryKiB;
    bool hasBalloon = false;
    for (const auto& dev : def->devices) {
        const std::string* model = dev.attr("model");
        hasBalloon = hasBalloon || (dev.name == "memballoon" && model != nullptr && *model != "none");
    }
    if (hasBalloon) {
        CORRAL_ASSIGN_OR_RETURN(JsonValue balloon, rt->monitor->execute("query-balloon"));
        actualKiB = balloon["actual"].asUnsigned(actualKiB * 1024) / 1024;
    }
    return std::vector<MemoryStat>{{memory_stat::kActualBalloon, actualKiB}, {memory_stat::kRss, processRssKiB(rt->pid)}};
}

}  // namespace corral::drivers::qemu
