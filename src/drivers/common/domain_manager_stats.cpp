// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainManager's statistics: the checks and the shapes libvirt's clients expect around what the
// backend reads from a running guest, and the typed-parameter records of GET_ALL_DOMAIN_STATS.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "conf/domain_def.hpp"
#include "drivers/common/domain_manager.hpp"
#include "drivers/common/domain_manager_errors.hpp"
#include "host/node_info.hpp"
#include "util/strings.hpp"

namespace corral::drivers {

using objects::DomainObjPtr;

namespace {

// virDomainModificationImpact: LIVE 1, CONFIG 2.
constexpr unsigned kAffectLive = 1, kAffectConfig = 2;
// virConnectGetAllDomainStatsFlags: the list-filter bits, then the modifiers.
constexpr unsigned kStatsListBits = 0xff;
constexpr unsigned kStatsNoWait = 1u << 29;
constexpr unsigned kStatsBacking = 1u << 30;
constexpr unsigned kStatsEnforce = 1u << 31;

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

void addCounter(std::vector<TypedValue>& out, const std::string& field, std::int64_t v) {
    if (v >= 0) {
        out.push_back({field, static_cast<std::uint64_t>(v)});
    }
}

/// Disk targets and sources of a definition, for an inactive domain's block group.
std::vector<BlockStats> disksOf(const conf::DomainDef& def) {
    std::vector<BlockStats> out;
    for (const auto& dev : def.devices) {
        if (dev.name != "disk") {
            continue;
        }
        BlockStats b;
        b.target = dev.childAttr("target", "dev");
        b.source = conf::diskSourcePath(dev);
        out.push_back(std::move(b));
    }
    return out;
}

}  // namespace

Result<DomainObjPtr> DomainManager::findRunning(const DomainRef& ref) const {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    if (!dom->isActive()) {
        return notRunning();
    }
    return dom;
}

Result<std::vector<VcpuStats>> DomainManager::getVcpus(const DomainRef& ref) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, findRunning(ref));
    return backend_->vcpuStats(*dom);
}

Result<std::vector<std::vector<std::uint8_t>>> DomainManager::vcpuPinInfo(const DomainRef& ref, unsigned flags) {
    if ((flags & ~(kAffectLive | kAffectConfig)) != 0) {
        return unsupportedFlags(flags, "domainGetVcpuPinInfo");
    }
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::lock_guard lock(dom->mutex());
    const bool config = (flags & kAffectConfig) != 0 || !dom->isActive();
    if ((flags & kAffectLive) != 0 && !dom->isActive()) {
        return notRunning();
    }
    const conf::DomainDef& def = config && dom->newDef ? *dom->newDef : *dom->def;
    // <vcpu cpuset='...'> pins every vCPU; per-vCPU <vcpupin> is issue 6's.
    std::vector<std::uint8_t> map = backend_->onlineHostCpus();
    if (!def.vcpuCpuset.empty()) {
        std::fill(map.begin(), map.end(), 0);
        for (unsigned cpu : parseCpuList(def.vcpuCpuset)) {
            if (cpu / 8 < map.size()) {
                map[cpu / 8] |= static_cast<std::uint8_t>(1u << (cpu % 8));
            }
        }
    }
    return std::vector<std::vector<std::uint8_t>>(def.vcpus, map);
}

Result<BlockStats> DomainManager::blockStats(const DomainRef& ref, const std::string& path) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, findRunning(ref));
    CORRAL_ASSIGN_OR_RETURN(auto disks, backend_->blockStats(*dom));
    if (path.empty()) {
        // As libvirt's QEMU driver: no path sums every disk.
        BlockStats sum;
        sum.rdReqs = sum.rdBytes = sum.wrReqs = sum.wrBytes = sum.flushReqs = 0;
        sum.rdTimeNs = sum.wrTimeNs = sum.flushTimeNs = 0;
        for (const auto& d : disks) {
            sum.rdReqs += std::max<std::int64_t>(d.rdReqs, 0);
            sum.rdBytes += std::max<std::int64_t>(d.rdBytes, 0);
            sum.wrReqs += std::max<std::int64_t>(d.wrReqs, 0);
            sum.wrBytes += std::max<std::int64_t>(d.wrBytes, 0);
            sum.flushReqs += std::max<std::int64_t>(d.flushReqs, 0);
            sum.rdTimeNs += std::max<std::int64_t>(d.rdTimeNs, 0);
            sum.wrTimeNs += std::max<std::int64_t>(d.wrTimeNs, 0);
            sum.flushTimeNs += std::max<std::int64_t>(d.flushTimeNs, 0);
        }
        return sum;
    }
    for (const auto& d : disks) {
        if (d.target == path || (!d.source.empty() && d.source == path)) {
            return d;
        }
    }
    return fail(ErrorCode::InvalidArg, "invalid path: " + path, ErrorDomain::Domain);
}

