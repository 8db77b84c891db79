// SPDX-License-Identifier: LGPL-2.1-or-later
// QemuBackend's graphics ports: the free ports a start gives VNC and SPICE displays, given back
// at stop, and a start tried again when another process took a port before QEMU bound it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

#include "conf/domain_def.hpp"
#include "drivers/qemu/qemu_backend.hpp"
#include "drivers/qemu/qemu_backend_runtime.hpp"
#include "drivers/qemu/qemu_command.hpp"
#include "util/logging.hpp"
#include "util/unique_fd.hpp"

namespace corral::drivers::qemu {

namespace {
/// True when nothing listens on `port` of `address` (checked by binding it).
bool tcpPortFree(const std::string& address, int port) {
    bool v6 = address.find(':') != std::string::npos;
    UniqueFd fd(::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        return false;
    }
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (v6) {
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(static_cast<std::uint16_t>(port));
        if (::inet_pton(AF_INET6, address.c_str(), &a.sin6_addr) != 1) {
            a.sin6_addr = in6addr_any;
        }
        return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET, address.c_str(), &a.sin_addr) != 1) {
        a.sin_addr.s_addr = htonl(INADDR_ANY);
    }
    return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

/// True when a <graphics> port of this definition is chosen by the daemon at start.
bool hasAutomaticGraphicsPort(const conf::DomainDef& def) {
    for (const auto& dev : def.devices) {
        if (dev.name == "graphics" && dev.attrOr("autoport") == "yes") {
            return true;
        }
    }
    return false;
}

}  // namespace

Result<void> QemuBackend::allocateGraphicsPorts(const std::shared_ptr<Runtime>& rt, conf::DomainDef& liveDef) {
    for (auto& dev : liveDef.devices) {
        if (dev.name != "graphics" || dev.childAttr("listen", "type") == "none") {
            continue;  // <listen type='none'>: no port to give
        }
        const std::string* portAttr = dev.attr("port");
        const std::string* autoport = dev.attr("autoport");
        const bool autoportOn = autoport != nullptr && *autoport == "yes";
        SpicePorts needs;  // VNC: one plain port
        if (dev.attrOr("type") == "spice") {
            // A definition the builder refuses gets no port; its start fails there, by name.
            if (auto spice = spicePortsNeeded(dev, config_.spiceTls)) {
                needs = std::move(*spice);
            }
        }
        const std::string* tlsAttr = dev.attr("tlsPort");
        const bool plainAuto = needs.plain && (autoportOn || portAttr == nullptr || *portAttr == "-1");
        const bool tlsAuto = needs.tls && (autoportOn || tlsAttr == nullptr || *tlsAttr == "-1");
        const bool websocketAuto = dev.attrOr("type") == "vnc" && dev.attrOr("websocket") == "-1";
        if (!plainAuto && !tlsAuto && !websocketAuto) {
            continue;
        }
        std::string listen = config_.vncListen;
        if (const std::string* l = dev.attr("listen")) {
            listen = *l;
        }
        std::lock_guard lock(portsMutex_);
        auto choose = [&](const char* attr) -> Result<void> {
            const bool websocket = std::string_view(attr) == "websocket";
            const int low = websocket ? config_.websocketPortMin : config_.displayPortMin;
            const int high = websocket ? config_.websocketPortMax : config_.displayPortMax;
            for (int port = low; port <= high; ++port) {
                if (!portsInUse_.contains(port) && tcpPortFree(listen, port)) {
                    portsInUse_.insert(port);
                    rt->ports.push_back(port);
                    dev.setAttr(attr, std::to_string(port));
                    return {};
                }
            }
            // libvirt's words (virPortAllocatorAcquire), naming qemu.conf's range.
            return fail(ErrorCode::InternalError, std::string("Unable to find an unused port in range '") +
                                                      (websocket ? "websocket" : "display") + "' (" +
                                                      std::to_string(low) + "-" + std::to_string(high) + ")");
        };
        if (plainAuto) {
            CORRAL_TRY(choose("port"));
        }
        if (tlsAuto) {
            CORRAL_TRY(choose("tlsPort"));
        }
        if (websocketAuto) {
            CORRAL_TRY(choose("websocket"));
        }
        if (!plainAuto && !tlsAuto) {
            continue;  // only the websocket was automatic
        }
        dev.setAttr("autoport", "yes");
        if (dev.attr("listen") == nullptr) {
            dev.setAttr("listen", listen);
        }
    }
    return {};
}

void QemuBackend::releasePorts(Runtime& rt) {
    std::lock_guard lock(portsMutex_);
    for (int p : rt.ports) {
        portsInUse_.erase(p);
    }
    rt.ports.clear();
}

Result<void> QemuBackend::launchRetryingLostPorts(objects::DomainObj& dom, conf::DomainDef& liveDef, bool paused,
                                                  int incomingFd) {
    // A free port is found by binding it and letting go, so another process (a second daemon,
    // anything) can take it before QEMU binds it. QEMU then fails before it reads anything of
    // an incoming state, and a new search skips the port now held: a few tries, never a loop.
    constexpr int kTries = 4;
    for (int attempt = 1;; ++attempt) {
        auto launched = launch(dom, liveDef, paused, incomingFd);
        if (launched || attempt == kTries || !hasAutomaticGraphicsPort(liveDef)) {
            return launched;
        }
        const std::string& why = launched.error().message;
        // What QEMU 7.2 prints: VNC "Failed to find an available port: Address already in use",
        // SPICE "reds_init_socket: binding socket to ADDR:PORT failed".
        if (why.find("Failed to find an available port") == std::string::npos &&
            why.find("reds_init_socket: binding socket") == std::string::npos) {
            return launched;
        }
        logWarning("domain '" + liveDef.name + "': the graphics port was taken before QEMU bound it; trying another");
    }
}

}  // namespace corral::drivers::qemu
