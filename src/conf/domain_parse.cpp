// SPDX-License-Identifier: LGPL-2.1-or-later
// Domain XML -> DomainDef: typed fields, schema-known elements as trees, unknown ones verbatim.
#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "conf/domain_def.hpp"
#include "conf/domain_schema.hpp"
#include "util/strings.hpp"

namespace corral::conf {

namespace {

constexpr std::string_view kDocName = "(domain_definition)";

Unexpected xmlError(std::string message) {
    return fail(ErrorCode::XmlError, std::move(message), ErrorDomain::Domain);
}

std::string where(const XmlNode& n) { return " (line " + std::to_string(n.line) + ")"; }

Result<std::uint64_t> parseMemoryElement(const XmlNode& n) {
    const std::string* unit = n.attr("unit");
    return scaledToKiB(trimString(n.text), unit != nullptr ? *unit : "KiB", n.name);
}

/// Rewrites a scaled-integer element to KiB, as libvirt's formatter always does.
Result<void> normaliseScaled(XmlNode& n) {
    CORRAL_ASSIGN_OR_RETURN(std::uint64_t kib, parseMemoryElement(n));
    n.text = std::to_string(kib);
    n.setAttr("unit", "KiB");
    return {};
}

Result<unsigned> parseCount(std::string_view text, std::string_view what) {
    auto n = parseUnsigned(trimString(text));
    if (!n || *n > 1000000) {
        return xmlError("invalid value '" + std::string(text) + "' for " + std::string(what));
    }
    return static_cast<unsigned>(*n);
}

Result<void> parseOs(const XmlNode& n, OsDef& os) {
    os.attributes.attrs = n.attrs;
    os.attributes.line = n.line;
    for (const auto& c : n.children) {
        if (c.name == "type") {
            os.type = std::string(trimString(c.text));
            if (const auto* a = c.attr("arch")) {
                os.arch = *a;
            }
            if (const auto* m = c.attr("machine")) {
                os.machine = *m;
            }
        } else {
            os.elements.push_back(c);
        }
    }
    return {};
}

}  // namespace

std::string diskSourcePath(const XmlNode& disk) {
    std::string path = disk.childAttr("source", "file");
    return path.empty() ? disk.childAttr("source", "dev") : path;
}

Result<std::optional<PciAddress>> pciAddressOf(const XmlNode& device) {
    const XmlNode* address = device.child("address");
    if (address == nullptr || address->attrOr("type") != "pci") {
        return std::optional<PciAddress>();
    }
    PciAddress pci;
    for (auto [name, out] : {std::pair{"domain", &pci.domain}, {"bus", &pci.bus}, {"slot", &pci.slot},
                             {"function", &pci.function}}) {
        const std::string text = address->attrOr(name, "0");
        char* end = nullptr;
        unsigned long value = std::strtoul(text.c_str(), &end, 0);
        if (text.empty() || end == text.c_str() || *end != '\0' || text[0] == '-' || value > 0xffff) {
            return fail(ErrorCode::XmlError, "<" + device.name + "> <address type='pci'>: " + name + " '" + text +
                                                 "' is not a number");
        }
        *out = static_cast<unsigned>(value);
    }
    return std::optional<PciAddress>(pci);
}

bool isDiskWithTarget(const XmlNode& device, std::string_view target) {
    return device.name == "disk" && device.childAttr("target", "dev") == target;
}

std::string OsDef::value(std::string_view name) const {
    for (const auto& e : elements) {
        if (e.name == name) {
            e.markRead();
            return e.text;
        }
    }
    return {};
}

std::vector<std::string> OsDef::values(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& e : elements) {
        if (e.name == name) {
            e.markRead();
            out.push_back(e.text);
        }
    }
    return out;
}

std::vector<std::string> DomainDef::macAddresses() const {
    std::vector<std::string> out;
    for (const auto& d : devices) {
        if (d.name != "interface") {
            continue;
        }
        if (const XmlNode* mac = d.child("mac")) {
            if (const std::string* addr = mac->attr("address")) {
                out.push_back(*addr);
            }
        }
    }
    return out;
}

const XmlNode* DomainDef::element(std::string_view elementName) const {
    for (const auto& e : elements) {
        if (e.name == elementName) {
            e.markRead();
            return &e;
        }
    }
    return nullptr;
}

Result<std::uint64_t> scaledToKiB(std::string_view value, std::string_view unit, std::string_view element) {
    auto n = parseUnsigned(value);
    if (!n) {
        return xmlError("invalid value '" + std::string(value) + "' for element '" + std::string(element) + "'");
    }
    std::string u(unit);
    std::transform(u.begin(), u.end(), u.begin(), [](unsigned char c) { return std::tolower(c); });
    // libvirt's units: powers of 1024 for k/KiB/M/MiB..., of 1000 for KB/MB/...
    struct Unit {
        const char* name;
        std::uint64_t bytes;
    };
    static const Unit kUnits[] = {
        {"b", 1}, {"bytes", 1},
        {"k", 1ull << 10}, {"kib", 1ull << 10}, {"kb", 1000ull},
        {"m", 1ull << 20}, {"mib", 1ull << 20}, {"mb", 1000000ull},
        {"g", 1ull << 30}, {"gib", 1ull << 30}, {"gb", 1000000000ull},
        {"t", 1ull << 40}, {"tib", 1ull << 40}, {"tb", 1000000000000ull},
        {"p", 1ull << 50}, {"pib", 1ull << 50}, {"pb", 1000000000000000ull},
        {"e", 1ull << 60}, {"eib", 1ull << 60}, {"eb", 1000000000000000000ull},
    };
    for (const auto& candidate : kUnits) {
        if (u == candidate.name) {
            if (*n != 0 && candidate.bytes > UINT64_MAX / *n) {
                return xmlError("value '" + std::string(value) + " " + std::string(unit) +
                                "' of element '" + std::string(element) + "' is too large");
            }
            std::uint64_t bytes = *n * candidate.bytes;
            return (bytes + 1023) / 1024;  // libvirt rounds up to whole KiB
        }
    }
    return xmlError("unknown unit '" + std::string(unit) + "' for element '" + std::string(element) + "'");
}

