// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/lxc/lxc_config.hpp"

#include <set>

#include "util/conf_file.hpp"
#include "util/logging.hpp"

namespace corral::drivers::lxc {

namespace {
// libvirt's lxc.conf keys this driver does not act on: containers are confined by namespaces,
// cgroups, the dropped capabilities and no_new_privs, not by an LSM label (yet).
const std::set<std::string, std::less<>> kAcceptedUnused = {"log_with_libvirtd", "security_driver",
                                                            "security_default_confined", "security_require_confined"};
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
        } else if (kAcceptedUnused.contains(key)) {
            logWarning(where + "'" + key + "' is not used by Corral's LXC driver");
        } else {
            return fail(ErrorCode::ConfSyntax, where + "unknown setting '" + key + "'", ErrorDomain::Config);
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
