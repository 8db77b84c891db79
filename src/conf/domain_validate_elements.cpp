// SPDX-License-Identifier: LGPL-2.1-or-later
// Validation of the elements kept as parsed trees: enumerated attribute values, numbers,
// MAC addresses and the required parts, with the element, attribute and line named.
#include <cctype>
#include <initializer_list>
#include <string_view>

#include "conf/domain_def.hpp"
#include "conf/domain_validate_elements.hpp"
#include "util/strings.hpp"

namespace corral::conf {

namespace {

using Values = std::initializer_list<std::string_view>;

std::string at(const XmlNode& n) { return " (line " + std::to_string(n.line) + ")"; }

Unexpected invalid(const XmlNode& n, std::string_view attr, const std::string& value) {
    return fail(ErrorCode::XmlError,
                "invalid value '" + value + "' for attribute '" + std::string(attr) + "' of element '" + n.name + "'" +
                    at(n),
                ErrorDomain::Domain);
}

Unexpected missing(const XmlNode& n, std::string_view what) {
    return fail(ErrorCode::XmlError, "missing " + std::string(what) + " of element '" + n.name + "'" + at(n),
                ErrorDomain::Domain);
}

/// An optional attribute, when present, must be one of `allowed`.
Result<void> oneOf(const XmlNode& n, std::string_view attr, Values allowed, bool required = false) {
    const std::string* v = n.attr(attr);
    if (v == nullptr) {
        if (required) {
            return missing(n, "attribute '" + std::string(attr) + "'");
        }
        return {};
    }
    for (auto a : allowed) {
        if (*v == a) {
            return {};
        }
    }
    return invalid(n, attr, *v);
}

Result<void> unsignedAttr(const XmlNode& n, std::string_view attr, std::uint64_t lo, std::uint64_t hi) {
    const std::string* v = n.attr(attr);
    if (v == nullptr) {
        return {};
    }
    auto x = parseUnsigned(*v);
    if (!x || *x < lo || *x > hi) {
        return invalid(n, attr, *v);
    }
    return {};
}

Result<void> unsignedText(const XmlNode& n, std::uint64_t lo, std::uint64_t hi) {
    auto x = parseUnsigned(trimString(n.text));
    if (!x || *x < lo || *x > hi) {
        return fail(ErrorCode::XmlError, "invalid value '" + n.text + "' for element '" + n.name + "'" + at(n),
                    ErrorDomain::Domain);
    }
    return {};
}

Result<void> signedText(const XmlNode& n, std::int64_t lo, std::int64_t hi) {
    auto x = parseSigned(trimString(n.text));
    if (!x || *x < lo || *x > hi) {
        return fail(ErrorCode::XmlError, "invalid value '" + n.text + "' for element '" + n.name + "'" + at(n),
                    ErrorDomain::Domain);
    }
    return {};
}

/// A cpuset list like "0-3,^2,8": digits, ranges, exclusions, commas.
bool isCpuset(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (!std::isdigit(static_cast<unsigned char>(c)) && c != ',' && c != '-' && c != '^' && c != ' ') {
            return false;
        }
    }
    return true;
}

Result<void> checkMac(const XmlNode& iface) {
    const XmlNode* mac = iface.child("mac");
    if (mac == nullptr) {
        return {};
    }
    const std::string* addr = mac->attr("address");
    if (addr == nullptr) {
        return missing(*mac, "attribute 'address'");
    }
    bool ok = addr->size() == 17;
    for (std::size_t i = 0; ok && i < 17; ++i) {
        ok = (i % 3 == 2) ? (*addr)[i] == ':' : std::isxdigit(static_cast<unsigned char>((*addr)[i])) != 0;
    }
    if (!ok) {
        return fail(ErrorCode::XmlError, "unable to parse mac address '" + *addr + "'" + at(*mac), ErrorDomain::Domain);
    }
    // The least significant bit of the first octet marks multicast: never a NIC's address.
    auto first = parseUnsigned("0x" + addr->substr(0, 2));
    if (first && (*first & 1) != 0) {
        return fail(ErrorCode::XmlError, "expected unicast mac address, found multicast '" + *addr + "'" + at(*mac),
                    ErrorDomain::Domain);
    }
    return {};
}

Result<void> checkDevice(const XmlNode& d, const DomainDef& def) {
    const std::string& n = d.name;
    if (n == "interface") {
        CORRAL_TRY(oneOf(d, "type", {"network", "bridge", "direct", "ethernet", "user", "vhostuser", "server",
                                     "client", "mcast", "udp", "hostdev", "vdpa", "null", "vds"}, true));
        CORRAL_TRY(checkMac(d));
        if (const XmlNode* f = d.child("filterref")) {
            if (f->attr("filter") == nullptr) {
                return missing(*f, "attribute 'filter'");
            }
            for (const auto& p : f->children) {
                if (p.name == "parameter" && (p.attr("name") == nullptr || p.attr("value") == nullptr)) {
                    return missing(p, "attribute 'name' or 'value'");
                }
            }
        }
    } else if (n == "disk") {
        CORRAL_TRY(oneOf(d, "type", {"file", "block", "dir", "network", "volume", "nvme", "vhostuser"}));
        CORRAL_TRY(oneOf(d, "device", {"disk", "cdrom", "floppy", "lun"}));
        if (const XmlNode* t = d.child("target")) {
            CORRAL_TRY(oneOf(*t, "bus", {"ide", "scsi", "virtio", "xen", "usb", "uml", "sata", "sd", "fdc", "none"}));
        }
    } else if (n == "filesystem") {
        CORRAL_TRY(oneOf(d, "type", {"mount", "block", "file", "template", "ram", "bind", "volume"}));
        CORRAL_TRY(oneOf(d, "accessmode", {"passthrough", "mapped", "squash"}));
        const XmlNode* t = d.child("target");
        if (t == nullptr || t->attr("dir") == nullptr) {
            return missing(d, "target dir");
        }
    } else if (n == "serial" || n == "console" || n == "channel" || n == "parallel") {
        CORRAL_TRY(oneOf(d, "type", {"null", "vc", "pty", "dev", "file", "pipe", "stdio", "udp", "tcp", "unix",
                                     "spicevmc", "spiceport", "nmdm", "qemu-vdagent", "dbus"}));
    } else if (n == "graphics") {
        CORRAL_TRY(oneOf(d, "type", {"sdl", "vnc", "rdp", "desktop", "spice", "egl-headless", "dbus"}, true));
        CORRAL_TRY(oneOf(d, "autoport", {"yes", "no"}));
        for (const char* portAttr : {"port", "tlsPort", "websocket"}) {
            if (const std::string* p = d.attr(portAttr)) {
                auto v = parseSigned(*p);
                if (!v || *v < -1 || *v > 65535) {
                    return invalid(d, portAttr, *p);
                }
            }
        }
        for (const auto& l : d.children) {
            if (l.name == "listen") {
                CORRAL_TRY(oneOf(l, "type", {"address", "network", "socket", "none"}, true));
            }
        }
    } else if (n == "input") {
        CORRAL_TRY(oneOf(d, "type", {"mouse", "tablet", "keyboard", "passthrough", "evdev"}, true));
        CORRAL_TRY(oneOf(d, "bus", {"ps2", "usb", "xen", "parallels", "virtio", "none"}));
    } else if (n == "video") {
        if (const XmlNode* m = d.child("model")) {
            CORRAL_TRY(oneOf(*m, "type", {"vga", "cirrus", "vmvga", "xen", "vbox", "qxl", "parallels", "virtio", "gop",
                                          "none", "bochs", "ramfb"}));
        }
    } else if (n == "memballoon") {
        CORRAL_TRY(oneOf(d, "model", {"virtio", "xen", "none", "virtio-transitional", "virtio-non-transitional"}, true));
    }
    (void)def;
    return {};
}

Result<void> checkCputune(const XmlNode& t, const DomainDef& def) {
    for (const auto& c : t.children) {
        if (c.name == "shares") {
            CORRAL_TRY(unsignedText(c, 2, 262144));
        } else if (c.name.ends_with("period")) {
            CORRAL_TRY(unsignedText(c, 1000, 1000000));
        } else if (c.name.ends_with("quota")) {
            CORRAL_TRY(signedText(c, -1, 17592186044415));
        } else if (c.name == "vcpupin" || c.name == "iothreadpin" || c.name == "emulatorpin") {
            const std::string* set = c.attr("cpuset");
            if (set == nullptr || !isCpuset(*set)) {
                return set == nullptr ? missing(c, "attribute 'cpuset'") : invalid(c, "cpuset", *set);
            }
            if (c.name == "vcpupin") {
                CORRAL_TRY(unsignedAttr(c, "vcpu", 0, def.vcpus == 0 ? 0 : def.vcpus - 1));
            }
        }
    }
    return {};
}

Result<void> checkBlkiotune(const XmlNode& t) {
    for (const auto& c : t.children) {
        if (c.name == "weight") {
            CORRAL_TRY(unsignedText(c, 100, 1000));
        } else if (c.name == "device") {
            if (c.child("path") == nullptr) {
                return missing(c, "element 'path'");
            }
            for (const auto& v : c.children) {
                if (v.name == "weight") {
                    CORRAL_TRY(unsignedText(v, 100, 1000));
                } else if (v.name != "path") {
                    CORRAL_TRY(unsignedText(v, 0, UINT64_MAX));
                }
            }
        }
    }
    return {};
}

Result<void> checkIdmap(const XmlNode& m) {
    for (const auto& c : m.children) {
        for (const char* a : {"start", "target", "count"}) {
            if (c.attr(a) == nullptr) {
                return missing(c, std::string("attribute '") + a + "'");
            }
            CORRAL_TRY(unsignedAttr(c, a, a == std::string_view("count") ? 1 : 0, UINT32_MAX));
        }
    }
    return {};
}

Result<void> checkSeclabel(const XmlNode& s) {
    CORRAL_TRY(oneOf(s, "type", {"dynamic", "static", "none"}));
    CORRAL_TRY(oneOf(s, "relabel", {"yes", "no"}));
    const std::string* type = s.attr("type");
    if (type != nullptr && *type == "static" && s.child("label") == nullptr) {
        return missing(s, "security label (a static seclabel needs <label>)");
    }
    return {};
}

}  // namespace

Result<void> validateKeptElements(const DomainDef& def) {
    for (const auto& e : def.elements) {
        if (e.name == "cputune") {
            CORRAL_TRY(checkCputune(e, def));
        } else if (e.name == "blkiotune") {
            CORRAL_TRY(checkBlkiotune(e));
        } else if (e.name == "idmap") {
            CORRAL_TRY(checkIdmap(e));
        } else if (e.name == "seclabel") {
            CORRAL_TRY(checkSeclabel(e));
        } else if (e.name == "clock") {
            CORRAL_TRY(oneOf(e, "offset", {"utc", "localtime", "timezone", "variable", "absolute"}));
        } else if (e.name == "cpu") {
            CORRAL_TRY(oneOf(e, "mode", {"custom", "host-model", "host-passthrough", "maximum"}));
            CORRAL_TRY(oneOf(e, "match", {"minimum", "exact", "strict"}));
        }
    }
    for (const auto& d : def.devices) {
        CORRAL_TRY(checkDevice(d, def));
    }
    return {};
}

}  // namespace corral::conf
