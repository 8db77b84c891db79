// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainManager's security queries (dominfo's Security label) and the monitor pass-through.
#include "conf/domain_def.hpp"
#include "drivers/common/domain_manager.hpp"
#include "drivers/common/domain_manager_errors.hpp"
#include "util/strings.hpp"

namespace corral::drivers {

Result<std::vector<std::pair<std::string, std::string>>> DomainManager::securityLabels(const DomainRef& ref) {
    CORRAL_ASSIGN_OR_RETURN(objects::DomainObjPtr dom, find(ref));
    std::vector<std::pair<std::string, std::string>> out;
    std::lock_guard lock(dom->mutex());
    if (!dom->isActive()) {
        return out;  // labels exist only while the guest runs
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

Result<std::string> DomainManager::monitorCommand(const DomainRef& ref, const std::string& command, bool hmp) {
    CORRAL_ASSIGN_OR_RETURN(objects::DomainObjPtr dom, findRunning(ref));
    return backend_->monitorCommand(*dom, command, hmp);
}

}  // namespace corral::drivers
