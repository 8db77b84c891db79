// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainManager's save and restore: `virsh save`, `restore`, `managedsave` and the start that
// resumes from a managed-save image. The image format is save_image.hpp's; the guest's state
// inside it is the backend's business.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "conf/domain_def.hpp"
#include "drivers/common/domain_manager.hpp"
#include "drivers/common/domain_manager_errors.hpp"
#include "drivers/common/save_image.hpp"
#include "util/files.hpp"
#include "util/logging.hpp"
#include "util/name_escape.hpp"
#include "util/unique_fd.hpp"

namespace corral::drivers {

using objects::DomainObjPtr;
using objects::DomainState;

namespace {

constexpr unsigned kSaveKnownFlags = save_flags::kBypassCache | save_flags::kRunning | save_flags::kPaused;

Result<void> checkSaveFlags(unsigned flags, const char* function) {
    if ((flags & ~kSaveKnownFlags) != 0) {
        return unsupportedFlags(flags, function);
    }
    if ((flags & save_flags::kRunning) != 0 && (flags & save_flags::kPaused) != 0) {
        return fail(ErrorCode::InvalidArg, "--running and --paused are mutually exclusive", ErrorDomain::Domain);
    }
    return {};
}

/// What a replacement XML for a save image may not change: the guest's memory layout and
/// devices are in the saved state, so a different machine cannot take it.
Result<void> checkSameGuest(const conf::DomainDef& image, const conf::DomainDef& given, const std::string& path) {
    auto differs = [&](const std::string& what, const std::string& imageValue, const std::string& givenValue) {
        return fail(ErrorCode::OperationInvalid,
                    "the definition given for save image '" + path + "' changes " + what + " (the image has '" +
                        imageValue + "', the definition '" + givenValue + "')",
                    ErrorDomain::Domain);
    };
    if (image.uuid != given.uuid) {
        return differs("the UUID", image.uuid.toString(), given.uuid.toString());
    }
    if (image.name != given.name) {
        return differs("the name", image.name, given.name);
    }
    if (image.memoryKiB != given.memoryKiB) {
        return differs("<memory>", std::to_string(image.memoryKiB) + " KiB", std::to_string(given.memoryKiB) + " KiB");
    }
    if (image.vcpus != given.vcpus) {
        return differs("<vcpu>", std::to_string(image.vcpus), std::to_string(given.vcpus));
    }
    if (image.os.machine != given.os.machine) {
        return differs("the machine type", image.os.machine, given.os.machine);
    }
    auto kinds = [](const conf::DomainDef& d) {
        std::string out;
        for (const auto& dev : d.devices) {
            out += dev.name + " ";
        }
        return out;
    };
    if (kinds(image) != kinds(given)) {
        return differs("the devices", kinds(image), kinds(given));
    }
    return {};
}

}  // namespace

std::string DomainManager::managedSavePath(const std::string& name) const {
    return pathForName(options_.managedSaveDir, name, ".save");
}

Result<std::shared_ptr<conf::DomainDef>> DomainManager::imageDefinition(const std::string& imageXml,
                                                                        const std::string& dxml,
                                                                        const std::string& path) {
    auto fromImage = parseForDriver(imageXml, false);
    if (!fromImage) {
        return std::move(fromImage).withContext("the definition inside save image '" + path + "'");
    }
    if (dxml.empty()) {
        return fromImage;
    }
    CORRAL_ASSIGN_OR_RETURN(auto given, parseForDriver(dxml, false));
    CORRAL_TRY(checkSameGuest(**fromImage, *given, path));
    return given;
}

Result<void> DomainManager::save(const DomainRef& ref, const std::string& path, const std::string& dxml,
                                 unsigned flags) {
    CORRAL_TRY(checkSaveFlags(flags, "domainSaveFlags"));
    if (path.empty() || path.front() != '/') {
        return fail(ErrorCode::InvalidArg, "save path '" + path + "' must be absolute (it is a path on the host)",
                    ErrorDomain::Domain);
    }
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::unique_lock lock(dom->mutex());
    CORRAL_TRY(dom->beginJob(lock, "save"));
    auto saved = saveLocked(dom, lock, path, dxml, flags);
    dom->endJob();
    return saved;
}

Result<void> DomainManager::saveLocked(const DomainObjPtr& dom, std::unique_lock<std::mutex>& lock,
                                       const std::string& path, const std::string& dxml, unsigned flags) {
    if (!dom->isActive()) {
        return notRunning();
    }
    const std::string where = "saving domain '" + dom->name() + "' to '" + path + "'";
    conf::FormatOptions format;
    format.secure = true;    // the restored guest needs its passwords
    format.inactive = true;  // ports and tap names are chosen again at restore
    std::string imageXml = conf::formatDomainXml(*dom->def, format);
    if (!dxml.empty()) {
        CORRAL_ASSIGN_OR_RETURN(auto given, imageDefinition(imageXml, dxml, path));
        imageXml = conf::formatDomainXml(*given, format);
    }
    const auto started = std::chrono::steady_clock::now();
    const bool wasRunning = dom->state() == DomainState::Running;
    const bool runAfterRestore = (flags & save_flags::kRunning) != 0   ? true
                                 : (flags & save_flags::kPaused) != 0 ? false
                                                                      : wasRunning;
    lock.unlock();

    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) {
        int err = errno;
        lock.lock();
        return failErrno(err, "cannot create save image '" + path + "'");
    }
    auto written = writeSaveImageHeader(fd.get(), path, imageXml, runAfterRestore);
    if (written) {
        written = backend_->saveState(*dom, fd.get());
        if (written) {
            written = completeSaveImage(fd.get(), path);
            if (!written && wasRunning) {
                // The state is not safely on disk: the guest goes on rather than being lost.
                auto resumed = backend_->resume(*dom);
                if (!resumed) {
                    logError(where + ": the image could not be completed and the guest could not be resumed: " +
                             resumed.error().wireMessage());
                }
            }
        }
    }
    if (!written) {
        fd.reset();
        ::unlink(path.c_str());
        lock.lock();
        return std::move(written).withContext(where);
    }
    struct stat image {};
    const std::uint64_t imageBytes = ::fstat(fd.get(), &image) == 0 ? static_cast<std::uint64_t>(image.st_size) : 0;
    fd.reset();
    auto stopped = backend_->destroy(*dom, false);
    lock.lock();
    if (!stopped) {
        // The image is complete; the guest is paused and still there. Report it: the caller
        // may destroy it, and the image stays usable.
        return std::move(stopped).withContext(where + ": the image is complete but the guest could not be stopped");
    }
    // The job-completed event carries the job's statistics (virDomainGetJobStats' names).
    DomainEvent done;
    done.dom = refOf(*dom);
    done.eventId = event_id::kJobCompleted;
    const auto elapsedMs = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    done.params = {{"operation", 2 /* VIR_DOMAIN_JOB_OPERATION_SAVE */},
                   {"time_elapsed", static_cast<std::uint64_t>(elapsedMs.count())},
                   {"data_total", imageBytes},
                   {"data_processed", imageBytes},
                   {"data_remaining", std::uint64_t{0}},
                   {"success", true}};
    markStoppedLocked(dom, objects::ShutoffReason::Saved, objects::StoppedDetail::Saved);
    events_.emit(done);
    return {};
}

