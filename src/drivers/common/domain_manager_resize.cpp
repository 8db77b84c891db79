// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainManager: a guest's memory and vCPU count (virsh setmem, setmaxmem, setvcpus), in the
// live definition, the persistent one or both, and renaming an inactive domain (domrename).
#include <algorithm>

#include "conf/domain_def.hpp"
#include "conf/object_name.hpp"
#include "drivers/common/domain_manager.hpp"
#include "drivers/common/domain_manager_errors.hpp"
#include "objects/store.hpp"

namespace corral::drivers {

using objects::DomainObjPtr;
using objects::LifecycleEvent;

namespace {

unsigned onlineVcpus(const conf::DomainDef& def) { return def.vcpuCurrent != 0 ? def.vcpuCurrent : def.vcpus; }

/// What a new name may not be beyond the rules of any new name: '/' (libvirt's rule: names
/// become file names), ',' (QEMU's option separator, where the name reaches -name) and the
/// path components "." and "..".
Result<void> checkRenameTarget(const std::string& name) {
    if (name.empty()) {
        return fail(ErrorCode::InvalidArg, "new domain name must not be empty", ErrorDomain::Domain);
    }
    CORRAL_TRY(conf::validateNewName(name, ErrorDomain::Domain));
    if (name.find('/') != std::string::npos) {
        return fail(ErrorCode::XmlError, "name '" + name + "' cannot contain '/'", ErrorDomain::Domain);
    }
    if (name.find(',') != std::string::npos) {
        return fail(ErrorCode::InvalidArg, "name '" + name + "' cannot contain ','", ErrorDomain::Domain);
    }
    if (name == "." || name == "..") {
        return fail(ErrorCode::InvalidArg, "name '" + name + "' is not a valid domain name", ErrorDomain::Domain);
    }
    return {};
}

}  // namespace

Result<void> DomainManager::setMemory(const DomainRef& ref, std::uint64_t kib, unsigned flags) {
    constexpr const char* kFunction = "domainSetMemoryFlags";
    if ((flags & ~(affect_flags::kAll | memory_flags::kMaximum)) != 0) {
        return unsupportedFlags(flags, kFunction);
    }
    if (kib == 0) {
        return fail(ErrorCode::InvalidArg, "memory in " + std::string(kFunction) + " must not be zero",
                    ErrorDomain::Domain);
    }
    const bool maximum = (flags & memory_flags::kMaximum) != 0;
    auto edit = [&](conf::DomainDef& def, bool live) -> Result<void> {
        if (maximum) {
            if (live) {
                return fail(ErrorCode::OperationInvalid, "cannot resize the maximum memory on an active domain",
                            ErrorDomain::Domain);
            }
            def.memoryKiB = kib;
            def.currentMemoryKiB = std::min(def.currentMemoryKiB, kib);
            return backend_->checkDefinition(def);
        }
        if (kib > def.memoryKiB) {
            return fail(ErrorCode::InvalidArg, "cannot set memory higher than max memory", ErrorDomain::Domain);
        }
        def.currentMemoryKiB = kib;
        return live ? Result<void>{} : backend_->checkDefinition(def);
    };
    auto apply = [this](objects::DomainObj& dom, conf::DomainDef& newLive) {
        return backend_->setMemoryLive(dom, newLive);
    };
    return changeDefinition(ref, flags & affect_flags::kAll, kFunction, edit, apply);
}

Result<void> DomainManager::setVcpus(const DomainRef& ref, unsigned count, unsigned flags) {
    constexpr const char* kFunction = "domainSetVcpusFlags";
    if ((flags & vcpu_flags::kGuest) != 0) {
        return fail(ErrorCode::OperationUnsupported, "changing the vCPUs a guest uses through its agent is not supported",
                    ErrorDomain::Domain);
    }
    if ((flags & ~(affect_flags::kAll | vcpu_flags::kMaximum)) != 0) {
        return unsupportedFlags(flags, kFunction);
    }
    if (count == 0) {
        return fail(ErrorCode::InvalidArg, "nvcpus in " + std::string(kFunction) + " must not be zero",
                    ErrorDomain::Domain);
    }
    const bool maximum = (flags & vcpu_flags::kMaximum) != 0;
    unsigned previous = 0;
    auto edit = [&](conf::DomainDef& def, bool live) -> Result<void> {
        if (maximum) {
            if (live) {
                return fail(ErrorCode::InvalidArg, "maximum vcpu count of a live domain can't be modified",
                            ErrorDomain::Domain);
            }
            if (options_.maxVcpus != 0 && count > options_.maxVcpus) {
                return fail(ErrorCode::InvalidArg,
                            "requested cpu amount exceeds maximum supported amount (" + std::to_string(count) +
                                " > " + std::to_string(options_.maxVcpus) + ")",
                            ErrorDomain::Domain);
            }
            // As libvirt: the vCPUs online stay online unless the new maximum is below them.
            const unsigned online = std::min(onlineVcpus(def), count);
            def.vcpus = count;
            def.vcpuCurrent = online;
            return backend_->checkDefinition(def);
        }
        if (count > def.vcpus) {
            return fail(ErrorCode::InvalidArg,
                        std::string("requested vcpus is greater than max allowable vcpus for the ") +
                            (live ? "live" : "persistent") + " domain: " + std::to_string(count) + " > " +
                            std::to_string(def.vcpus),
                        ErrorDomain::Domain);
        }
        if (live) {
            previous = onlineVcpus(def);
        }
        def.vcpuCurrent = count;
        return live ? Result<void>{} : backend_->checkDefinition(def);
    };
    auto apply = [this, &previous](objects::DomainObj& dom, conf::DomainDef& newLive) -> Result<void> {
        if (onlineVcpus(newLive) == previous) {
            return {};
        }
        return backend_->setVcpusLive(dom, newLive, previous);
    };
    return changeDefinition(ref, flags & affect_flags::kAll, kFunction, edit, apply);
}

Result<DomainRef> DomainManager::rename(const DomainRef& ref, const std::string& newName, unsigned flags) {
    if (flags != 0) {
        return unsupportedFlags(flags, "domainRename");
    }
    CORRAL_TRY(checkRenameTarget(newName));
    CORRAL_ASSIGN_OR_RETURN(DomainObjPtr dom, find(ref));
    std::unique_lock lock(dom->mutex());
    CORRAL_TRY(dom->beginJob(lock, "domainRename"));
    objects::JobGuard guard(*dom);
    if (dom->isActive()) {
        return fail(ErrorCode::OperationInvalid, "cannot rename active domain", ErrorDomain::Domain);
    }
    if (!dom->persistent()) {
        return fail(ErrorCode::OperationInvalid, "cannot rename a transient domain", ErrorDomain::Domain);
    }
    if (dom->hasManagedSave()) {
        return fail(ErrorCode::OperationInvalid, "domain with a managed saved state can't be renamed",
                    ErrorDomain::Domain);
    }
    if (dom->name() == newName) {
        return fail(ErrorCode::OperationInvalid, "Can't rename domain to itself", ErrorDomain::Domain);
    }
    if (domains_.findByName(newName)) {
        return fail(ErrorCode::OperationInvalid, "domain with name '" + newName + "' already exists",
                    ErrorDomain::Domain);
    }
    auto def = std::make_shared<conf::DomainDef>(*dom->def);
    def->name = newName;
    CORRAL_TRY(conf::validateDomainDef(*def));

    auto renamed = std::make_shared<objects::DomainObj>(dom->uuid(), newName);
    renamed->def = def;
    renamed->setPersistent(true);
    renamed->setAutostart(dom->autostart());
    renamed->setState(dom->state(), dom->reason());
    // The store first: its unique names catch a persistent domain of that name; the registry
    // then catches a transient one (and a define racing us), and the store is put back.
    if (options_.store != nullptr) {
        CORRAL_TRY(options_.store->putDefinition(options_.driverName, def->uuid, newName,
                                                 conf::formatDomainXml(*def, {.secure = true, .inactive = true})));
    }
    if (auto replaced = domains_.replaceRenamed(dom, renamed); !replaced) {
        if (options_.store != nullptr) {
            // The old name is still ours in the registry, so no other definition can have it.
            (void)options_.store->putDefinition(options_.driverName, def->uuid, dom->name(),
                                                conf::formatDomainXml(*dom->def, {.secure = true, .inactive = true}));
        }
        return unexpected(std::move(replaced).error());
    }
    // Calls still holding the old object (waiting for its job) now fail with "no domain".
    dom->removed = true;
    emit(dom, LifecycleEvent::Undefined, static_cast<int>(objects::UndefinedDetail::Renamed));
    emit(renamed, LifecycleEvent::Defined, static_cast<int>(objects::DefinedDetail::Renamed));
    return refOf(*renamed);
}

}  // namespace corral::drivers
