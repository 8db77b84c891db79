// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/qemu/qemu_implicit_devices.hpp"

#include <algorithm>

#include "drivers/qemu/qemu_command_builder.hpp"

namespace corral::drivers::qemu {

namespace {

bool hasDevice(const conf::DomainDef& def, std::string_view name) {
    return std::any_of(def.devices.begin(), def.devices.end(),
                       [&](const conf::XmlNode& dev) { return dev.name == name; });
}

bool hasPs2Input(const conf::DomainDef& def, std::string_view type) {
    return std::any_of(def.devices.begin(), def.devices.end(), [&](const conf::XmlNode& dev) {
        return dev.name == "input" && dev.attrOr("type") == type && dev.attrOr("bus", "ps2") == "ps2";
    });
}

conf::XmlNode element(std::string name, std::vector<std::pair<std::string, std::string>> attrs) {
    return conf::XmlNode{std::move(name), std::move(attrs), {}, {}, 0};
}

}  // namespace

void addImplicitDevices(conf::DomainDef& def) {
    if (def.type != "qemu" && def.type != "kvm") {
        return;
    }
    auto family = detail::machineFamilyOf(def.os.machine.empty() ? "pc" : def.os.machine);
    if (!family || *family == detail::MachineFamily::Microvm) {
        return;
    }
    for (const char* type : {"mouse", "keyboard"}) {
        if (!hasPs2Input(def, type)) {
            def.devices.push_back(element("input", {{"type", type}, {"bus", "ps2"}}));
        }
    }
    if (!hasDevice(def, "audio")) {
        const bool spice = std::any_of(def.devices.begin(), def.devices.end(), [](const conf::XmlNode& dev) {
            return dev.name == "graphics" && dev.attrOr("type") == "spice";
        });
        def.devices.push_back(element("audio", {{"id", "1"}, {"type", spice ? "spice" : "none"}}));
    }
    if (!hasDevice(def, "memballoon")) {
        def.devices.push_back(element("memballoon", {{"model", "virtio"}}));
    }
}

}  // namespace corral::drivers::qemu