Result<void> DomainManager::restore(const std::string& path, const std::string& dxml, unsigned flags) {
    CORRAL_TRY(checkSaveFlags(flags, "domainRestoreFlags"));
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return failErrno(errno, "cannot open save image '" + path + "'");
    }
    CORRAL_ASSIGN_OR_RETURN(SaveImageHeader header, readSaveImageHeader(fd.get(), path));
    CORRAL_ASSIGN_OR_RETURN(auto def, imageDefinition(header.xml, dxml, path));
    const bool paused = (flags & save_flags::kPaused) != 0    ? true
                        : (flags & save_flags::kRunning) != 0 ? false
                                                              : !header.wasRunning;

    // checkIdentity in startDefinition: a different domain of the same name does not take it.
    RestoreSource from{fd.get()};
    auto started = startDefinition(std::move(def), paused, &from);
    if (!started) {
        return unexpected(std::move(started).withContext("restoring from '" + path + "'").error());
    }
    return {};
}

Result<void> DomainManager::startFromManagedSaveLocked(const DomainObjPtr& dom, std::unique_lock<std::mutex>& lock,
                                                       bool paused) {
    const std::string path = managedSavePath(dom->name());
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return failErrno(errno, "cannot open managed save image '" + path + "'");
    }
    CORRAL_ASSIGN_OR_RETURN(SaveImageHeader header, readSaveImageHeader(fd.get(), path));
    CORRAL_ASSIGN_OR_RETURN(auto def, imageDefinition(header.xml, {}, path));
    if (def->uuid != dom->uuid()) {
        return fail(ErrorCode::OperationInvalid,
                    "managed save image '" + path + "' holds domain " + def->uuid.toString() + ", not " +
                        dom->uuid().toString() + "; remove it with 'managedsave-remove' or start with --force-boot",
                    ErrorDomain::Domain);
    }
    auto persistentDef = dom->def;
    dom->def = def;
    RestoreSource from{fd.get()};
    auto started = startLocked(dom, lock, paused || !header.wasRunning, &from);
    if (!dom->isActive()) {
        dom->def = persistentDef;
        return std::move(started).withContext("starting domain '" + dom->name() + "' from its managed save image");
    }
    if (persistentDef && !dom->newDef) {
        dom->newDef = persistentDef;
    }
    // Once the guest runs from it, the image is stale: the next start must boot afresh.
    ::unlink(path.c_str());
    dom->setManagedSave(false);
    return started;
}