Result<InterfaceStats> DomainManager::interfaceStats(const DomainRef& ref, const std::string& device) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, findRunning(ref));
    CORRAL_ASSIGN_OR_RETURN(auto ifaces, backend_->interfaceStats(*dom));
    for (const auto& i : ifaces) {
        if (i.target == device || (!i.mac.empty() && lower(i.mac) == lower(device))) {
            return i;
        }
    }
    return fail(ErrorCode::InvalidArg, "invalid path, '" + device + "' is not a known interface", ErrorDomain::Domain);
}

Result<std::vector<MemoryStat>> DomainManager::memoryStats(const DomainRef& ref, unsigned maxStats) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, findRunning(ref));
    CORRAL_ASSIGN_OR_RETURN(auto stats, backend_->memoryStats(*dom));
    if (stats.size() > maxStats) {
        stats.resize(maxStats);
    }
    return stats;
}

Result<std::vector<IothreadStats>> DomainManager::iothreadInfo(const DomainRef& ref, unsigned flags) {
    if ((flags & ~(kAffectLive | kAffectConfig)) != 0) {
        return unsupportedFlags(flags, "domainGetIOThreadInfo");
    }
    if ((flags & kAffectLive) != 0 && (flags & kAffectConfig) != 0) {
        return fail(ErrorCode::InvalidArg, "--live and --config are mutually exclusive", ErrorDomain::Domain);
    }
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    const bool live = (flags & kAffectLive) != 0 || ((flags & kAffectConfig) == 0 && dom->isActive());
    if (live) {
        if (!dom->isActive()) {
            return notRunning();
        }
        return backend_->iothreadStats(*dom);
    }
    std::lock_guard lock(dom->mutex());
    const conf::DomainDef& def = dom->newDef ? *dom->newDef : *dom->def;
    unsigned count = 0;
    if (const conf::XmlNode* node = def.element("iothreads"); node != nullptr) {
        count = static_cast<unsigned>(std::strtoul(node->text.c_str(), nullptr, 10));
    }
    std::vector<IothreadStats> out;
    for (unsigned id = 1; id <= count; ++id) {
        out.push_back({id, backend_->onlineHostCpus()});
    }
    return out;
}

Result<std::vector<DomainStatsRecord>> DomainManager::allDomainStats(const std::vector<DomainRef>& doms,
                                                                     unsigned groups, unsigned flags) {
    if ((flags & ~(kStatsListBits | kStatsNoWait | kStatsBacking | kStatsEnforce)) != 0) {
        return unsupportedFlags(flags, "connectGetAllDomainStats");
    }
    if ((flags & kStatsEnforce) != 0 && (groups & ~stats_groups::kSupported) != 0) {
        char hex[16];
        std::snprintf(hex, sizeof hex, "0x%x", groups & ~stats_groups::kSupported);
        return fail(ErrorCode::InvalidArg, std::string("Stats types bits ") + hex + " are not supported by this daemon",
                    ErrorDomain::Domain);
    }
    if (groups == 0) {
        groups = stats_groups::kSupported;
    }
    std::vector<DomainRef> refs = doms;
    if (refs.empty()) {
        CORRAL_ASSIGN_OR_RETURN(refs, listAll(flags & kStatsListBits));
    }
    std::vector<DomainStatsRecord> out;
    for (const auto& ref : refs) {
        auto found = find(ref);
        if (!found) {
            if (!doms.empty()) {
                return unexpected(std::move(found).error());
            }
            continue;  // undefined while we were listing
        }
        out.push_back(statsRecord(*found, groups));
    }
    return out;
}

