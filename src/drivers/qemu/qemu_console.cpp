// SPDX-License-Identifier: LGPL-2.1-or-later
// QEMU consoles: each character device of type 'pty' is a unix socket QEMU listens on, made by
// the daemon in its run directory (root only) and passed in, so only the daemon reaches the
// guest's console (a bound unix channel without a path, the guest agent's, gets one the same
// way). virsh console connects through it, one client per device at a time as libvirt allows (a
// second one is refused unless it forces the first out). The socket outlives a daemon restart
// (QEMU holds it), so a console opens again after the daemon comes back.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "conf/domain_def.hpp"
#include "drivers/qemu/qemu_backend.hpp"
#include "drivers/qemu/qemu_backend_runtime.hpp"
#include "drivers/qemu/qemu_command.hpp"
#include "util/name_escape.hpp"
#include "util/unix_socket.hpp"

namespace corral::drivers::qemu {

namespace {

/// True while the connection a console client holds is open: its stream shuts the socket down
/// when it ends, and QEMU's exit closes the other side.
bool sessionOpen(int fd) {
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) < 0) {
        return false;
    }
    return (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) == 0;
}

}  // namespace

std::string QemuBackend::chardevSocketPath(const std::string& name, const std::string& chardevId) const {
    // "charserial0" -> NAME.serial0: no other file of the run directory ends like that.
    return pathForName(paths_.runDir, name, "." + chardevId.substr(4));
}

void QemuBackend::recordConsoles(Runtime& rt, conf::DomainDef& liveDef, bool existingOnly) const {
    for (const auto& c : consoleDevices(liveDef)) {
        const std::string path = chardevSocketPath(liveDef.name, c.chardevId);
        conf::XmlNode& dev = liveDef.devices[c.deviceIndex];
        // A pty device, or a bound unix channel whose path the daemon chose (the guest agent's).
        const std::string given = dev.childAttr("source", "path");
        const bool chosenPath = given.empty() || given == path;
        if (c.type != "pty" && !(c.type == "unix" && c.alias.starts_with("channel") && chosenPath)) {
            continue;
        }
        // A guest an older daemon started has a pty of QEMU's own instead: no socket to name.
        struct stat st{};
        if (existingOnly && (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode))) {
            continue;
        }
        conf::XmlNode* source = dev.child("source");
        if (source == nullptr) {
            dev.children.insert(dev.children.begin(), conf::XmlNode{"source", {}, {}, {}});
            source = &dev.children.front();
        }
        source->setAttr("path", path);
        if (std::find(rt.chardevSockets.begin(), rt.chardevSockets.end(), path) == rt.chardevSockets.end()) {
            rt.chardevSockets.push_back(path);
        }
    }
}

Result<UniqueFd> QemuBackend::openConsole(objects::DomainObj& dom, const std::string& devName, bool force) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    std::vector<ConsoleDevice> devices;
    {
        std::lock_guard lock(dom.mutex());
        devices = consoleDevices(*dom.def);
    }
    // libvirt's choice without a name: the first console, else the first serial port.
    const ConsoleDevice* chosen = nullptr;
    for (const auto& c : devices) {
        if (devName.empty() ? c.alias.starts_with("console") : c.alias == devName) {
            chosen = &c;
            break;
        }
    }
    if (chosen == nullptr && devName.empty() && !devices.empty() && devices.front().alias.starts_with("serial")) {
        chosen = &devices.front();
    }
    const std::string shown = devName.empty() ? (chosen != nullptr ? chosen->alias : std::string()) : devName;
    if (chosen == nullptr) {
        return fail(ErrorCode::InternalError, "cannot find character device " + shown, ErrorDomain::Qemu);
    }
    if (chosen->type != "pty") {
        return fail(ErrorCode::InternalError, "character device " + shown + " is not using a PTY", ErrorDomain::Qemu);
    }
    std::lock_guard lock(rt->consoleMutex);
    auto& held = rt->consoleSessions[chosen->chardevId];
    if (held && sessionOpen(held.get())) {
        if (!force) {
            return fail(ErrorCode::OperationFailed, "Active console session exists for this domain", ErrorDomain::Qemu);
        }
        // Ends the other client's stream (its relay reads the end) and frees QEMU's side.
        ::shutdown(held.get(), SHUT_RDWR);
    }
    held.reset();
    CORRAL_ASSIGN_OR_RETURN(UniqueFd fd, connectUnixSocket(chardevSocketPath(rt->name, chosen->chardevId)));
    UniqueFd watch(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
    if (!watch) {
        return fail(ErrorCode::SystemError, "cannot keep the console of domain '" + rt->name + "'", ErrorDomain::Qemu);
    }
    held = std::move(watch);
    return fd;
}

}  // namespace corral::drivers::qemu
