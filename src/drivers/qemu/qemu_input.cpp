// SPDX-License-Identifier: LGPL-2.1-or-later
// QemuBackend: what changes on a running guest without a new device: an interface's link
// (set_link, at start for <link state='down'> and on virDomainUpdateDeviceFlags) and keys
// pressed on its keyboard (send-key, as qnum codes the manager translated), and its screen as
// an image (screendump, virDomainScreenshot).
#include <fcntl.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mutex>

#include "conf/domain_def.hpp"
#include "drivers/qemu/qemu_backend.hpp"
#include "drivers/qemu/qemu_backend_runtime.hpp"
#include "drivers/qemu/qmp_monitor.hpp"
#include "util/json.hpp"

namespace corral::drivers::qemu {

namespace {

/// The id QEMU knows the NIC with MAC `mac` by (its <alias>); "" if none has it.
std::string nicId(const conf::DomainDef& def, const std::string& mac) {
    std::size_t index = 0;
    for (const auto& dev : def.devices) {
        if (dev.name != "interface") {
            continue;
        }
        if (strcasecmp(dev.childAttr("mac", "address").c_str(), mac.c_str()) == 0) {
            // The id given at start or at attach (qemu_interfaces.cpp); by place for a live
            // definition older than those.
            std::string alias = dev.childAttr("alias", "name");
            return alias.empty() ? "net" + std::to_string(index) : alias;
        }
        ++index;
    }
    return "";
}

Result<void> setLink(QmpMonitor& monitor, const std::string& id, bool up) {
    JsonWriter args;
    args.beginObject().key("name").value(id).key("up").value(up).endObject();
    CORRAL_TRY(monitor.execute("set_link", args.str()).withContext("setting the link of " + id));
    return {};
}

}  // namespace

Result<void> QemuBackend::applyLinkStates(QmpMonitor& monitor, const conf::DomainDef& liveDef) {
    std::size_t index = 0;
    for (const auto& dev : liveDef.devices) {
        if (dev.name != "interface") {
            continue;
        }
        if (dev.childAttr("link", "state") == "down") {
            CORRAL_TRY(setLink(monitor, "net" + std::to_string(index), false));
        }
        ++index;
    }
    return {};
}

Result<void> QemuBackend::updateDevice(objects::DomainObj& dom, const conf::XmlNode& device,
                                       const conf::XmlNode& previous) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    if (device.name != "interface") {
        return fail(ErrorCode::OperationUnsupported,
                    "<" + device.name + ">: this driver cannot change it on a running guest", ErrorDomain::Qemu);
    }
    const std::string mac = previous.childAttr("mac", "address");
    std::shared_ptr<const conf::DomainDef> live;
    {
        std::lock_guard lock(dom.mutex());
        live = dom.def;
    }
    const std::string id = nicId(*live, mac);
    if (id.empty()) {
        return fail(ErrorCode::DeviceMissing, "no interface with MAC address " + mac + " found", ErrorDomain::Qemu);
    }
    const bool up = device.childAttr("link", "state") != "down";
    if (up == (previous.childAttr("link", "state") != "down")) {
        return {};  // nothing changes
    }
    return setLink(*rt->monitor, id, up);
}

Result<void> QemuBackend::sendKey(objects::DomainObj& dom, const std::vector<unsigned>& qnums, unsigned holdtimeMs) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    JsonWriter args;
    args.beginObject().key("keys").beginArray();
    for (unsigned qnum : qnums) {
        args.beginObject().key("type").value("number").key("data").value(static_cast<std::uint64_t>(qnum)).endObject();
    }
    args.endArray();
    if (holdtimeMs != 0) {
        args.key("hold-time").value(static_cast<std::uint64_t>(holdtimeMs));
    }
    args.endObject();
    CORRAL_TRY(rt->monitor->execute("send-key", args.str()));
    return {};
}

Result<std::pair<std::string, UniqueFd>> QemuBackend::screenshot(objects::DomainObj& dom, unsigned screen) {
    (void)screen;  // the manager allows screen 0 only
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    // QEMU cannot open files of the daemon's (it is confined): it writes into a memory file
    // passed in an fdset, which the client's stream then reads. QEMU takes an fdset's
    // descriptor only with the access mode it opens for (write only), hence a second one.
    UniqueFd image(::memfd_create("corral-screenshot", MFD_CLOEXEC));
    if (!image) {
        return failErrno(errno, "cannot create a memory file for the screenshot");
    }
    UniqueFd writer(::open(("/proc/self/fd/" + std::to_string(image.get())).c_str(), O_WRONLY | O_CLOEXEC));
    if (!writer) {
        return failErrno(errno, "cannot open the screenshot's memory file for QEMU");
    }
    JsonWriter addArgs;
    addArgs.beginObject().key("opaque").value("corral-screenshot").endObject();
    CORRAL_ASSIGN_OR_RETURN(JsonValue added, rt->monitor->executeWithFd("add-fd", addArgs.str(), writer.get()));
    const std::int64_t fdset = added["fdset-id"].asInt(-1);
    JsonWriter args;
    args.beginObject().key("filename").value("/dev/fdset/" + std::to_string(fdset)).endObject();
    auto dumped = rt->monitor->execute("screendump", args.str());
    JsonWriter removeArgs;
    removeArgs.beginObject().key("fdset-id").value(fdset).endObject();
    (void)rt->monitor->execute("remove-fd", removeArgs.str());
    if (!dumped) {
        return unexpected(std::move(dumped).withContext("taking a screenshot").error());
    }
    if (::lseek(image.get(), 0, SEEK_SET) < 0) {
        return failErrno(errno, "cannot read the screenshot");
    }
    // QEMU's screendump writes PPM, the type libvirt reports for it.
    return std::make_pair(std::string("image/x-portable-pixmap"), std::move(image));
}

}  // namespace corral::drivers::qemu
