// SPDX-License-Identifier: LGPL-2.1-or-later
// Validation of a post-parsed definition, with libvirt's wording where it has one.
#include <map>

#include "conf/domain_def.hpp"
#include "conf/domain_validate_elements.hpp"
#include "util/strings.hpp"

namespace corral::conf {

namespace {

Unexpected invalid(std::string message) {
    return fail(ErrorCode::XmlError, std::move(message), ErrorDomain::Domain);
}

std::string diskSource(const XmlNode& disk) {
    if (const XmlNode* src = disk.child("source")) {
        for (const char* key : {"file", "dev", "dir", "volume", "name"}) {
            if (const std::string* v = src->attr(key)) {
                return *v;
            }
        }
    }
    return "<null>";
}

}  // namespace

Result<void> validateDomainDef(const DomainDef& def) {
    if (def.name.empty()) {
        return fail(ErrorCode::NoName, "", ErrorDomain::Domain);
    }
    if (def.name.find('/') != std::string::npos) {
        return invalid("name '" + def.name + "' cannot contain '/'");
    }
    if (def.memoryKiB == 0) {
        return invalid("Memory size must be specified via <memory> or in the <numa> configuration");
    }
    if (def.vcpus == 0) {
        return invalid("Invalid number of virtual CPUs '0': at least 1 is required");
    }
    if (def.vcpuCurrent > def.vcpus) {
        return invalid("current vcpus count '" + std::to_string(def.vcpuCurrent) +
                       "' must not exceed the maximum '" + std::to_string(def.vcpus) + "'");
    }
    CORRAL_TRY(validateKeptElements(def));
    std::map<std::string, std::string> targets;
    for (const auto& d : def.devices) {
        if (d.name == "disk") {
            const XmlNode* target = d.child("target");
            const std::string* dev = target != nullptr ? target->attr("dev") : nullptr;
            if (dev == nullptr || dev->empty()) {
                return invalid("missing target information for device " + diskSource(d));
            }
            auto [it, inserted] = targets.emplace(*dev, diskSource(d));
            if (!inserted) {
                return invalid("target '" + *dev + "' duplicated for disk sources '" + it->second +
                               "' and '" + diskSource(d) + "'");
            }
        } else if (d.name == "interface") {
            if (d.attr("type") == nullptr) {
                return invalid("missing type attribute for element 'interface' (line " + std::to_string(d.line) + ")");
            }
        } else if (d.name == "graphics") {
            const std::string* type = d.attr("type");
            if (type == nullptr) {
                return invalid("missing type attribute for element 'graphics'");
            }
            if (const std::string* port = d.attr("port")) {
                auto n = parseSigned(*port);
                if (!n || (*n != -1 && (*n < 0 || *n > 65535))) {
                    return invalid("invalid value '" + *port + "' for attribute 'port' of element 'graphics'");
                }
            }
        }
    }
    return {};
}

}  // namespace corral::conf
