// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainManager's security queries (dominfo's Security label), consoles and the monitor
// pass-through.
#include "conf/domain_def.hpp"
#include "drivers/common/domain_manager.hpp"
#include "drivers/common/domain_manager_errors.hpp"
#include "host/kernel_audit.hpp"
#include "objects/store.hpp"
#include "util/logging.hpp"
#include "util/strings.hpp"

namespace corral::drivers {

Result<std::vector<std::pair<std::string, std::string>>> DomainManager::securityLabels(const DomainRef& ref) {
    CORRAL_ASSIGN_OR_RETURN(objects::DomainObjPtr dom, find(ref));
    std::vector<std::pair<std::string, std::string>> out;
    std::lock_guard lock(dom->mutex());
    if (!dom->isActive()) {
        return out;  // labels exist only while the guest runs
    }
    if (auto fixed = backend_->fixedSecurityLabels()) {
        return *fixed;
    }
    for (const auto& [model, doi] : backend_->securityModels()) {
        (void)doi;
        for (const auto& e : dom->def->elements) {
            if (e.name == "seclabel" && e.attrOr("model") == model) {
                out.emplace_back(model, std::string(trimString(e.childText("label"))));
            }
        }
    }
    return out;
}

void DomainManager::auditMachineIdLocked(const objects::DomainObjPtr& dom) {
    for (const auto& e : dom->def->elements) {
        if (e.name != "seclabel") {
            continue;
        }
        // libvirt's VIRT_MACHINE_ID fields: which label binds to which machine.
        std::string text = "virt=" + options_.driverName + " vm=" + host::auditValue(dom->name()) +
                           " uuid=" + dom->uuid().toString() +
                           " vm-ctx=" + host::auditValue(std::string(trimString(e.childText("label")))) +
                           " img-ctx=" + host::auditValue(std::string(trimString(e.childText("imagelabel")))) +
                           " model=" + e.attrOr("model");
        if (options_.store != nullptr) {
            objects::AuditRecord rec;
            rec.kind = "VIRT_MACHINE_ID";
            rec.subject = dom->name() + " " + dom->uuid().toString();
            rec.object = e.attrOr("model");
            rec.detail = text;
            if (auto stored = options_.store->appendAudit(rec); !stored) {
                logError("cannot record the audit trail of domain '" + dom->name() + "': " +
                         stored.error().wireMessage());
            }
        }
        if (auto sent = host::sendKernelAudit(host::kAuditVirtMachineId, text, true); !sent) {
            logDebug("kernel audit: " + sent.error().wireMessage());
        }
    }
}

Result<UniqueFd> DomainManager::openConsole(const DomainRef& ref, const std::string& devName, unsigned flags) {
    // virDomainConsoleFlags: FORCE 1 (take over a console in use), SAFE 2 (every console here is
    // safe: one client at a time, or the newest has it).
    if ((flags & ~3u) != 0) {
        return unsupportedFlags(flags, "domainOpenConsole");
    }
    CORRAL_ASSIGN_OR_RETURN(objects::DomainObjPtr dom, findRunning(ref));
    return backend_->openConsole(*dom, devName, (flags & 1u) != 0);
}

Result<std::vector<UniqueFd>> DomainManager::openNamespaces(const DomainRef& ref, unsigned flags) {
    if (flags != 0) {
        return unsupportedFlags(flags, "domainLxcOpenNamespace");
    }
    CORRAL_ASSIGN_OR_RETURN(objects::DomainObjPtr dom, findRunning(ref));
    return backend_->openNamespaces(*dom);
}

Result<std::string> DomainManager::monitorCommand(const DomainRef& ref, const std::string& command, bool hmp) {
    CORRAL_ASSIGN_OR_RETURN(objects::DomainObjPtr dom, findRunning(ref));
    return backend_->monitorCommand(*dom, command, hmp);
}

}  // namespace corral::drivers
