// SPDX-License-Identifier: LGPL-2.1-or-later
// QemuBackend's resource control, laid out as libvirt lays it out: the guest's group
// PARTITION/qemu/NAME carries the whole-guest limits (memory, blkio, pids, shares, global
// bandwidth); below it "emulator" holds QEMU's own threads, "vcpuN" each vCPU thread and
// "iothreadN" each IOThread, each with its own bandwidth and CPU set.
//
// Which thread is which vCPU only QEMU can say (query-cpus-fast, query-iothreads), and a guest
// that took over its QEMU says what it likes: the daemon's own pid, pid 1, another guest's vCPU.
// So a reported id is used only while it is one of that QEMU's threads (util isThreadOf, with
// QEMU's pidfd showing it is still the process its pid names), checked right before each move
// or pin and again after; otherwise the start or the tuning change fails, naming the id.
#include <sched.h>

#include <algorithm>

#include "conf/domain_def.hpp"
#include "drivers/qemu/qemu_backend.hpp"
#include "drivers/qemu/qemu_backend_runtime.hpp"
#include "host/node_info.hpp"
#include "util/logging.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

namespace corral::drivers::qemu {

namespace {

struct GuestThread {
    std::string group;  ///< "vcpu0", "iothread1"
    pid_t tid = -1;
    unsigned index = 0;
};

/// Whether QEMU is still the process `rt.pid` names: its pidfd has not signalled its exit (a pid
/// is not given to another process before the dead one is reaped).
bool qemuRuns(const QemuBackend::Runtime& rt) {
    return rt.pidFd ? !waitPidFd(rt.pidFd.get(), std::chrono::milliseconds(0)) : processAlive(rt.pid);
}

/// Fails unless `t.tid` is one of QEMU's own threads now.
Result<void> requireQemuThread(const QemuBackend::Runtime& rt, const GuestThread& t) {
    if (isThreadOf(rt.pid, t.tid) && qemuRuns(rt)) {
        return {};
    }
    return fail(ErrorCode::OperationFailed,
                "QEMU of domain '" + rt.name + "' (pid " + std::to_string(rt.pid) + ") reported thread id '" +
                    std::to_string(t.tid) + "' for " + t.group +
                    ", which is not one of its threads: not moving or pinning it",
                ErrorDomain::Qemu);
}

/// Runs `act` on QEMU's thread `t`, checked before and after. The check after catches the one
/// race left: the thread ending during `act` and its id going to another task at once (ids are
/// handed out in order, so only after the whole id space has been used up).
template <class Act>
Result<void> onQemuThread(const QemuBackend::Runtime& rt, const GuestThread& t, Act act) {
    CORRAL_TRY(requireQemuThread(rt, t));
    CORRAL_TRY(act());
    if (auto still = requireQemuThread(rt, t); !still) {
        logError("thread id " + std::to_string(t.tid) + " of domain '" + rt.name +
                 "' stopped being QEMU's while it was moved or pinned: check that task's cgroup and affinity");
        return still;
    }
    return {};
}

Result<std::vector<GuestThread>> guestThreads(QmpMonitor& monitor) {
    std::vector<GuestThread> threads;
    CORRAL_ASSIGN_OR_RETURN(JsonValue cpus, monitor.execute("query-cpus-fast"));
    for (const auto& cpu : cpus.items()) {
        auto index = static_cast<unsigned>(cpu["cpu-index"].asUnsigned());
        threads.push_back({"vcpu" + std::to_string(index), static_cast<pid_t>(cpu["thread-id"].asInt()), index});
    }
    CORRAL_ASSIGN_OR_RETURN(JsonValue iothreads, monitor.execute("query-iothreads"));
    for (const auto& t : iothreads.items()) {
        std::string id = t["id"].asString();
        if (id.starts_with("iothread")) {
            auto index = static_cast<unsigned>(parseUnsigned(id.substr(8)).value_or(0));
            threads.push_back({id, static_cast<pid_t>(t["thread-id"].asInt()), index});
        }
    }
    return threads;
}

/// A group's period/quota: unset values keep what the group has.
Result<void> applyBandwidth(const host::Cgroup& group, const conf::CpuBandwidth& bw) {
    if (bw.empty() || !group.layout().has(host::CgroupController::Cpu)) {
        return {};
    }
    std::uint64_t period = 100000;
    if (bw.period) {
        period = *bw.period;
    } else if (auto current = group.cpuPeriod(); current && *current != 0) {
        period = *current;
    }
    return group.setCpuBandwidth(period, bw.quota.value_or(-1));
}

/// Pins `tid` to `cpuset` (all host CPUs when empty) through its cpuset group and its affinity.
Result<void> pinThread(const host::Cgroup& group, pid_t tid, const std::string& cpuset) {
    std::string cpus = cpuset;
    if (cpus.empty()) {
        cpus = formatCpuList(cpumapToList(host::readHostCpuMap().online));
    }
    if (group.layout().has(host::CgroupController::Cpuset)) {
        CORRAL_TRY(group.setCpusetCpus(cpus));
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    for (unsigned cpu : parseCpuList(cpus)) {
        CPU_SET(cpu, &set);
    }
    if (tid > 0 && ::sched_setaffinity(tid, sizeof set, &set) != 0 && errno != ESRCH) {
        return failErrno(errno, "cannot pin thread " + std::to_string(tid) + " to CPUs " + cpus);
    }
    return {};
}

}  // namespace

Result<void> QemuBackend::createCgroup(Runtime& rt, const conf::DomainDef& liveDef) {
    if (!config_.cgroups) {
        return {};
    }
    auto layout = host::hostCgroupLayout();
    if (!layout) {
        logWarning("domain '" + liveDef.name + "' runs without resource control: " + layout.error().wireMessage());
        return {};
    }
    if (!config_.cgroupControllers.empty()) {
        // Only the controllers qemu.conf names (libvirt's cgroup_controllers).
        auto keep = [&](host::CgroupController c) {
            std::string name(host::cgroupControllerName(c, layout->v2));
            return std::find(config_.cgroupControllers.begin(), config_.cgroupControllers.end(), name) !=
                   config_.cgroupControllers.end();
        };
        std::erase_if(layout->v1, [&](const auto& h) { return !keep(h.controller); });
        std::erase_if(layout->v2Controllers, [&](auto c) { return !keep(c); });
    }
    CORRAL_ASSIGN_OR_RETURN(rt.cgroup,
                            host::Cgroup::create(*layout, host::guestGroupPath(config_.cgroupPartition + "/qemu", liveDef.name)));
    auto applied = [&]() -> Result<void> {
        const conf::DomainTuning t = conf::readTuning(liveDef);
        const auto& g = rt.cgroup;
        if (t.memory.hardLimitKiB || t.memory.softLimitKiB || t.memory.swapHardLimitKiB) {
            CORRAL_TRY(g.setMemoryLimits(t.memory.hardLimitKiB, t.memory.softLimitKiB, t.memory.swapHardLimitKiB));
        }
        if (config_.maxThreadsPerProcess) {
            CORRAL_TRY(g.setPidsMax(config_.maxThreadsPerProcess));
        }
        if (t.blkio.weight) {
            CORRAL_TRY(g.setBlkioWeight(*t.blkio.weight));
        }
        for (const auto& dev : t.blkio.devices) {
            if (dev.readBytesSec || dev.writeBytesSec || dev.readIopsSec || dev.writeIopsSec) {
                CORRAL_ASSIGN_OR_RETURN(std::string number, host::blockDeviceNumber(dev.path));
                CORRAL_TRY(g.setBlkioThrottle({number, dev.readBytesSec, dev.writeBytesSec, dev.readIopsSec,
                                               dev.writeIopsSec}));
            }
        }
        return {};
    }();
    if (!applied) {
        (void)rt.cgroup.remove();
        rt.cgroup = {};
        return applied;
    }
    return {};
}

Result<void> QemuBackend::placeThreads(Runtime& rt, const conf::DomainDef& liveDef) {
    if (!rt.cgroup.valid()) {
        return {};
    }
    const auto& layout = rt.cgroup.layout();
    CORRAL_ASSIGN_OR_RETURN(host::Cgroup emulator, host::Cgroup::create(layout, rt.cgroup.path() + "/emulator", true));
    CORRAL_TRY(emulator.addProcess(rt.pid));
    CORRAL_ASSIGN_OR_RETURN(auto threads, guestThreads(*rt.monitor));
    for (const auto& t : threads) {
        CORRAL_TRY(requireQemuThread(rt, t));
        CORRAL_ASSIGN_OR_RETURN(host::Cgroup group, host::Cgroup::create(layout, rt.cgroup.path() + "/" + t.group, true));
        CORRAL_TRY(onQemuThread(rt, t, [&] { return group.addThread(t.tid); }));
    }
    return applyGroupTuning(rt, liveDef);
}

Result<void> QemuBackend::placeNewThreads(Runtime& rt, const conf::DomainDef& liveDef) {
    if (!rt.cgroup.valid()) {
        return {};
    }
    CORRAL_ASSIGN_OR_RETURN(auto threads, guestThreads(*rt.monitor));
    for (const auto& t : threads) {
        if (rt.cgroup.child(t.group).exists()) {
            continue;  // placed at start or by an earlier hotplug
        }
        CORRAL_TRY(requireQemuThread(rt, t));
        CORRAL_ASSIGN_OR_RETURN(host::Cgroup group,
                                host::Cgroup::create(rt.cgroup.layout(), rt.cgroup.path() + "/" + t.group, true));
        CORRAL_TRY(onQemuThread(rt, t, [&] { return group.addThread(t.tid); }));
    }
    return applyGroupTuning(rt, liveDef);
}

Result<void> QemuBackend::applyGroupTuning(Runtime& rt, const conf::DomainDef& liveDef) {
    const conf::DomainTuning t = conf::readTuning(liveDef);
    const host::Cgroup& guest = rt.cgroup;
    if (t.cpu.shares) {
        CORRAL_TRY(guest.setCpuShares(*t.cpu.shares));
    }
    CORRAL_TRY(applyBandwidth(guest, t.cpu.global));
    CORRAL_TRY(applyBandwidth(guest.child("emulator"), t.cpu.emulator));
    // The emulator's threads (QEMU's main loop, I/O workers) follow emulatorpin, or else the
    // guest's <vcpu cpuset>.
    std::string emulatorCpus = !t.cpu.emulatorpin.empty() ? t.cpu.emulatorpin : liveDef.vcpuCpuset;
    if (!emulatorCpus.empty() && guest.layout().has(host::CgroupController::Cpuset)) {
        CORRAL_TRY(guest.child("emulator").setCpusetCpus(emulatorCpus));
    }
    CORRAL_ASSIGN_OR_RETURN(auto threads, guestThreads(*rt.monitor));
    for (const auto& th : threads) {
        CORRAL_TRY(requireQemuThread(rt, th));  // before anything is changed for it
        host::Cgroup group = guest.child(th.group);
        bool vcpu = th.group.starts_with("vcpu");
        CORRAL_TRY(applyBandwidth(group, vcpu ? t.cpu.vcpu : t.cpu.iothread));
        const auto& pins = vcpu ? t.cpu.vcpupin : t.cpu.iothreadpin;
        auto pin = pins.find(th.index);
        std::string cpus = pin != pins.end() ? pin->second : (vcpu ? liveDef.vcpuCpuset : std::string());
        CORRAL_TRY(onQemuThread(rt, th, [&] { return pinThread(group, th.tid, cpus); }));
    }
    return {};
}

Result<void> QemuBackend::applyTuning(objects::DomainObj& dom, const conf::DomainDef& liveDef) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    if (!rt->cgroup.valid()) {
        return fail(ErrorCode::OperationInvalid,
                    "domain '" + dom.name() + "' runs without cgroups (cgroup_controllers = [] in qemu.conf, or none "
                    "mounted), so its resources cannot be changed live",
                    ErrorDomain::Qemu);
    }
    const conf::DomainTuning t = conf::readTuning(liveDef);
    const auto& g = rt->cgroup;
    const auto& layout = g.layout();
    if (layout.has(host::CgroupController::Memory)) {
        CORRAL_TRY(g.setMemoryLimits(t.memory.hardLimitKiB, t.memory.softLimitKiB, t.memory.swapHardLimitKiB));
    }
    if (t.blkio.weight) {
        CORRAL_TRY(g.setBlkioWeight(*t.blkio.weight));
    }
    for (const auto& dev : t.blkio.devices) {
        CORRAL_ASSIGN_OR_RETURN(std::string number, host::blockDeviceNumber(dev.path));
        CORRAL_TRY(g.setBlkioThrottle({number, dev.readBytesSec, dev.writeBytesSec, dev.readIopsSec, dev.writeIopsSec}));
        if (dev.weight) {
            return fail(ErrorCode::OperationUnsupported,
                        "per-device blkio weight is not supported (device '" + dev.path + "')", ErrorDomain::Qemu);
        }
    }
    return applyGroupTuning(*rt, liveDef);
}

Result<conf::DomainTuning> QemuBackend::readLiveTuning(objects::DomainObj& dom) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    conf::DomainTuning t;
    bool hasIothreads = false;
    {
        std::lock_guard lock(dom.mutex());
        t = conf::readTuning(*dom.def);  // pinning and per-device settings as applied
        const conf::XmlNode* iothreads = dom.def->element("iothreads");
        hasIothreads = iothreads != nullptr && parseUnsigned(trimString(iothreads->text)).value_or(0) > 0;
    }
    const auto& g = rt->cgroup;
    if (!g.valid()) {
        return t;
    }
    const auto& layout = g.layout();
    if (layout.has(host::CgroupController::Cpu)) {
        CORRAL_ASSIGN_OR_RETURN(std::uint64_t shares, g.cpuShares());
        t.cpu.shares = shares;
        auto read = [](const host::Cgroup& group, conf::CpuBandwidth& bw) -> Result<void> {
            CORRAL_ASSIGN_OR_RETURN(std::uint64_t period, group.cpuPeriod());
            CORRAL_ASSIGN_OR_RETURN(std::int64_t quota, group.cpuQuota());
            bw.period = period;
            bw.quota = quota;
            return {};
        };
        CORRAL_TRY(read(g, t.cpu.global));
        CORRAL_TRY(read(g.child("emulator"), t.cpu.emulator));
        CORRAL_TRY(read(g.child("vcpu0"), t.cpu.vcpu));
        if (hasIothreads) {
            CORRAL_TRY(read(g.child("iothread1"), t.cpu.iothread));
        }
    }
    if (layout.has(host::CgroupController::Memory)) {
        CORRAL_ASSIGN_OR_RETURN(t.memory.hardLimitKiB, g.memoryHardLimit());
        CORRAL_ASSIGN_OR_RETURN(t.memory.softLimitKiB, g.memorySoftLimit());
        CORRAL_ASSIGN_OR_RETURN(t.memory.swapHardLimitKiB, g.memorySwapHardLimit());
    }
    if (layout.has(host::CgroupController::Blkio)) {
        CORRAL_ASSIGN_OR_RETURN(unsigned weight, g.blkioWeight());
        t.blkio.weight = weight;
    }
    return t;
}

}  // namespace corral::drivers::qemu
