// SPDX-License-Identifier: LGPL-2.1-or-later
#include "security/lsm_drivers.hpp"

#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/files.hpp"
#include "util/logging.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

namespace corral::security {

namespace {
constexpr const char* kSelinuxXattr = "security.selinux";

/// The <seclabel> a driver reads: its own model, or one without a model (applies to the first).
const conf::XmlNode* labelElement(const conf::DomainDef& def, const std::string& model) {
    if (const conf::XmlNode* own = seclabelFor(def, model)) {
        return own;
    }
    for (const auto& e : def.elements) {
        if (e.name == "seclabel" && e.attr("model") == nullptr) {
            return &e;
        }
    }
    return nullptr;
}
}  // namespace

std::string selinuxRangeOf(const std::string& context) {
    auto parsed = parseSelinuxContext(context);
    return parsed ? parsed->range : std::string();
}

std::string SelinuxDriver::unavailableReason() {
    auto enforce = readTextFile("/sys/fs/selinux/enforce");
    if (!enforce) {
        return "SELinux is not enabled on this host (no selinuxfs at /sys/fs/selinux)";
    }
    return {};
}

Result<SeclabelState> SelinuxDriver::chooseLabels(const conf::DomainDef& def) {
    const conf::XmlNode* seclabel = labelElement(def, "selinux");
    SeclabelState state{"selinux", "dynamic", true, "", ""};
    if (seclabel != nullptr) {
        state.type = seclabel->attrOr("type", "dynamic");
        state.relabel = seclabel->attrOr("relabel", state.type == "static" ? "no" : "yes") == "yes";
    }
    if (state.type == "none") {
        state.relabel = false;
        return state;
    }
    if (state.type == "static") {
        state.label = std::string(trimString(seclabel->childText("label")));
        CORRAL_TRY(validateStaticLabel(state.label));
        std::string range = selinuxRangeOf(state.label);
        state.imageLabel = range.empty() ? std::string(kSvirtImageBase) : *dynamicImageLabel(range);
        if (std::string image(trimString(seclabel->childText("imagelabel"))); !image.empty()) {
            state.imageLabel = image;
        }
        return state;
    }
    CORRAL_ASSIGN_OR_RETURN(std::string range, mcs_.allocate(random32_));
    auto label = dynamicProcessLabel(range);
    auto image = dynamicImageLabel(range);
    if (!label || !image) {
        mcs_.release(range);
        return unexpected(label ? std::move(image).error() : std::move(label).error());
    }
    state.label = *label;
    state.imageLabel = *image;
    return state;
}

Result<void> SelinuxDriver::prepare(const conf::DomainDef& def, const std::vector<GuestFile>& files,
                                    GuestSecurity& security) {
    CORRAL_ASSIGN_OR_RETURN(SeclabelState state, chooseLabels(def));
    if (state.type != "none") {
        security.confinement.execLabel = state.label;
    }
    if (state.relabel) {
        for (const auto& file : files) {
            if (!file.relabel || file.shared) {
                continue;  // shared files keep their label; the policy gives svirt guests read access
            }
            if (::setxattr(file.path.c_str(), kSelinuxXattr, state.imageLabel.c_str(), state.imageLabel.size() + 1,
                           0) != 0 &&
                errno != ENOENT) {
                int err = errno;
                mcs_.release(selinuxRangeOf(state.label));
                return failErrno(err, "cannot label '" + file.path + "' " + state.imageLabel);
            }
        }
    }
    security.labels.push_back(std::move(state));
    return {};
}

void SelinuxDriver::release(const conf::DomainDef& liveDef, const std::vector<GuestFile>& files) {
    const conf::XmlNode* seclabel = seclabelFor(liveDef, "selinux");
    if (seclabel == nullptr) {
        return;
    }
    if (seclabel->attrOr("type") == "dynamic") {
        mcs_.release(selinuxRangeOf(std::string(trimString(seclabel->childText("label")))));
    }
    if (seclabel->attrOr("relabel", "yes") == "yes") {
        // The generic image type without categories: no guest can use the file until the next
        // start labels it again (libvirt restores the policy's default via matchpathcon).
        const std::string neutral = "system_u:object_r:virt_image_t:s0";
        for (const auto& file : files) {
            if (file.relabel && !file.shared &&
                ::setxattr(file.path.c_str(), kSelinuxXattr, neutral.c_str(), neutral.size() + 1, 0) != 0 &&
                errno != ENOENT) {
                logWarning("cannot restore the SELinux label of '" + file.path + "': " + std::strerror(errno));
            }
        }
    }
}

Result<void> SelinuxDriver::reserve(const conf::DomainDef& liveDef) {
    const conf::XmlNode* seclabel = seclabelFor(liveDef, "selinux");
    if (seclabel == nullptr || seclabel->attrOr("type") != "dynamic") {
        return {};
    }
    return mcs_.reserve(selinuxRangeOf(std::string(trimString(seclabel->childText("label")))));
}

std::string AppArmorDriver::unavailableReason() {
    auto enabled = readTextFile("/sys/module/apparmor/parameters/enabled");
    if (!enabled || trimString(*enabled) != "Y") {
        return "AppArmor is not enabled on this host (/sys/module/apparmor/parameters/enabled is not Y)";
    }
    if (::access("/sbin/apparmor_parser", X_OK) != 0 && ::access("/usr/sbin/apparmor_parser", X_OK) != 0) {
        return "AppArmor is enabled but apparmor_parser is not installed (package apparmor)";
    }
    return {};
}

Result<void> AppArmorDriver::prepare(const conf::DomainDef& def, const std::vector<GuestFile>& files,
                                     GuestSecurity& security) {
    const conf::XmlNode* seclabel = labelElement(def, "apparmor");
    if (seclabel != nullptr && seclabel->attrOr("type") == "none") {
        security.labels.push_back({"apparmor", "none", false, "", ""});
        return {};
    }
    std::string profile = apparmorProfileName(def.uuid);
    if (seclabel != nullptr && seclabel->attrOr("type") == "static") {
        profile = std::string(trimString(seclabel->childText("label")));
    } else {
        AppArmorGuestFiles guestFiles;
        for (const auto& f : files) {
            (f.write || f.socketDir ? guestFiles.readWrite : guestFiles.readOnly).push_back(f.path);
        }
        CORRAL_ASSIGN_OR_RETURN(std::string text, apparmorProfile(profile, guestFiles));
        CORRAL_ASSIGN_OR_RETURN(CommandResult loaded, runCommand({"apparmor_parser", "-r"}, text));
        if (loaded.exitStatus != 0) {
            return fail(ErrorCode::OperationFailed,
                        "cannot load AppArmor profile '" + profile + "': " + std::string(trimString(loaded.output)),
                        ErrorDomain::Security);
        }
    }
    security.confinement.execLabel = "exec " + profile;
    security.labels.push_back({"apparmor", seclabel != nullptr ? seclabel->attrOr("type", "dynamic") : "dynamic",
                               true, profile, profile});
    return {};
}

void AppArmorDriver::release(const conf::DomainDef& liveDef, const std::vector<GuestFile>&) {
    const conf::XmlNode* seclabel = seclabelFor(liveDef, "apparmor");
    if (seclabel == nullptr || seclabel->attrOr("type") != "dynamic") {
        return;
    }
    // Removal goes by the profile's name; an empty body with that name is enough to name it.
    auto removed = runCommand({"apparmor_parser", "-R"}, "profile " + apparmorProfileName(liveDef.uuid) + " {}\n");
    if (!removed || removed->exitStatus != 0) {
        logWarning("cannot unload the AppArmor profile of domain '" + liveDef.name + "'");
    }
}

}  // namespace corral::security