Result<void> DomainManager::managedSave(const DomainRef& ref, unsigned flags) {
    CORRAL_TRY(checkSaveFlags(flags, "domainManagedSave"));
    if (options_.managedSaveDir.empty()) {
        return fail(ErrorCode::NoSupport, "managed save is not available for this driver", ErrorDomain::Domain);
    }
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::unique_lock lock(dom->mutex());
    if (!dom->persistent()) {
        return fail(ErrorCode::OperationInvalid, "cannot do managed save for transient domain", ErrorDomain::Domain);
    }
    CORRAL_TRY(makeDirectories(options_.managedSaveDir, 0700));
    CORRAL_TRY(dom->beginJob(lock, "managed save"));
    if (!dom->persistent()) {
        // Undefined while we waited: an image nobody could start from would be left behind.
        dom->endJob();
        return fail(ErrorCode::OperationInvalid, "cannot do managed save for transient domain", ErrorDomain::Domain);
    }
    auto saved = saveLocked(dom, lock, managedSavePath(dom->name()), {}, flags);
    if (saved) {
        dom->setManagedSave(true);
    }
    dom->endJob();
    return saved;
}

Result<void> DomainManager::managedSaveRemove(const DomainRef& ref, unsigned flags) {
    if (flags != 0) {
        return unsupportedFlags(flags, "domainManagedSaveRemove");
    }
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::lock_guard lock(dom->mutex());
    if (!dom->hasManagedSave()) {
        return {};
    }
    if (::unlink(managedSavePath(dom->name()).c_str()) != 0 && errno != ENOENT) {
        return failErrno(errno, "cannot remove managed save image of domain '" + dom->name() + "'");
    }
    dom->setManagedSave(false);
    return {};
}

Result<std::string> DomainManager::saveImageXml(const std::string& path, unsigned flags) {
    if ((flags & ~xml_flags::kSecure) != 0) {
        return unsupportedFlags(flags, "domainSaveImageGetXMLDesc");
    }
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return failErrno(errno, "cannot open save image '" + path + "'");
    }
    CORRAL_ASSIGN_OR_RETURN(SaveImageHeader header, readSaveImageHeader(fd.get(), path));
    CORRAL_ASSIGN_OR_RETURN(auto def, imageDefinition(header.xml, {}, path));
    conf::FormatOptions format;
    format.secure = (flags & xml_flags::kSecure) != 0;
    format.inactive = true;
    return conf::formatDomainXml(*def, format);
}

}  // namespace corral::drivers
