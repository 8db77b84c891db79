// SPDX-License-Identifier: LGPL-2.1-or-later
// The guest's clock and power states on a QEMU command line: <clock offset> and its <timer>s
// (rtc, pit, hpet, as virt-install writes them), <pm> suspend states.
#include "drivers/qemu/qemu_command_builder.hpp"

namespace corral::drivers::qemu::detail {

namespace {

/// The <timer>s of <clock> (none without one), read in place: reads on a copy would not count.
const std::vector<conf::XmlNode>& timersOf(const conf::XmlNode* clock) {
    static const std::vector<conf::XmlNode> kNone;
    return clock != nullptr ? clock->children : kNone;
}

/// libvirt's tick policies as QEMU's kvm-pit names them.
std::string pitLostTickPolicy(const std::string& policy) {
    return policy == "catchup" ? "slew" : policy;
}

}  // namespace

Result<std::optional<bool>> CommandBuilder::hpetState() const {
    const conf::XmlNode* clock = def_.element("clock");
    std::optional<bool> state;
    for (const auto& timer : timersOf(clock)) {
        if (timer.name != "timer" || timer.attrOr("name") != "hpet") {
            continue;
        }
        CORRAL_ASSIGN_OR_RETURN(auto present, [&]() -> Result<std::optional<bool>> {
            const std::string p = timer.attrOr("present", "yes");
            if (p != "yes" && p != "no") {
                return invalidXml("<clock><timer name='hpet' present='" + p + "'> must be 'yes' or 'no'");
            }
            return std::optional<bool>(p == "yes");
        }());
        if (machine_.family == MachineFamily::Microvm) {
            return unsupported("<clock><timer name='hpet'>: machine 'microvm' has no HPET");
        }
        timer.markRead();
        state = present;
    }
    return state;
}

Result<void> CommandBuilder::addClockAndPower() {
    const conf::XmlNode* clock = def_.element("clock");
    const std::string offset = clock != nullptr ? clock->attrOr("offset", "utc") : "utc";
    if (offset != "utc" && offset != "localtime") {
        return unsupported("<clock offset='" + offset + "'>: not supported (utc, localtime)");
    }
    QemuOpts rtc;
    rtc.add("base", offset);
    const bool kvm = def_.type == "kvm";
    for (const auto& timer : timersOf(clock)) {
        if (timer.name != "timer") {
            continue;  // unread: refused by name
        }
        const std::string name = timer.attrOr("name");
        const std::string policy = timer.attrOr("tickpolicy");
        const std::string where = "<clock><timer name='" + name + "'" +
                                  (policy.empty() ? std::string() : " tickpolicy='" + policy + "'") + ">";
        if (name == "hpet") {
            if (!policy.empty()) {
                return unsupported(where + ": the HPET takes no tick policy here");
            }
            continue;  // machineOption() turns it on or off (hpetState)
        }
        if (name != "rtc" && name != "pit") {
            return unsupported(where + ": not supported (rtc, pit, hpet)");
        }
        if (timer.attrOr("present", "yes") != "yes") {
            return unsupported(where + ": the " + name + " is part of the machine and cannot be removed");
        }
        timer.markRead();
        if (name == "rtc") {
            // A late RTC tick is made up (catchup: QEMU's driftfix=slew) or just delivered late.
            if (policy == "catchup") {
                rtc.add("driftfix", "slew");
            } else if (!policy.empty() && policy != "delay") {
                return unsupported(where + ": supported tick policies of the RTC are catchup and delay");
            }
        } else if (kvm) {
            if (!policy.empty() && policy != "delay" && policy != "catchup" && policy != "discard") {
                return unsupported(where + ": supported tick policies of the PIT are delay, catchup and discard");
            }
            if (!policy.empty()) {
                add({"-global", "kvm-pit.lost_tick_policy=" + pitLostTickPolicy(policy)});
            }
        } else if (!policy.empty() && policy != "delay") {
            // TCG's PIT runs in the guest's virtual time: a tick is never lost, only late.
            return unsupported(where + ": a TCG guest's PIT delivers late ticks late (tickpolicy 'delay'); "
                               "other policies need <domain type='kvm'>");
        }
    }
    add("-rtc", rtc);

    if (const conf::XmlNode* pm = def_.element("pm")) {
        const char* device = machine_.family == MachineFamily::I440fx ? "PIIX4_PM"
                             : machine_.family == MachineFamily::Q35  ? "ICH9-LPC"
                                                                      : nullptr;
        for (const auto& state : pm->children) {
            if (state.name != "suspend-to-mem" && state.name != "suspend-to-disk") {
                continue;  // unread: refused by name
            }
            const std::string enabled = state.attrOr("enabled");
            if (enabled != "yes" && enabled != "no") {
                return invalidXml("<pm><" + state.name + " enabled='" + enabled + "'> must be 'yes' or 'no'");
            }
            if (device == nullptr) {
                return unsupported("<pm>: machine 'microvm' has no ACPI sleep states to switch");
            }
            state.markRead();
            if (!hasFeature(def_, "acpi")) {
                // Without ACPI the guest has no sleep states at all (and no PIIX4_PM to switch).
                if (enabled == "yes") {
                    return unsupported("<pm><" + state.name + " enabled='yes'> needs <features><acpi/>");
                }
                continue;
            }
            const char* key = state.name == "suspend-to-mem" ? ".disable_s3=" : ".disable_s4=";
            add({"-global", std::string(device) + key + (enabled == "no" ? "1" : "0")});
        }
    }
    return {};
}

}  // namespace corral::drivers::qemu::detail
