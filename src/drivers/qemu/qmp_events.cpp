// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/qemu/qmp_events.hpp"

#include <array>
#include <string_view>

#include "drivers/qemu/qemu_command.hpp"

namespace corral::drivers::qemu {

namespace {

/// virDomainEventWatchdogAction by QEMU's name for it.
int watchdogAction(const std::string& action) {
    static constexpr std::array<std::string_view, 7> kNames = {"none", "pause", "reset", "poweroff",
                                                               "shutdown", "debug", "inject-nmi"};
    for (std::size_t i = 0; i < kNames.size(); ++i) {
        if (action == kNames[i]) {
            return static_cast<int>(i);
        }
    }
    return 0;
}

/// virDomainEventIOErrorAction: QEMU's "stop" pauses the guest, "report" hands the error to it.
int ioErrorAction(const std::string& action) {
    if (action == "stop") {
        return 1;
    }
    return action == "report" ? 2 : 0;
}

/// The <disk> whose format node QEMU names in a block event (diskFormatNodeName of its target).
const conf::XmlNode* diskOfNode(const conf::DomainDef& def, const std::string& node) {
    for (const auto& dev : def.devices) {
        if (dev.name != "disk") {
            continue;
        }
        if (diskFormatNodeName(dev.childAttr("target", "dev")) == node) {
            return &dev;
        }
    }
    return nullptr;
}

GraphicsAddress graphicsAddress(const JsonValue& end) {
    GraphicsAddress a;
    const std::string family = end["family"].asString();
    a.family = family == "ipv6" ? 1 : family == "unix" ? 2 : 0;
    a.node = end["host"].asString();
    a.service = end["service"].asString();
    return a;
}

}  // namespace

std::optional<DomainEvent> domainEventFromQmp(const std::string& name, const JsonValue& data,
                                              const conf::DomainDef& def) {
    DomainEvent ev;
    if (name == "RTC_CHANGE") {
        ev.eventId = event_id::kRtcChange;
        ev.number = data["offset"].asInt();
        return ev;
    }
    if (name == "WATCHDOG") {
        ev.eventId = event_id::kWatchdog;
        ev.detail = watchdogAction(data["action"].asString());
        return ev;
    }
    if (name == "BLOCK_IO_ERROR") {
        // One event serves both registrations (io-error and io-error-reason): the daemon sends
        // each client the form it asked for.
        ev.eventId = event_id::kIoErrorReason;
        ev.detail = ioErrorAction(data["action"].asString());
        if (const conf::XmlNode* disk = diskOfNode(def, data["node-name"].asString())) {
            ev.srcPath = conf::diskSourcePath(*disk);
            ev.devAlias = diskDeviceAlias(disk->childAttr("target", "dev"), disk->childAttr("target", "bus"));
        } else {
            ev.devAlias = data["device"].asString();
        }
        // "enospc" for a full host file system (what management tools look for, to grow the
        // storage and resume); otherwise QEMU's own description of the failure.
        ev.reason = data["nospace"].asBool() ? "enospc" : data["reason"].asString();
        return ev;
    }
    if (name == "VNC_CONNECTED" || name == "VNC_INITIALIZED" || name == "VNC_DISCONNECTED") {
        ev.eventId = event_id::kGraphics;
        ev.detail = name == "VNC_CONNECTED" ? 0 : name == "VNC_INITIALIZED" ? 1 : 2;
        ev.local = graphicsAddress(data["server"]);
        ev.remote = graphicsAddress(data["client"]);
        ev.authScheme = data["server"]["auth"].asString("none");
        if (data["client"].has("x509_dname")) {
            ev.subject.emplace_back("x509dname", data["client"]["x509_dname"].asString());
        }
        if (data["client"].has("sasl_username")) {
            ev.subject.emplace_back("saslUsername", data["client"]["sasl_username"].asString());
        }
        return ev;
    }
    if (name == "BALLOON_CHANGE") {
        ev.eventId = event_id::kBalloonChange;
        ev.number = data["actual"].asInt() / 1024;  // bytes -> KiB
        return ev;
    }
    return std::nullopt;
}

}  // namespace corral::drivers::qemu
