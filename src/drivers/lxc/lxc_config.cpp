// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/lxc/lxc_config.hpp"

#include "util/conf_file.hpp"

namespace corral::drivers::lxc {

namespace {
/// Why libvirt's lxc.conf key cannot take `v` here; nullptr when the value asks for nothing this
/// driver would not do. Containers are confined by namespaces, cgroups, capabilities, seccomp and
/// no_new_privs, never by an LSM label (docs/lxc.md).
const char* unenforcedSetting(const std::string& key, const ConfValue& v) {
    if (key == "log_with_libvirtd") {
        return nullptr;  // where the controller logs: descriptive
    }
    if (key == "security_driver") {
        return v.kind == ConfValue::Kind::String && (v.s == "none" || v.s.empty())
                   ? nullptr
                   : "containers get no SELinux or AppArmor label here (only \"none\" is accepted)";
    }
    if (key == "security_default_confined") {
        return v.kind == ConfValue::Kind::Int && v.i == 0 ? "containers are always confined (1)" : nullptr;
    }
    return v.kind == ConfValue::Kind::Int && v.i == 0 ? nullptr : "requiring an LSM label is not supported";
}

bool isLibvirtKey(std::string_view key) {
    return key == "log_with_libvirtd" || key == "security_driver" || key == "security_default_confined" ||
           key == "security_require_confined";
}
}  // namespace

Result<LxcDriverConfig> loadLxcConfig(const std::string& path) {
    CORRAL_ASSIGN_OR_RETURN(ConfFile file, readConfFile(path));
    LxcDriverConfig cfg;
    for (const auto& [key, v] : file.entries) {
        const std::string where = file.path + ":" + std::to_string(v.line) + ": ";
        if (key == "max_processes") {
            if (v.kind != ConfValue::Kind::Int || v.i < 0) {
                return fail(ErrorCode::ConfSyntax, where + key + ": expected a number of processes (0 = no limit)",
                            ErrorDomain::Config);
            }
            cfg.maxProcesses = v.i > 0 ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(v.i)) : std::nullopt;
        } else if (key == "container_id_min" || key == "container_id_count") {
            // At least one container's 65536 ids, and the pool must end below 2^32 - 1.
            if (v.kind != ConfValue::Kind::Int || v.i < 65536 || v.i > 0xfffe0000LL) {
                return fail(ErrorCode::ConfSyntax, where + key + ": expected a number of ids from 65536 to 4294836224",
                            ErrorDomain::Config);
            }
            (key == "container_id_min" ? cfg.containerIdMin : cfg.containerIdCount) = static_cast<std::uint32_t>(v.i);
        } else if (!isLibvirtKey(key)) {
            return fail(ErrorCode::ConfSyntax, where + "unknown setting '" + key + "'", ErrorDomain::Config);
        } else if (const char* why = unenforcedSetting(key, v)) {
            return fail(ErrorCode::ConfigUnsupported, where + key + ": " + why, ErrorDomain::Config);
        }
    }
    if (static_cast<std::uint64_t>(cfg.containerIdMin) + cfg.containerIdCount > 0xffffffffULL) {
        return fail(ErrorCode::ConfSyntax,
                    file.path + ": container_id_min + container_id_count must stay below 4294967295",
                    ErrorDomain::Config);
    }
    return cfg;
}

}  // namespace corral::drivers::lxc
