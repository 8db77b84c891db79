// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainManager: the small calls clients make of a domain beside its lifecycle: the sizes of a
// disk's image (virsh domblkinfo), keys pressed on its keyboard (send-key), its screen
// (screenshot) and its jobs (domjobinfo, domjobabort).
#include <algorithm>

#include "conf/domain_def.hpp"
#include "drivers/common/domain_manager.hpp"
#include "drivers/common/domain_manager_errors.hpp"
#include "drivers/storage/volume_files.hpp"
#include "util/keycodes.hpp"

namespace corral::drivers {

using objects::DomainObjPtr;

namespace {

/// libvirt's limit on the keys of one virDomainSendKey.
constexpr std::size_t kMaxKeys = 16;

}  // namespace

Result<BlockInfo> DomainManager::blockInfo(const DomainRef& ref, const std::string& path, unsigned flags) {
    if (flags != 0) {
        return unsupportedFlags(flags, "domainGetBlockInfo");
    }
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    conf::XmlNode disk;
    {
        std::lock_guard lock(dom->mutex());
        const conf::DomainDef& def = *dom->def;  // the live one while running
        auto it = std::find_if(def.devices.begin(), def.devices.end(), [&](const conf::XmlNode& dev) {
            return dev.name == "disk" &&
                   (dev.childAttr("target", "dev") == path || (!path.empty() && conf::diskSourcePath(dev) == path));
        });
        if (it == def.devices.end()) {
            // libvirt's words.
            return fail(ErrorCode::InvalidArg, "invalid path " + path + " not assigned to domain", ErrorDomain::Domain);
        }
        disk = *it;
    }
    if (auto fixed = backend_->blockInfoWithoutImage(disk)) {
        return *fixed;
    }
    const std::string target = disk.childAttr("target", "dev");
    const std::string source = conf::diskSourcePath(disk);
    if (source.empty()) {
        return fail(ErrorCode::OperationInvalid, "disk '" + target + "' of domain '" + dom->name() + "' has no media",
                    ErrorDomain::Domain);
    }
    if (disk.attrOr("type", "file") != "file") {
        return fail(ErrorCode::OperationUnsupported,
                    "disk '" + target + "': block information is only available for file disks", ErrorDomain::Domain);
    }
    // Read from the image itself, running or not: QEMU sees the same header and file. The
    // format is the definition's, never the header's (a guest that writes a qcow2 header into
    // its raw disk must not change what is reported or which file is read as a backing store).
    std::string format = disk.childAttr("driver", "type");
    if (format.empty()) {
        format = "raw";
    }
    const auto slash = source.rfind('/');
    if (slash == std::string::npos) {
        return fail(ErrorCode::OperationInvalid, "disk '" + target + "': source '" + source + "' is not an absolute path",
                    ErrorDomain::Domain);
    }
    CORRAL_ASSIGN_OR_RETURN(storage::VolumeFacts facts,
                            storage::probeVolume(slash == 0 ? "/" : source.substr(0, slash), source.substr(slash + 1),
                                                 format));
    BlockInfo info;
    info.capacity = facts.capacity;
    info.allocation = facts.allocated;
    info.physical = facts.physical;
    return info;
}

Result<void> DomainManager::sendKey(const DomainRef& ref, unsigned codeset, unsigned holdtimeMs,
                                    const std::vector<unsigned>& keycodes, unsigned flags) {
    if (flags != 0) {
        return unsupportedFlags(flags, "domainSendKey");
    }
    if (keycodes.empty() || keycodes.size() > kMaxKeys) {
        return fail(ErrorCode::InvalidArg, "between 1 and 16 keycodes are allowed, not " + std::to_string(keycodes.size()),
                    ErrorDomain::Domain);
    }
    std::vector<unsigned> qnums;
    for (unsigned code : keycodes) {
        CORRAL_ASSIGN_OR_RETURN(unsigned qnum, keycodeToQnum(codeset, code));
        qnums.push_back(qnum);
    }
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::unique_lock lock(dom->mutex());
    CORRAL_TRY(dom->beginJob(lock, "domainSendKey"));
    objects::JobGuard guard(*dom);
    if (!dom->isActive()) {
        return notRunning();  // also when it stopped while this call waited for the job
    }
    lock.unlock();
    auto sent = backend_->sendKey(*dom, qnums, holdtimeMs);
    lock.lock();
    return std::move(sent).withContext("domain '" + dom->name() + "'");
}

Result<std::pair<std::string, UniqueFd>> DomainManager::screenshot(const DomainRef& ref, unsigned screen,
                                                                  unsigned flags) {
    if (flags != 0) {
        return unsupportedFlags(flags, "domainScreenshot");
    }
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::unique_lock lock(dom->mutex());
    CORRAL_TRY(dom->beginJob(lock, "domainScreenshot"));
    objects::JobGuard guard(*dom);
    if (!dom->isActive()) {
        return notRunning();
    }
    // A screen is a display device, or the one a graphics console gets by default.
    const bool hasScreen = std::any_of(dom->def->devices.begin(), dom->def->devices.end(), [](const conf::XmlNode& dev) {
        return (dev.name == "video" && dev.childAttr("model", "type") != "none") || dev.name == "graphics";
    });
    if (!hasScreen) {
        // libvirt's words.
        return fail(ErrorCode::OperationInvalid, "no screens to take screenshot from", ErrorDomain::Domain);
    }
    if (screen != 0) {
        return fail(ErrorCode::InvalidArg, "no screen with index " + std::to_string(screen), ErrorDomain::Domain);
    }
    lock.unlock();
    auto shot = backend_->screenshot(*dom, screen);
    lock.lock();
    return std::move(shot).withContext("domain '" + dom->name() + "'");
}

Result<JobInfo> DomainManager::jobInfo(const DomainRef& ref) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, findRunning(ref));
    // Every job of this driver runs to completion within one call (save included); none is an
    // asynchronous job a client could watch or abort, so the type is always "none", as
    // libvirt reports a domain with no asynchronous job.
    return JobInfo{};
}

Result<void> DomainManager::abortJob(const DomainRef& ref) {
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, findRunning(ref));
    std::lock_guard lock(dom->mutex());
    if (dom->hasJob()) {
        return fail(ErrorCode::OperationInvalid,
                    "the job running on domain '" + dom->name() + "' cannot be aborted (it is no asynchronous job)",
                    ErrorDomain::Domain);
    }
    return fail(ErrorCode::OperationInvalid, "no job is active on the domain", ErrorDomain::Domain);
}

}  // namespace corral::drivers
