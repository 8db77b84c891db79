// SPDX-License-Identifier: LGPL-2.1-or-later
#include "conf/domain_tuning.hpp"

#include <algorithm>
#include <string_view>

#include "util/strings.hpp"

namespace corral::conf {

namespace {

/// The number in a tuning leaf; the leaf counts as read (xml_read_tracker.hpp): every caller
/// passes it on to a typed field the drivers apply or refuse.
std::optional<std::uint64_t> unsignedOf(const XmlNode& n) {
    n.markRead();
    return parseUnsigned(trimString(n.text));
}

XmlNode leaf(std::string name, std::string text) {
    XmlNode n;
    n.name = std::move(name);
    n.text = std::move(text);
    return n;
}

XmlNode kibLeaf(std::string name, std::uint64_t kib) {
    XmlNode n = leaf(std::move(name), std::to_string(kib));
    n.setAttr("unit", "KiB");
    return n;
}

/// Children of `old` that the model does not write, kept after the ones it does.
void keepUnknown(const XmlNode* old, XmlNode& rebuilt, std::initializer_list<std::string_view> known) {
    if (old == nullptr) {
        return;
    }
    for (const auto& c : old->children) {
        if (std::find(known.begin(), known.end(), c.name) == known.end()) {
            rebuilt.children.push_back(c);
        }
    }
}

/// Replaces (or adds, or removes when empty) the top-level element `name`.
void putElement(DomainDef& def, const std::string& name, XmlNode rebuilt) {
    auto it = std::find_if(def.elements.begin(), def.elements.end(), [&](const XmlNode& e) { return e.name == name; });
    if (rebuilt.children.empty() && rebuilt.attrs.empty()) {
        if (it != def.elements.end()) {
            def.elements.erase(it);
        }
        return;
    }
    if (it != def.elements.end()) {
        rebuilt.line = it->line;
        *it = std::move(rebuilt);
    } else {
        def.elements.push_back(std::move(rebuilt));
    }
}

void readBandwidth(const XmlNode& c, std::string_view prefix, CpuBandwidth& bw) {
    if (c.name == std::string(prefix) + "period") {
        bw.period = unsignedOf(c);
    } else if (c.name == std::string(prefix) + "quota") {
        c.markRead();
        bw.quota = parseSigned(trimString(c.text));
    }
}

void writeBandwidth(XmlNode& t, const std::string& prefix, const CpuBandwidth& bw) {
    if (bw.period) {
        t.children.push_back(leaf(prefix + "period", std::to_string(*bw.period)));
    }
    if (bw.quota) {
        t.children.push_back(leaf(prefix + "quota", std::to_string(*bw.quota)));
    }
}

CpuTune readCpuTune(const XmlNode* t) {
    CpuTune cpu;
    if (t == nullptr) {
        return cpu;
    }
    for (const auto& c : t->children) {
        if (c.name == "shares") {
            cpu.shares = unsignedOf(c);
        } else if (c.name == "vcpupin") {
            cpu.vcpupin[static_cast<unsigned>(parseUnsigned(c.attrOr("vcpu")).value_or(0))] = c.attrOr("cpuset");
        } else if (c.name == "emulatorpin") {
            cpu.emulatorpin = c.attrOr("cpuset");
        } else if (c.name == "iothreadpin") {
            cpu.iothreadpin[static_cast<unsigned>(parseUnsigned(c.attrOr("iothread")).value_or(0))] = c.attrOr("cpuset");
        } else {
            readBandwidth(c, "", cpu.vcpu);
            readBandwidth(c, "global_", cpu.global);
            readBandwidth(c, "emulator_", cpu.emulator);
            readBandwidth(c, "iothread_", cpu.iothread);
        }
    }
    return cpu;
}

XmlNode cpuTuneElement(const CpuTune& cpu, const XmlNode* old) {
    XmlNode t;
    t.name = "cputune";
    if (old != nullptr) {
        t.attrs = old->attrs;
    }
    if (cpu.shares) {
        t.children.push_back(leaf("shares", std::to_string(*cpu.shares)));
    }
    writeBandwidth(t, "", cpu.vcpu);
    writeBandwidth(t, "global_", cpu.global);
    writeBandwidth(t, "emulator_", cpu.emulator);
    writeBandwidth(t, "iothread_", cpu.iothread);
    for (const auto& [vcpu, set] : cpu.vcpupin) {
        XmlNode pin;
        pin.name = "vcpupin";
        pin.setAttr("vcpu", std::to_string(vcpu));
        pin.setAttr("cpuset", set);
        t.children.push_back(std::move(pin));
    }
    if (!cpu.emulatorpin.empty()) {
        XmlNode pin;
        pin.name = "emulatorpin";
        pin.setAttr("cpuset", cpu.emulatorpin);
        t.children.push_back(std::move(pin));
    }
    for (const auto& [id, set] : cpu.iothreadpin) {
        XmlNode pin;
        pin.name = "iothreadpin";
        pin.setAttr("iothread", std::to_string(id));
        pin.setAttr("cpuset", set);
        t.children.push_back(std::move(pin));
    }
    keepUnknown(old, t,
                {"shares", "period", "quota", "global_period", "global_quota", "emulator_period", "emulator_quota",
                 "iothread_period", "iothread_quota", "vcpupin", "emulatorpin", "iothreadpin"});
    return t;
}

MemTune readMemTune(const XmlNode* t) {
    MemTune mem;
    if (t == nullptr) {
        return mem;
    }
    // The parser normalised every child to KiB.
    for (const auto& c : t->children) {
        if (c.name != "hard_limit" && c.name != "soft_limit" && c.name != "swap_hard_limit" &&
            c.name != "min_guarantee") {
            continue;  // not a limit this reader knows: left unread, so the drivers refuse it
        }
        auto value = unsignedOf(c);
        c.markAttrRead("unit");  // the parser rewrote the value in KiB and said so: the unit is applied
        if (value && *value >= kMemoryParamUnlimited) {
            value.reset();  // "unlimited" written out is the same as no limit
        }
        if (c.name == "hard_limit") {
            mem.hardLimitKiB = value;
        } else if (c.name == "soft_limit") {
            mem.softLimitKiB = value;
        } else if (c.name == "swap_hard_limit") {
            mem.swapHardLimitKiB = value;
        } else if (c.name == "min_guarantee") {
            mem.minGuaranteeKiB = value;
        }
    }
    return mem;
}

XmlNode memTuneElement(const MemTune& mem, const XmlNode* old) {
    XmlNode t;
    t.name = "memtune";
    if (mem.hardLimitKiB) {
        t.children.push_back(kibLeaf("hard_limit", *mem.hardLimitKiB));
    }
    if (mem.softLimitKiB) {
        t.children.push_back(kibLeaf("soft_limit", *mem.softLimitKiB));
    }
    if (mem.swapHardLimitKiB) {
        t.children.push_back(kibLeaf("swap_hard_limit", *mem.swapHardLimitKiB));
    }
    if (mem.minGuaranteeKiB) {
        t.children.push_back(kibLeaf("min_guarantee", *mem.minGuaranteeKiB));
    }
    keepUnknown(old, t, {"hard_limit", "soft_limit", "swap_hard_limit", "min_guarantee"});
    return t;
}

BlkioTune readBlkioTune(const XmlNode* t) {
    BlkioTune blkio;
    if (t == nullptr) {
        return blkio;
    }
    for (const auto& c : t->children) {
        if (c.name == "weight") {
            if (auto w = unsignedOf(c)) {
                blkio.weight = static_cast<unsigned>(*w);
            }
        } else if (c.name == "device") {
            BlkioDeviceTune dev;
            dev.path = std::string(trimString(c.childText("path")));
            for (const auto& v : c.children) {
                if (v.name == "weight") {
                    dev.weight = static_cast<unsigned>(unsignedOf(v).value_or(0));
                } else if (v.name == "read_iops_sec") {
                    dev.readIopsSec = unsignedOf(v).value_or(0);
                } else if (v.name == "write_iops_sec") {
                    dev.writeIopsSec = unsignedOf(v).value_or(0);
                } else if (v.name == "read_bytes_sec") {
                    dev.readBytesSec = unsignedOf(v).value_or(0);
                } else if (v.name == "write_bytes_sec") {
                    dev.writeBytesSec = unsignedOf(v).value_or(0);
                }
            }
            blkio.devices.push_back(std::move(dev));
        }
    }
    return blkio;
}

XmlNode blkioTuneElement(const BlkioTune& blkio, const XmlNode* old) {
    XmlNode t;
    t.name = "blkiotune";
    if (blkio.weight) {
        t.children.push_back(leaf("weight", std::to_string(*blkio.weight)));
    }
    for (const auto& dev : blkio.devices) {
        XmlNode d;
        d.name = "device";
        d.children.push_back(leaf("path", dev.path));
        if (dev.weight) {
            d.children.push_back(leaf("weight", std::to_string(*dev.weight)));
        }
        auto put = [&](const char* name, std::uint64_t n) {
            if (n != 0) {
                d.children.push_back(leaf(name, std::to_string(n)));
            }
        };
        put("read_iops_sec", dev.readIopsSec);
        put("write_iops_sec", dev.writeIopsSec);
        put("read_bytes_sec", dev.readBytesSec);
        put("write_bytes_sec", dev.writeBytesSec);
        if (d.children.size() > 1) {  // a device with nothing but its path says nothing
            t.children.push_back(std::move(d));
        }
    }
    keepUnknown(old, t, {"weight", "device"});
    return t;
}

}  // namespace

DomainTuning readTuning(const DomainDef& def) {
    DomainTuning tuning;
    tuning.cpu = readCpuTune(def.element("cputune"));
    tuning.memory = readMemTune(def.element("memtune"));
    tuning.blkio = readBlkioTune(def.element("blkiotune"));
    return tuning;
}

void writeTuning(DomainDef& def, const DomainTuning& tuning) {
    putElement(def, "cputune", cpuTuneElement(tuning.cpu, def.element("cputune")));
    putElement(def, "memtune", memTuneElement(tuning.memory, def.element("memtune")));
    putElement(def, "blkiotune", blkioTuneElement(tuning.blkio, def.element("blkiotune")));
}

}  // namespace corral::conf
