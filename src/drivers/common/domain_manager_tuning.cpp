// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainManager's resource control: schedinfo, memtune, blkiotune and pinning. Each change is
// made on a copy of the definition it affects (the live one, the persistent one, or both), checked
// like a define, applied to the guest for LIVE, stored for CONFIG, and only then swapped in.
#include <algorithm>
#include <functional>

#include "conf/domain_tuning.hpp"
#include "drivers/common/domain_manager.hpp"
#include "drivers/common/domain_manager_errors.hpp"
#include "host/node_info.hpp"
#include "objects/store.hpp"
#include "util/strings.hpp"

namespace corral::drivers {

using conf::DomainTuning;
using objects::DomainObjPtr;

namespace {

/// The <cputune> period/quota pair of `group` ("vcpu", "emulator", "global", "iothread").
const conf::CpuBandwidth& bandwidthOf(const conf::CpuTune& cpu, const std::string& group) {
    if (group == "emulator") {
        return cpu.emulator;
    }
    if (group == "global") {
        return cpu.global;
    }
    if (group == "iothread") {
        return cpu.iothread;
    }
    return cpu.vcpu;
}

constexpr unsigned kAffectBits = affect_flags::kAll;
// VIR_TYPED_PARAM_STRING_OKAY: the client accepts string parameters (blkio's device lists).
constexpr unsigned kTypedParamStringOkay = 1u << 2;

Unexpected badParam(const std::string& field, const std::string& why) {
    return fail(ErrorCode::InvalidArg, "parameter '" + field + "' " + why, ErrorDomain::Domain);
}

Result<std::uint64_t> unsignedParam(const TypedValue& p) {
    if (const auto* v = std::get_if<std::uint64_t>(&p.value)) {
        return *v;
    }
    if (const auto* v = std::get_if<unsigned>(&p.value)) {
        return *v;
    }
    if (const auto* v = std::get_if<std::int64_t>(&p.value); v != nullptr && *v >= 0) {
        return static_cast<std::uint64_t>(*v);
    }
    if (const auto* v = std::get_if<int>(&p.value); v != nullptr && *v >= 0) {
        return static_cast<std::uint64_t>(*v);
    }
    return badParam(p.field, "needs a non-negative integer");
}

Result<std::int64_t> signedParam(const TypedValue& p) {
    if (const auto* v = std::get_if<std::int64_t>(&p.value)) {
        return *v;
    }
    if (const auto* v = std::get_if<int>(&p.value)) {
        return *v;
    }
    if (const auto* v = std::get_if<unsigned>(&p.value)) {
        return *v;
    }
    if (const auto* v = std::get_if<std::uint64_t>(&p.value); v != nullptr && *v <= INT64_MAX) {
        return static_cast<std::int64_t>(*v);
    }
    return badParam(p.field, "needs an integer");
}

/// libvirt treats a zero period or quota in a set call as "leave it".
void setBandwidthParam(const TypedValue& p, const std::string& prefix, conf::CpuBandwidth& bw, Result<void>& status) {
    if (p.field == prefix + "_period") {
        auto v = unsignedParam(p);
        if (!v) {
            status = unexpected(std::move(v).error());
        } else if (*v != 0 && (*v < 1000 || *v > 1000000)) {
            status = badParam(p.field, "must be between 1000 and 1000000 microseconds, not " + std::to_string(*v));
        } else if (*v != 0) {
            bw.period = *v;
        }
    } else if (p.field == prefix + "_quota") {
        auto v = signedParam(p);
        if (!v) {
            status = unexpected(std::move(v).error());
        } else if (*v != 0 && *v != -1 && (*v < 1000 || *v > 17592186044415)) {
            status = badParam(p.field,
                              "must be -1 (no limit) or between 1000 and 17592186044415 microseconds, not " +
                                  std::to_string(*v));
        } else if (*v != 0) {
            bw.quota = *v;
        }
    }
}

std::uint64_t memoryValue(const std::optional<std::uint64_t>& kib) { return kib.value_or(conf::kMemoryParamUnlimited); }

/// "path,value,path,value" as the blkio string parameters carry them.
Result<std::vector<std::pair<std::string, std::uint64_t>>> parseDeviceList(const TypedValue& p) {
    const auto* text = std::get_if<std::string>(&p.value);
    if (text == nullptr) {
        return badParam(p.field, "needs a string 'PATH,VALUE[,PATH,VALUE...]'");
    }
    std::vector<std::pair<std::string, std::uint64_t>> out;
    if (text->empty()) {
        return out;
    }
    auto parts = splitString(*text, ',');
    if (parts.size() % 2 != 0) {
        return badParam(p.field, "needs PATH,VALUE pairs, got '" + *text + "'");
    }
    for (std::size_t i = 0; i < parts.size(); i += 2) {
        auto value = parseUnsigned(parts[i + 1]);
        if (parts[i].empty() || !value) {
            return badParam(p.field, "has a bad entry '" + parts[i] + "," + parts[i + 1] + "'");
        }
        out.emplace_back(parts[i], *value);
    }
    return out;
}

std::string deviceListText(const conf::BlkioTune& blkio, const std::function<std::uint64_t(const conf::BlkioDeviceTune&)>& get) {
    std::string out;
    for (const auto& d : blkio.devices) {
        if (std::uint64_t v = get(d); v != 0) {
            out += (out.empty() ? "" : ",") + d.path + "," + std::to_string(v);
        }
    }
    return out;
}

conf::BlkioDeviceTune& deviceEntry(conf::BlkioTune& blkio, const std::string& path) {
    for (auto& d : blkio.devices) {
        if (d.path == path) {
            return d;
        }
    }
    blkio.devices.push_back({path, std::nullopt, 0, 0, 0, 0});
    return blkio.devices.back();
}

Result<std::string> cpusetFromMap(const std::vector<std::uint8_t>& cpumap, const std::vector<std::uint8_t>& hostCpus) {
    auto cpus = cpumapToList(cpumap);
    auto online = cpumapToList(hostCpus);
    for (unsigned cpu : cpus) {
        if (std::find(online.begin(), online.end(), cpu) == online.end()) {
            return fail(ErrorCode::InvalidArg, "CPU " + std::to_string(cpu) + " is not online on this host",
                        ErrorDomain::Domain);
        }
    }
    if (cpus.empty()) {
        return fail(ErrorCode::InvalidArg, "Empty cpu list for pinning", ErrorDomain::Domain);
    }
    return formatCpuList(cpus);
}

unsigned iothreadCount(const conf::DomainDef& def) {
    const conf::XmlNode* node = def.element("iothreads");
    return node == nullptr ? 0 : static_cast<unsigned>(parseUnsigned(trimString(node->text)).value_or(0));
}

/// The tunable event's parameters (libvirt's VIR_DOMAIN_TUNABLE_CPU_* names) for what a live
/// change did to <cputune>: every value that differs afterwards, with its new value.
std::vector<TypedValue> cputuneChanges(const conf::CpuTune& before, const conf::CpuTune& after) {
    std::vector<TypedValue> out;
    if (after.shares && after.shares != before.shares) {
        out.push_back({"cputune.cpu_shares", *after.shares});
    }
    auto bandwidth = [&out](const char* group, const conf::CpuBandwidth& was, const conf::CpuBandwidth& now) {
        if (now.period && now.period != was.period) {
            out.push_back({std::string("cputune.") + group + "_period", *now.period});
        }
        if (now.quota && now.quota != was.quota) {
            out.push_back({std::string("cputune.") + group + "_quota", *now.quota});
        }
    };
    bandwidth("vcpu", before.vcpu, after.vcpu);
    bandwidth("global", before.global, after.global);
    bandwidth("emulator", before.emulator, after.emulator);
    bandwidth("iothread", before.iothread, after.iothread);
    for (const auto& [vcpu, cpuset] : after.vcpupin) {
        auto was = before.vcpupin.find(vcpu);
        if (was == before.vcpupin.end() || was->second != cpuset) {
            out.push_back({"cputune.vcpupin" + std::to_string(vcpu), cpuset});
        }
    }
    if (after.emulatorpin != before.emulatorpin && !after.emulatorpin.empty()) {
        out.push_back({"cputune.emulatorpin", after.emulatorpin});
    }
    for (const auto& [id, cpuset] : after.iothreadpin) {
        auto was = before.iothreadpin.find(id);
        if (was == before.iothreadpin.end() || was->second != cpuset) {
            out.push_back({"cputune.iothreadpin" + std::to_string(id), cpuset});
        }
    }
    return out;
}

/// Whether `def` has a <disk> with target `target`.
bool hasDisk(const conf::DomainDef& def, const std::string& target) {
    return std::any_of(def.devices.begin(), def.devices.end(),
                       [&](const conf::XmlNode& dev) { return conf::isDiskWithTarget(dev, target); });
}

bool hasInterface(const conf::DomainDef& def, const std::string& mac) {
    return std::any_of(def.devices.begin(), def.devices.end(), [&](const conf::XmlNode& dev) {
        return dev.name == "interface" && dev.childAttr("mac", "address") == mac;
    });
}

}  // namespace

Result<void> DomainManager::changeDefinition(const DomainRef& ref, unsigned flags, const char* function,
                                             const DefinitionEdit& edit, const LiveApply& applyLive,
                                             const AfterLiveEdit& after) {
    if ((flags & ~kAffectBits) != 0) {
        return unsupportedFlags(flags, function);
    }
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::unique_lock lock(dom->mutex());
    CORRAL_TRY(dom->beginJob(lock, function));
    objects::JobGuard guard(*dom);

    CORRAL_ASSIGN_OR_RETURN(const ChangeTargets targets, changeTargets(*dom, flags));
    const bool live = targets.live;
    const bool config = targets.config;

    std::shared_ptr<conf::DomainDef> newLive, newConfig;
    const std::shared_ptr<const conf::DomainDef> liveBase = dom->def;
    if (live) {
        newLive = std::make_shared<conf::DomainDef>(*liveBase);
        CORRAL_TRY(edit(*newLive, true));
        CORRAL_TRY(conf::validateDomainDef(*newLive));
    }
    if (config) {
        const conf::DomainDef& base = dom->isActive() ? *dom->newDef : *dom->def;
        newConfig = std::make_shared<conf::DomainDef>(base);
        CORRAL_TRY(edit(*newConfig, false));
        CORRAL_TRY(conf::validateDomainDef(*newConfig));
    }
    if (live) {
        if (applyLive) {
            lock.unlock();
            auto applied = applyLive(*dom, *newLive);
            lock.lock();
            if (!applied) {
                return std::move(applied).withContext("domain '" + dom->name() + "'");
            }
            if (!dom->isActive()) {
                // It stopped meanwhile: its live definition is gone, the persistent one is back.
                return fail(ErrorCode::OperationFailed,
                            "domain '" + dom->name() + "' stopped while its live definition was being changed",
                            ErrorDomain::Domain);
            }
            if (dom->def != liveBase) {
                // The guest let go of a device meanwhile (guestDeviceRemoved needs no job): keep it gone.
                std::erase_if(newLive->devices, [&](const conf::XmlNode& dev) {
                    if (dev.name == "interface") {
                        const std::string mac = dev.childAttr("mac", "address");
                        return !hasInterface(*dom->def, mac) && hasInterface(*liveBase, mac);
                    }
                    return dev.name == "disk" && !hasDisk(*dom->def, dev.childAttr("target", "dev")) &&
                           hasDisk(*liveBase, dev.childAttr("target", "dev"));
                });
            }
        }
        std::shared_ptr<const conf::DomainDef> before = dom->def;
        dom->def = newLive;
        saveStatusLocked(dom);
        if (after) {
            after(dom, *before, *newLive);
        }
    }
    if (config) {
        if (options_.store != nullptr) {
            CORRAL_TRY(options_.store->putDefinition(
                options_.driverName, newConfig->uuid, newConfig->name,
                conf::formatDomainXml(*newConfig, {.secure = true, .inactive = true})));
        }
        (dom->isActive() ? dom->newDef : dom->def) = newConfig;
    }
    return {};
}

Result<void> DomainManager::changeTuning(const DomainRef& ref, unsigned flags, const char* function,
                                         const TuningChange& change) {
    auto edit = [&change](conf::DomainDef& def, bool live) -> Result<void> {
        DomainTuning tuning = conf::readTuning(def);
        CORRAL_TRY(change(tuning, def, live));
        conf::writeTuning(def, tuning);
        return {};
    };
    auto announce = [this](const DomainObjPtr& dom, const conf::DomainDef& before, const conf::DomainDef& after) {
        std::vector<TypedValue> changed = cputuneChanges(conf::readTuning(before).cpu, conf::readTuning(after).cpu);
        if (changed.empty()) {
            return;
        }
        DomainEvent ev;
        ev.dom = refOf(*dom);
        ev.eventId = event_id::kTunable;
        ev.params = std::move(changed);
        events_.emit(ev);
    };
    auto apply = [this](objects::DomainObj& dom, conf::DomainDef& newLive) {
        return backend_->applyTuning(dom, newLive);
    };
    return changeDefinition(ref, flags, function, edit, apply, announce);
}

Result<DomainTuning> DomainManager::readTuningFor(const DomainRef& ref, unsigned flags, const char* function) {
    flags &= ~kTypedParamStringOkay;
    if ((flags & ~kAffectBits) != 0) {
        return unsupportedFlags(flags, function);
    }
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    CORRAL_ASSIGN_OR_RETURN(const bool live, queryIsLive(*dom, flags));
    if (live) {
        // The cgroups are the truth for a running guest (an admin may have written them).
        return backend_->readLiveTuning(*dom);
    }
    std::lock_guard lock(dom->mutex());
    return conf::readTuning(definitionFor(*dom, false));
}

Result<std::pair<std::string, int>> DomainManager::schedulerType(const DomainRef& ref) {
    CORRAL_TRY(find(ref));
    if (auto fixed = backend_->fixedScheduler()) {
        return std::make_pair(fixed->type, 1);
    }
    return std::make_pair(std::string("posix"), static_cast<int>(1 + 2 * backend_->cpuBandwidthGroups().size()));
}

Result<std::vector<TypedValue>> DomainManager::schedulerParameters(const DomainRef& ref, unsigned flags) {
    if (auto fixed = backend_->fixedScheduler()) {
        CORRAL_TRY(readTuningFor(ref, flags, "domainGetSchedulerParameters"));  // the flags and the domain
        return std::vector<TypedValue>{{fixed->parameter, fixed->value}};
    }
    CORRAL_ASSIGN_OR_RETURN(DomainTuning t, readTuningFor(ref, flags, "domainGetSchedulerParameters"));
    std::vector<TypedValue> out;
    out.push_back({"cpu_shares", t.cpu.shares.value_or(0)});
    for (const auto& group : backend_->cpuBandwidthGroups()) {
        const conf::CpuBandwidth& bw = bandwidthOf(t.cpu, group);
        out.push_back({group + "_period", bw.period.value_or(0)});
        out.push_back({group + "_quota", bw.quota.value_or(0)});
    }
    return out;
}

Result<void> DomainManager::setSchedulerParameters(const DomainRef& ref, const std::vector<TypedValue>& params,
                                                   unsigned flags) {
    if (auto fixed = backend_->fixedScheduler()) {
        for (const auto& p : params) {
            if (p.field != fixed->parameter) {
                return fail(ErrorCode::InvalidArg, "argument unsupported: parameter '" + p.field + "' not supported",
                            ErrorDomain::Domain);
            }
            CORRAL_TRY(unsignedParam(p));
        }
        return changeTuning(ref, flags, "domainSetSchedulerParameters",
                            [](DomainTuning&, const conf::DomainDef&, bool) -> Result<void> { return {}; });
    }
    const auto groups = backend_->cpuBandwidthGroups();
    for (const auto& p : params) {
        bool known = p.field == "cpu_shares" || std::any_of(groups.begin(), groups.end(), [&](const std::string& g) {
                         return p.field == g + "_period" || p.field == g + "_quota";
                     });
        if (!known) {
            return fail(ErrorCode::InvalidArg, "argument unsupported: parameter '" + p.field + "' not supported",
                        ErrorDomain::Domain);
        }
    }
    return changeTuning(ref, flags, "domainSetSchedulerParameters",
                        [&](DomainTuning& t, const conf::DomainDef&, bool) -> Result<void> {
                            Result<void> status;
                            for (const auto& p : params) {
                                if (p.field == "cpu_shares") {
                                    CORRAL_ASSIGN_OR_RETURN(std::uint64_t v, unsignedParam(p));
                                    if (v < 2 || v > 262144) {
                                        return badParam(p.field, "must be between 2 and 262144, not " +
                                                                     std::to_string(v));
                                    }
                                    t.cpu.shares = v;
                                }
                                setBandwidthParam(p, "vcpu", t.cpu.vcpu, status);
                                setBandwidthParam(p, "emulator", t.cpu.emulator, status);
                                setBandwidthParam(p, "global", t.cpu.global, status);
                                setBandwidthParam(p, "iothread", t.cpu.iothread, status);
                                CORRAL_TRY(status);
                            }
                            return {};
                        });
}

Result<std::vector<TypedValue>> DomainManager::memoryParameters(const DomainRef& ref, unsigned flags) {
    CORRAL_ASSIGN_OR_RETURN(DomainTuning t, readTuningFor(ref, flags, "domainGetMemoryParameters"));
    return std::vector<TypedValue>{
        {"hard_limit", memoryValue(t.memory.hardLimitKiB)},
        {"soft_limit", memoryValue(t.memory.softLimitKiB)},
        {"swap_hard_limit", memoryValue(t.memory.swapHardLimitKiB)},
    };
}

Result<void> DomainManager::setMemoryParameters(const DomainRef& ref, const std::vector<TypedValue>& params,
                                                unsigned flags) {
    return changeTuning(ref, flags, "domainSetMemoryParameters",
                        [&](DomainTuning& t, const conf::DomainDef&, bool) -> Result<void> {
                            for (const auto& p : params) {
                                CORRAL_ASSIGN_OR_RETURN(std::uint64_t v, unsignedParam(p));
                                std::optional<std::uint64_t> limit;
                                if (v < conf::kMemoryParamUnlimited) {
                                    limit = v;
                                }
                                if (p.field == "hard_limit") {
                                    t.memory.hardLimitKiB = limit;
                                } else if (p.field == "soft_limit") {
                                    t.memory.softLimitKiB = limit;
                                } else if (p.field == "swap_hard_limit") {
                                    t.memory.swapHardLimitKiB = limit;
                                } else {
                                    return fail(ErrorCode::InvalidArg,
                                                "argument unsupported: parameter '" + p.field + "' not supported",
                                                ErrorDomain::Domain);
                                }
                            }
                            const auto& m = t.memory;
                            if (m.hardLimitKiB && m.swapHardLimitKiB && *m.swapHardLimitKiB < *m.hardLimitKiB) {
                                return fail(ErrorCode::InvalidArg,
                                            "memory hard_limit tunable value must be lower than or equal to "
                                            "swap_hard_limit",
                                            ErrorDomain::Domain);
                            }
                            return {};
                        });
}

Result<std::vector<TypedValue>> DomainManager::blkioParameters(const DomainRef& ref, unsigned flags) {
    CORRAL_ASSIGN_OR_RETURN(DomainTuning t, readTuningFor(ref, flags, "domainGetBlkioParameters"));
    const auto& b = t.blkio;
    return std::vector<TypedValue>{
        {"weight", b.weight.value_or(0)},
        {"device_weight", deviceListText(b, [](const auto& d) { return std::uint64_t{d.weight.value_or(0)}; })},
        {"device_read_iops_sec", deviceListText(b, [](const auto& d) { return d.readIopsSec; })},
        {"device_write_iops_sec", deviceListText(b, [](const auto& d) { return d.writeIopsSec; })},
        {"device_read_bytes_sec", deviceListText(b, [](const auto& d) { return d.readBytesSec; })},
        {"device_write_bytes_sec", deviceListText(b, [](const auto& d) { return d.writeBytesSec; })},
    };
}

Result<void> DomainManager::setBlkioParameters(const DomainRef& ref, const std::vector<TypedValue>& params,
                                               unsigned flags) {
    return changeTuning(
        ref, flags, "domainSetBlkioParameters", [&](DomainTuning& t, const conf::DomainDef&, bool) -> Result<void> {
            for (const auto& p : params) {
                if (p.field == "weight") {
                    CORRAL_ASSIGN_OR_RETURN(std::uint64_t v, unsignedParam(p));
                    t.blkio.weight = static_cast<unsigned>(v);
                    continue;
                }
                using Setter = void (*)(conf::BlkioDeviceTune&, std::uint64_t);
                Setter set = nullptr;
                if (p.field == "device_weight") {
                    set = [](conf::BlkioDeviceTune& d, std::uint64_t v) {
                        d.weight = v == 0 ? std::nullopt : std::optional<unsigned>(static_cast<unsigned>(v));
                    };
                } else if (p.field == "device_read_iops_sec") {
                    set = [](conf::BlkioDeviceTune& d, std::uint64_t v) { d.readIopsSec = v; };
                } else if (p.field == "device_write_iops_sec") {
                    set = [](conf::BlkioDeviceTune& d, std::uint64_t v) { d.writeIopsSec = v; };
                } else if (p.field == "device_read_bytes_sec") {
                    set = [](conf::BlkioDeviceTune& d, std::uint64_t v) { d.readBytesSec = v; };
                } else if (p.field == "device_write_bytes_sec") {
                    set = [](conf::BlkioDeviceTune& d, std::uint64_t v) { d.writeBytesSec = v; };
                } else {
                    return fail(ErrorCode::InvalidArg, "argument unsupported: parameter '" + p.field + "' not supported",
                                ErrorDomain::Domain);
                }
                CORRAL_ASSIGN_OR_RETURN(auto entries, parseDeviceList(p));
                for (const auto& [path, value] : entries) {
                    set(deviceEntry(t.blkio, path), value);
                }
            }
            return {};
        });
}

Result<void> DomainManager::pinVcpu(const DomainRef& ref, unsigned vcpu, const std::vector<std::uint8_t>& cpumap,
                                    unsigned flags) {
    CORRAL_ASSIGN_OR_RETURN(std::string cpuset, cpusetFromMap(cpumap, backend_->onlineHostCpus()));
    return changeTuning(ref, flags, "domainPinVcpuFlags",
                        [&](DomainTuning& t, const conf::DomainDef& def, bool live) -> Result<void> {
                            if (vcpu >= def.vcpus) {
                                return fail(ErrorCode::InvalidArg,
                                            "vcpu " + std::to_string(vcpu) + " is out of range of " +
                                                (live ? "live" : "persistent") + " cpu count " +
                                                std::to_string(def.vcpus),
                                            ErrorDomain::Domain);
                            }
                            t.cpu.vcpupin[vcpu] = cpuset;
                            return {};
                        });
}

Result<void> DomainManager::pinEmulator(const DomainRef& ref, const std::vector<std::uint8_t>& cpumap, unsigned flags) {
    CORRAL_ASSIGN_OR_RETURN(std::string cpuset, cpusetFromMap(cpumap, backend_->onlineHostCpus()));
    return changeTuning(ref, flags, "domainPinEmulator", [&](DomainTuning& t, const conf::DomainDef&, bool) {
        t.cpu.emulatorpin = cpuset;
        return Result<void>{};
    });
}

Result<std::vector<std::uint8_t>> DomainManager::emulatorPinInfo(const DomainRef& ref, unsigned flags) {
    if ((flags & ~kAffectBits) != 0) {
        return unsupportedFlags(flags, "domainGetEmulatorPinInfo");
    }
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::lock_guard lock(dom->mutex());
    CORRAL_ASSIGN_OR_RETURN(const bool live, queryIsLive(*dom, flags));
    // Live pinning is recorded in the live definition as it is applied, so the definition answers.
    const conf::DomainDef& def = definitionFor(*dom, live);
    std::string cpuset = conf::readTuning(def).cpu.emulatorpin;
    const std::vector<std::uint8_t> online = backend_->onlineHostCpus();
    if (cpuset.empty()) {
        return online;
    }
    return cpumapFromList(parseCpuList(cpuset), online.size());
}

Result<void> DomainManager::pinIothread(const DomainRef& ref, unsigned iothread, const std::vector<std::uint8_t>& cpumap,
                                        unsigned flags) {
    CORRAL_ASSIGN_OR_RETURN(std::string cpuset, cpusetFromMap(cpumap, backend_->onlineHostCpus()));
    return changeTuning(ref, flags, "domainPinIOThread",
                        [&](DomainTuning& t, const conf::DomainDef& def, bool) -> Result<void> {
                            if (iothread == 0 || iothread > iothreadCount(def)) {
                                return fail(ErrorCode::InvalidArg,
                                            "iothread " + std::to_string(iothread) + " not found", ErrorDomain::Domain);
                            }
                            t.cpu.iothreadpin[iothread] = cpuset;
                            return {};
                        });
}

}  // namespace corral::drivers
