// SPDX-License-Identifier: LGPL-2.1-or-later
// The Landlock driver (no libvirt has one): the guest's process may open only its own files plus
// the system files a QEMU needs to run (programs, libraries, firmware, a few /etc entries, the
// device nodes of its private /dev). Another guest's image is out of reach even for a process
// running as root, and even when DAC would let it through.
#pragma once

#include "security/security_driver.hpp"

namespace corral::security {

class LandlockDriver final : public SecurityDriver {
public:
    /// `systemRules`: what every guest process may use besides its own files.
    explicit LandlockDriver(std::vector<host::LandlockRule> systemRules) : systemRules_(std::move(systemRules)) {}

    [[nodiscard]] std::string model() const override { return "landlock"; }
    [[nodiscard]] std::string doi() const override { return std::to_string(host::landlockAbi()); }
    Result<void> prepare(const conf::DomainDef& def, const std::vector<GuestFile>& files,
                         GuestSecurity& security) override;
    void release(const conf::DomainDef&, const std::vector<GuestFile>&) override {}
    Result<void> reserve(const conf::DomainDef&) override { return {}; }

private:
    std::vector<host::LandlockRule> systemRules_;
};

}  // namespace corral::security
