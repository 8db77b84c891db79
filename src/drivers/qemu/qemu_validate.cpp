// SPDX-License-Identifier: LGPL-2.1-or-later
// checkQemuGuestDefinition: every part of a QEMU guest's definition is acted on at start, or
// refused now, naming it (docs/domain-xml.md, "Accepted means enforced").
#include "drivers/qemu/qemu_validate.hpp"

#include "conf/domain_coverage.hpp"
#include "conf/domain_tuning.hpp"
#include "drivers/qemu/qemu_backend.hpp"
#include "drivers/qemu/qemu_command.hpp"
#include "drivers/qemu/qemu_implicit_devices.hpp"
#include "drivers/qemu/qemu_pci_addresses.hpp"

namespace corral::drivers::qemu {

namespace {

Unexpected unsupported(const std::string& what) {
    return fail(ErrorCode::ConfigUnsupported, what, ErrorDomain::Qemu);
}

/// The tuning values conf::readTuning understands that this driver's cgroup code does not apply.
Result<void> refuseUnappliedTuning(const conf::DomainTuning& t, bool cgroups) {
    const bool any = t.cpu.shares || !t.cpu.vcpu.empty() || !t.cpu.global.empty() || !t.cpu.emulator.empty() ||
                     !t.cpu.iothread.empty() || !t.cpu.vcpupin.empty() || !t.cpu.emulatorpin.empty() ||
                     !t.cpu.iothreadpin.empty() || t.memory.hardLimitKiB || t.memory.softLimitKiB ||
                     t.memory.swapHardLimitKiB || t.blkio.weight || !t.blkio.devices.empty();
    if (any && !cgroups) {
        return unsupported("<cputune>/<memtune>/<blkiotune> need cgroups, which qemu.conf's cgroup_controllers = [ ] "
                           "turns off");
    }
    if (t.memory.minGuaranteeKiB) {
        return unsupported("<memtune><min_guarantee>: a guaranteed minimum is not supported by the QEMU driver");
    }
    for (const auto& dev : t.blkio.devices) {
        if (dev.weight) {
            return unsupported("<blkiotune><device><weight> for '" + dev.path +
                               "': per-device blkio weights are not supported");
        }
    }
    return {};
}

}  // namespace

Result<void> checkQemuGuestDefinition(const conf::DomainDef& def, const security::SecurityManager* security,
                                      bool cgroups, bool spiceTls) {
    // Everything read from here on is what start acts on: the command line, the security
    // drivers' labels, the cgroup tuning. What is left unread is refused below.
    conf::XmlReadTracker reads;
    CORRAL_TRY(checkQemuDefinition(def, spiceTls));
    if (security != nullptr) {
        CORRAL_TRY(security->checkDefinition(def));
    }
    CORRAL_TRY(refuseUnappliedTuning(conf::readTuning(def), cgroups));
    return conf::refuseUnreadParts(def, reads, "qemu", ErrorDomain::Qemu);
}

Result<void> QemuBackend::checkDefinition(const conf::DomainDef& def) {
    CORRAL_TRY(checkQemuGuestDefinition(def, security_.get(), config_.cgroups, config_.spiceTls));
    return checkMachineLimits(def);
}

Result<void> QemuBackend::checkMachineLimits(const conf::DomainDef& def) {
    // Only the driver's own emulator is probed (a definition must not make the daemon run a
    // program of its choosing); one that cannot be probed here is left to fail at start.
    auto emulator = resolveEmulator(config_.emulator);
    if (!emulator || (!def.emulator.empty() && def.emulator != *emulator)) {
        return {};
    }
    auto caps = capsCache_.get(*emulator);
    if (!caps) {
        return {};
    }
    const QemuMachine* machine = findMachine(**caps, def.os.machine.empty() ? "pc" : def.os.machine);
    // libvirt's words and error code (it checks at start; refused here at define already).
    if (machine != nullptr && machine->maxCpus != 0 && def.vcpus > machine->maxCpus) {
        return fail(ErrorCode::ConfigUnsupported,
                    "Maximum CPUs greater than specified machine type limit " + std::to_string(machine->maxCpus),
                    ErrorDomain::Qemu);
    }
    return {};
}

Result<void> QemuBackend::completeDefinition(conf::DomainDef& def, bool running) {
    if (!running) {
        addImplicitDevices(def);  // before the addresses: the balloon takes a PCI slot
    }
    return assignPciAddresses(def, !running);
}

}  // namespace corral::drivers::qemu
