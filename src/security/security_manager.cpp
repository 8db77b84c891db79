// SPDX-License-Identifier: LGPL-2.1-or-later
#include "security/security_manager.hpp"

#include <sys/random.h>

#include <algorithm>

#include "security/landlock_driver.hpp"
#include "security/lsm_drivers.hpp"
#include "util/logging.hpp"
#include "util/strings.hpp"

namespace corral::security {

namespace {

std::uint32_t kernelRandom32() {
    std::uint32_t value = 0;
    while (::getrandom(&value, sizeof value, 0) != static_cast<ssize_t>(sizeof value)) {
    }
    return value;
}

Unexpected unavailable(const std::string& name, const std::string& why) {
    return fail(ErrorCode::OperationUnsupported, "security driver '" + name + "' is not available: " + why,
                ErrorDomain::Security);
}

}  // namespace

const conf::XmlNode* seclabelFor(const conf::DomainDef& def, const std::string& model) {
    for (const auto& e : def.elements) {
        if (e.name == "seclabel" && e.attrOr("model") == model) {
            return &e;
        }
    }
    return nullptr;
}

Result<std::unique_ptr<SecurityManager>> SecurityManager::create(const SecurityConfig& config, OwnerJournal* journal) {
    auto manager = std::make_unique<SecurityManager>();
    std::vector<std::string> names = config.drivers;
    const bool automatic = names.empty();
    if (automatic) {
        if (SelinuxDriver::unavailableReason().empty()) {
            names.push_back("selinux");
        } else if (AppArmorDriver::unavailableReason().empty()) {
            names.push_back("apparmor");
        }
        names.push_back("dac");
        if (config.landlock && host::landlockAbi() > 0) {
            names.push_back("landlock");
        }
    }
    if (names.size() == 1 && names[0] == "none") {
        return manager;
    }
    for (const auto& name : names) {
        if (name == "dac") {
            manager->drivers_.push_back(std::make_unique<DacDriver>(config.dac, journal));
        } else if (name == "landlock") {
            if (host::landlockAbi() == 0) {
                return unavailable(name, "this kernel has no Landlock (Linux 5.13+ with landlock in lsm=)");
            }
            manager->drivers_.push_back(std::make_unique<LandlockDriver>(config.landlockSystemRules));
        } else if (name == "selinux") {
            if (std::string why = SelinuxDriver::unavailableReason(); !why.empty()) {
                return unavailable(name, why);
            }
            manager->drivers_.push_back(std::make_unique<SelinuxDriver>(kernelRandom32));
        } else if (name == "apparmor") {
            if (std::string why = AppArmorDriver::unavailableReason(); !why.empty()) {
                return unavailable(name, why);
            }
            manager->drivers_.push_back(std::make_unique<AppArmorDriver>());
        } else {
            return fail(ErrorCode::ConfigUnsupported, "unknown security driver '" + name + "'", ErrorDomain::Security);
        }
    }
    std::string summary;
    for (const auto& d : manager->drivers_) {
        summary += (summary.empty() ? "" : ", ") + d->model();
    }
    logInfo("security drivers for guests: " + (summary.empty() ? std::string("none") : summary));
    return manager;
}

Result<void> SecurityManager::checkDefinition(const conf::DomainDef& def) const {
    for (const auto& e : def.elements) {
        if (e.name == "seclabel") {
            CORRAL_TRY(checkSeclabel(e));
        }
    }
    return {};
}

Result<void> SecurityManager::checkSeclabel(const conf::XmlNode& seclabel) const {
    auto unsupported = [](const std::string& what) {
        return fail(ErrorCode::ConfigUnsupported, what, ErrorDomain::Security);
    };
    const std::string type = seclabel.attrOr("type", "dynamic");
    if (type != "dynamic" && type != "static" && type != "none") {
        return unsupported("<seclabel type='" + type + "'>: expected 'dynamic', 'static' or 'none'");
    }
    std::string model = seclabel.attrOr("model");
    auto running = [&](const std::string& m) {
        return std::any_of(drivers_.begin(), drivers_.end(), [&](const auto& d) { return d->model() == m; });
    };
    if (model.empty()) {
        // As libvirt's primary driver: the host's LSM. DAC reads only a label naming it.
        model = running("selinux") ? "selinux" : running("apparmor") ? "apparmor" : "";
        if (model.empty()) {
            return unsupported("<seclabel> without a model applies to the host's SELinux or AppArmor driver, and this "
                               "host runs neither (name the model, such as model='dac')");
        }
    } else if (!running(model)) {
        if (model == "dac" && type == "none") {
            return {};  // without the DAC driver every guest keeps the daemon's identity, as asked
        }
        std::string why = model == "selinux"    ? SelinuxDriver::unavailableReason()
                          : model == "apparmor" ? AppArmorDriver::unavailableReason()
                                                : "it is not in qemu.conf's security_driver list";
        return unsupported("<seclabel model='" + model + "'>: security model '" + model +
                           "' is not available on this host" + (why.empty() ? std::string() : ": " + why));
    }
    if (type == "none") {
        return {};  // an unconfined guest has no label: anything more in the element is refused
    }
    // What each driver honours (dac_driver.cpp, lsm_drivers.cpp): relabel by DAC and SELinux,
    // a static label by all three, SELinux's image label. A dynamic label's <label> and
    // <imagelabel> are what an earlier start chose; the next start chooses again.
    if (model != "apparmor") {
        const std::string relabel = seclabel.attrOr("relabel", "yes");
        if (relabel != "yes" && relabel != "no") {
            return unsupported("<seclabel relabel='" + relabel + "'>: expected 'yes' or 'no'");
        }
    }
    const std::string label(trimString(seclabel.childText("label")));
    if (type == "static") {
        if (label.empty()) {
            return unsupported("<seclabel type='static' model='" + model + "'>: needs a <label>");
        }
        if (model == "dac") {
            CORRAL_TRY(parseDacLabel(label));
        }
    }
    if (const conf::XmlNode* image = seclabel.child("imagelabel")) {
        // DAC's files belong to the process's own identity: an image label can only repeat it.
        if (model == "dac" && type == "static" && std::string(trimString(image->text)) != label) {
            return unsupported("<seclabel model='dac'><imagelabel>: files are given to the guest's own identity '" +
                               label + "'");
        }
        if (model == "apparmor") {
            return unsupported("<seclabel model='apparmor'><imagelabel>: AppArmor has no image label");
        }
    }
    return {};
}

Result<GuestSecurity> SecurityManager::prepareGuest(conf::DomainDef& liveDef, const std::vector<GuestFile>& files) {
    CORRAL_TRY(checkDefinition(liveDef));
    GuestSecurity security;
    for (std::size_t i = 0; i < drivers_.size(); ++i) {
        auto prepared = drivers_[i]->prepare(liveDef, files, security);
        if (!prepared) {
            // The labels chosen so far are in `security`; the drivers release from them.
            conf::DomainDef partial = liveDef;
            writeSeclabels(partial, security.labels);
            for (std::size_t j = i; j-- > 0;) {
                drivers_[j]->release(partial, files);
            }
            return unexpected(std::move(prepared).withContext("security driver '" + drivers_[i]->model() + "'").error());
        }
    }
    writeSeclabels(liveDef, security.labels);
    return security;
}

void SecurityManager::releaseGuest(const conf::DomainDef& liveDef, const std::vector<GuestFile>& files) {
    for (auto it = drivers_.rbegin(); it != drivers_.rend(); ++it) {
        (*it)->release(liveDef, files);
    }
}

Result<void> SecurityManager::reserveGuest(const conf::DomainDef& liveDef) {
    for (const auto& d : drivers_) {
        CORRAL_TRY(d->reserve(liveDef));
    }
    return {};
}

void SecurityManager::restoreOrphans(const std::vector<std::string>& runningHolders) {
    for (const auto& d : drivers_) {
        d->restoreOrphans(runningHolders);
    }
}

std::vector<std::pair<std::string, std::string>> SecurityManager::models() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& d : drivers_) {
        out.emplace_back(d->model(), d->doi());
    }
    return out;
}

void writeSeclabels(conf::DomainDef& def, const std::vector<SeclabelState>& labels) {
    auto replaced = [&](const conf::XmlNode& e) {
        if (e.name != "seclabel") {
            return false;
        }
        const std::string* model = e.attr("model");
        return model == nullptr ||
               std::any_of(labels.begin(), labels.end(), [&](const SeclabelState& l) { return l.model == *model; });
    };
    def.elements.erase(std::remove_if(def.elements.begin(), def.elements.end(), replaced), def.elements.end());
    for (const auto& l : labels) {
        conf::XmlNode e;
        e.name = "seclabel";
        e.setAttr("type", l.type);
        e.setAttr("model", l.model);
        if (l.type != "none") {
            e.setAttr("relabel", l.relabel ? "yes" : "no");
            conf::XmlNode label{"label", {}, {}, l.label, 0};
            e.children.push_back(label);
            if (!l.imageLabel.empty()) {
                e.children.push_back(conf::XmlNode{"imagelabel", {}, {}, l.imageLabel, 0});
            }
        }
        def.elements.push_back(std::move(e));
    }
}

}  // namespace corral::security