DomainStatsRecord DomainManager::statsRecord(const DomainObjPtr& dom, unsigned groups) {
    DomainStatsRecord rec;
    std::shared_ptr<conf::DomainDef> def;
    {
        std::lock_guard lock(dom->mutex());
        rec.dom = refOf(*dom);
        def = dom->def;
    }
    auto& p = rec.params;
    const bool active = dom->isActive();
    if ((groups & stats_groups::kState) != 0) {
        p.push_back({"state.state", static_cast<int>(dom->state())});
        p.push_back({"state.reason", dom->reason()});
    }
    if ((groups & stats_groups::kCpuTotal) != 0 && active) {
        std::lock_guard lock(dom->mutex());
        p.push_back({"cpu.time", backend_->cpuTimeNs(*dom)});
    }
    if ((groups & stats_groups::kBalloon) != 0) {
        std::uint64_t current = def->currentMemoryKiB;
        if (active) {
            if (auto mem = backend_->memoryStats(*dom)) {
                for (const auto& m : *mem) {
                    if (m.tag == memory_stat::kActualBalloon) {
                        current = m.value;
                    }
                }
            }
        }
        p.push_back({"balloon.current", current});
        p.push_back({"balloon.maximum", def->memoryKiB});
    }
    if ((groups & stats_groups::kVcpu) != 0) {
        unsigned current = def->vcpuCurrent != 0 ? def->vcpuCurrent : def->vcpus;
        p.push_back({"vcpu.current", current});
        p.push_back({"vcpu.maximum", def->vcpus});
        if (active) {
            if (auto vcpus = backend_->vcpuStats(*dom)) {
                for (const auto& v : *vcpus) {
                    const std::string prefix = "vcpu." + std::to_string(v.number) + ".";
                    p.push_back({prefix + "state", v.state});
                    p.push_back({prefix + "time", v.cpuTimeNs});
                }
            }
        }
    }
    if ((groups & stats_groups::kInterface) != 0 && active) {
        auto ifaces = backend_->interfaceStats(*dom);
        std::vector<InterfaceStats> list = ifaces ? std::move(*ifaces) : std::vector<InterfaceStats>{};
        p.push_back({"net.count", static_cast<unsigned>(list.size())});
        for (std::size_t i = 0; i < list.size(); ++i) {
            const auto& n = list[i];
            const std::string prefix = "net." + std::to_string(i) + ".";
            p.push_back({prefix + "name", n.target});
            addCounter(p, prefix + "rx.bytes", n.rxBytes);
            addCounter(p, prefix + "rx.pkts", n.rxPackets);
            addCounter(p, prefix + "rx.errs", n.rxErrs);
            addCounter(p, prefix + "rx.drop", n.rxDrop);
            addCounter(p, prefix + "tx.bytes", n.txBytes);
            addCounter(p, prefix + "tx.pkts", n.txPackets);
            addCounter(p, prefix + "tx.errs", n.txErrs);
            addCounter(p, prefix + "tx.drop", n.txDrop);
        }
    }
    if ((groups & stats_groups::kBlock) != 0) {
        std::vector<BlockStats> disks;
        if (active) {
            if (auto live = backend_->blockStats(*dom)) {
                disks = std::move(*live);
            }
        } else {
            disks = disksOf(*def);
        }
        p.push_back({"block.count", static_cast<unsigned>(disks.size())});
        for (std::size_t i = 0; i < disks.size(); ++i) {
            const auto& b = disks[i];
            const std::string prefix = "block." + std::to_string(i) + ".";
            p.push_back({prefix + "name", b.target});
            if (!b.source.empty()) {
                p.push_back({prefix + "path", b.source});
            }
            addCounter(p, prefix + "rd.reqs", b.rdReqs);
            addCounter(p, prefix + "rd.bytes", b.rdBytes);
            addCounter(p, prefix + "rd.times", b.rdTimeNs);
            addCounter(p, prefix + "wr.reqs", b.wrReqs);
            addCounter(p, prefix + "wr.bytes", b.wrBytes);
            addCounter(p, prefix + "wr.times", b.wrTimeNs);
            addCounter(p, prefix + "fl.reqs", b.flushReqs);
            addCounter(p, prefix + "fl.times", b.flushTimeNs);
        }
    }
    return rec;
}

}  // namespace corral::drivers