Result<std::unique_ptr<DomainDef>> parseDomainXml(std::string_view xml, const ParseOptions& opts) {
    CORRAL_ASSIGN_OR_RETURN(XmlNode root, parseXmlDocument(xml, kDocName));
    if (root.name != "domain") {
        return xmlError("unexpected root element <" + root.name + ">, expecting <domain>");
    }
    auto def = std::make_unique<DomainDef>();
    const std::string* type = root.attr("type");
    if (type == nullptr || type->empty()) {
        return xmlError("missing domain type attribute");
    }
    if (!isKnownVirtType(*type)) {
        return xmlError("invalid domain type '" + *type + "'");
    }
    def->type = *type;
    for (const auto& [k, v] : root.attrs) {
        if (k != "type" && k != "id") {
            def->rootAttrs.emplace_back(k, v);
        }
    }

    bool haveUuid = false;
    for (auto& n : root.children) {
        const std::string& name = n.name;
        if (name == "name") {
            def->name = std::string(trimString(n.text));
        } else if (name == "uuid") {
            auto uuid = Uuid::parse(n.text);
            if (!uuid) {
                return xmlError("malformed uuid element '" + n.text + "'" + where(n));
            }
            def->uuid = *uuid;
            haveUuid = true;
        } else if (name == "title") {
            if (n.text.find('\n') != std::string::npos) {
                return xmlError("Domain title can't contain newlines");
            }
            def->title = n.text;
        } else if (name == "description") {
            def->description = n.text;
        } else if (name == "memory") {
            CORRAL_ASSIGN_OR_RETURN(def->memoryKiB, parseMemoryElement(n));
            if (const auto* dump = n.attr("dumpCore")) {
                def->memoryDumpCore = *dump;
            }
        } else if (name == "currentMemory") {
            CORRAL_ASSIGN_OR_RETURN(def->currentMemoryKiB, parseMemoryElement(n));
        } else if (name == "vcpu") {
            CORRAL_ASSIGN_OR_RETURN(def->vcpus, parseCount(n.text, "element 'vcpu'"));
            if (const auto* cur = n.attr("current")) {
                CORRAL_ASSIGN_OR_RETURN(def->vcpuCurrent, parseCount(*cur, "attribute 'current' of element 'vcpu'"));
            }
            if (const auto* p = n.attr("placement")) {
                if (*p != "static" && *p != "auto") {
                    return xmlError("invalid value '" + *p + "' for attribute 'placement' of element 'vcpu'");
                }
                def->vcpuPlacement = *p;
            }
            if (const auto* c = n.attr("cpuset")) {
                def->vcpuCpuset = *c;
            }
        } else if (name == "os") {
            CORRAL_TRY(parseOs(n, def->os));
        } else if (name == "on_poweroff" || name == "on_reboot" || name == "on_crash") {
            std::string action(trimString(n.text));
            if (!isKnownLifecycleAction(action, name == "on_crash")) {
                return xmlError("invalid value '" + action + "' for element '" + name + "'");
            }
            (name == "on_poweroff" ? def->onPoweroff : name == "on_reboot" ? def->onReboot : def->onCrash) = action;
        } else if (name == "devices") {
            for (auto& d : n.children) {
                if (d.name == "emulator") {
                    def->emulator = std::string(trimString(d.text));
                    continue;
                }
                if (deviceOrder(d.name) < 0 && opts.validateSchemaStrict) {
                    return xmlError("element 'devices' has an unknown child element '" + d.name + "'" + where(d));
                }
                def->devices.push_back(d);
            }
        } else if (topLevelOrder(name) >= 0) {
            if (name == "maxMemory") {
                CORRAL_TRY(normaliseScaled(n));
            } else if (name == "memtune") {
                for (auto& c : n.children) {
                    CORRAL_TRY(normaliseScaled(c));
                }
            }
            def->elements.push_back(n);
        } else {
            if (opts.validateSchemaStrict) {
                return xmlError("element 'domain' has an unknown child element '" + name + "'" + where(n));
            }
            def->unknown.push_back(n);
        }
    }
    if (!haveUuid) {
        def->uuid = Uuid{};  // null: post-parse generates one
    }
    return def;
}

std::vector<std::string> describeUnknownElements(const DomainDef& def) {
    std::vector<std::string> out;
    for (const auto& n : def.unknown) {
        out.push_back("element '" + n.name + "'" + where(n));
    }
    for (const auto& d : def.devices) {
        if (deviceOrder(d.name) < 0) {
            out.push_back("device element '" + d.name + "'" + where(d));
        }
    }
    return out;
}

}  // namespace corral::conf
