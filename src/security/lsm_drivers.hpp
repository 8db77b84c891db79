// SPDX-License-Identifier: LGPL-2.1-or-later
// The SELinux and AppArmor drivers (sVirt). SELinux: each running guest gets a unique MCS
// category pair, its process runs as svirt_t with it and its images are labelled svirt_image_t
// with the same pair, so two guests cannot touch each other's files; static labels and
// relabel='no' as in libvirt. AppArmor: one profile per guest (libvirt-UUID) listing its files.
// Each driver exists only where the host has the LSM: available() says why not otherwise.
#pragma once

#include <functional>
#include <map>
#include <mutex>

#include "security/apparmor_profile.hpp"
#include "security/security_driver.hpp"
#include "security/selinux_labels.hpp"

namespace corral::security {

class SelinuxDriver final : public SecurityDriver {
public:
    /// Empty when SELinux is enabled here; otherwise why it cannot be used.
    static std::string unavailableReason();
    explicit SelinuxDriver(std::function<std::uint32_t()> random32) : random32_(std::move(random32)) {}

    [[nodiscard]] std::string model() const override { return "selinux"; }
    [[nodiscard]] std::string doi() const override { return "0"; }
    Result<void> prepare(const conf::DomainDef& def, const std::vector<GuestFile>& files,
                         GuestSecurity& security) override;
    void release(const conf::DomainDef& liveDef, const std::vector<GuestFile>& files) override;
    Result<void> reserve(const conf::DomainDef& liveDef) override;

    /// The label decision alone (no file or process touched): what prepare() records.
    Result<SeclabelState> chooseLabels(const conf::DomainDef& def);

private:
    std::function<std::uint32_t()> random32_;
    McsAllocator mcs_;
};

class AppArmorDriver final : public SecurityDriver {
public:
    static std::string unavailableReason();

    [[nodiscard]] std::string model() const override { return "apparmor"; }
    [[nodiscard]] std::string doi() const override { return "0"; }
    Result<void> prepare(const conf::DomainDef& def, const std::vector<GuestFile>& files,
                         GuestSecurity& security) override;
    void release(const conf::DomainDef& liveDef, const std::vector<GuestFile>& files) override;
    Result<void> reserve(const conf::DomainDef&) override { return {}; }
};

/// The range ("s0:c1,c2") of an SELinux context, or "".
std::string selinuxRangeOf(const std::string& context);

}  // namespace corral::security
