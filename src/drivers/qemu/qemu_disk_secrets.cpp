// SPDX-License-Identifier: LGPL-2.1-or-later
// QemuBackend::prepareDiskSecrets: each encrypted disk's passphrase, from the secret driver, in
// a sealed memfd QEMU inherits. The value is never on QEMU's command line (any local user reads
// /proc/PID/cmdline) and never in a file a path reaches.
#include <map>

#include "drivers/qemu/qemu_backend.hpp"
#include "drivers/qemu/qemu_command.hpp"
#include "host/sealed_memfd.hpp"

namespace corral::drivers::qemu {

Result<std::map<std::string, UniqueFd>> QemuBackend::prepareDiskSecrets(const conf::DomainDef& liveDef) {
    std::map<std::string, UniqueFd> fds;
    for (const auto& dev : liveDef.devices) {
        if (dev.name != "disk" || dev.child("encryption") == nullptr) {
            continue;
        }
        CORRAL_ASSIGN_OR_RETURN(DiskNodes nodes, planDiskNodes(dev));
        if (!nodes.secret) {
            continue;  // a cdrom without media: nothing to open
        }
        const std::string target = dev.childAttr("target", "dev");
        const std::string where = "<disk> with target '" + target + "'";
        if (!diskSecret_) {
            return fail(ErrorCode::ConfigUnsupported, where + ": no secret driver is available for <encryption>",
                        ErrorDomain::Qemu);
        }
        auto value = diskSecret_(nodes.secret->uuid, nodes.secret->usage);
        if (!value) {
            return unexpected(std::move(value).withContext(where).error());
        }
        CORRAL_ASSIGN_OR_RETURN(UniqueFd fd, host::sealedMemfd(nodes.secret->objectId, value->bytes()));
        fds.emplace(target, std::move(fd));
    }
    return fds;
}

}  // namespace corral::drivers::qemu
