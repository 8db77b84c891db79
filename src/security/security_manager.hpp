// SPDX-License-Identifier: LGPL-2.1-or-later
// SecurityManager: the stack of security drivers qemu.conf's security_driver selects, run in
// order for each guest. Automatic selection (the default) stacks dac, landlock where the kernel
// has it, and selinux or apparmor where the host runs one; naming a driver the host lacks stops
// the daemon with the reason, as libvirt does.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "security/dac_driver.hpp"
#include "security/security_driver.hpp"

namespace corral::security {

struct SecurityConfig {
    std::vector<std::string> drivers;  ///< security_driver; empty = automatic; ["none"] = none
    bool landlock = true;              ///< qemu.conf landlock (automatic selection only)
    DacConfig dac;
    std::vector<host::LandlockRule> landlockSystemRules;
};

class SecurityManager {
public:
    static Result<std::unique_ptr<SecurityManager>> create(const SecurityConfig& config, OwnerJournal* journal);

    /// Runs every driver for a starting guest and records their labels as <seclabel> elements of
    /// `liveDef`. On failure whatever the earlier drivers did is undone.
    Result<GuestSecurity> prepareGuest(conf::DomainDef& liveDef, const std::vector<GuestFile>& files);
    /// After the guest's process is gone: everything undone, in reverse order.
    void releaseGuest(const conf::DomainDef& liveDef, const std::vector<GuestFile>& files);
    /// After a daemon restart, for a guest still running.
    Result<void> reserveGuest(const conf::DomainDef& liveDef);
    /// After a daemon restart: files of guests no longer running go back to their owners.
    void restoreOrphans(const std::vector<std::string>& runningHolders);

    /// (model, doi) of each driver, the primary first: the LSM when there is one, else dac.
    [[nodiscard]] std::vector<std::pair<std::string, std::string>> models() const;
    /// Refuses a definition whose <seclabel model=...> names a driver this host does not run, or
    /// asks what that driver does not do. Pure; under an XmlReadTracker it reads exactly the
    /// parts of each <seclabel> the drivers act on, so the caller refuses the rest.
    Result<void> checkDefinition(const conf::DomainDef& def) const;

private:
    Result<void> checkSeclabel(const conf::XmlNode& seclabel) const;

    std::vector<std::unique_ptr<SecurityDriver>> drivers_;
};

/// Replaces the <seclabel> elements of the models in `labels` in `def` with their live form.
void writeSeclabels(conf::DomainDef& def, const std::vector<SeclabelState>& labels);

}  // namespace corral::security
