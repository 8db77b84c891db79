// SPDX-License-Identifier: LGPL-2.1-or-later
// What the QEMU driver offers on this host: the <guest> part of the capabilities (QEMU's own
// machine list, KVM only where /dev/kvm works), the domain capabilities and the CPU models.
//
// The domain capabilities are not a second list of what the driver takes: each value is found
// by putting a small definition that uses it through the same checks a define runs (parse,
// post-parse, validate, checkDefinition with its read tracker). What they report is therefore
// what the driver enforces, and they change when the checks change.
#include <sys/stat.h>

#include <algorithm>
#include <map>

#include "conf/domain_def.hpp"
#include "conf/host_caps.hpp"
#include "conf/xml_node.hpp"
#include "drivers/qemu/qemu_backend.hpp"
#include "drivers/qemu/qemu_command.hpp"
#include "host/node_info.hpp"
#include "util/logging.hpp"

namespace corral::drivers::qemu {

namespace {

/// The architectures the driver runs with its x86 emulator (resolveMachine's rule).
constexpr const char* kArches[] = {"x86_64", "i686"};

bool knownArch(const std::string& arch) { return arch == "x86_64" || arch == "i686"; }

/// QEMU's machines that the command builder knows, canonical names first, each alias after
/// the machine it stands for (libvirt's order).
std::vector<conf::CapsMachine> runnableMachines(const QemuBinaryCaps& caps) {
    std::vector<conf::CapsMachine> out;
    for (const auto& m : caps.machines) {
        if (!driverBuildsMachine(m.name)) {
            continue;
        }
        out.push_back({m.name, "", m.maxCpus});
        if (!m.alias.empty() && driverBuildsMachine(m.alias)) {
            out.push_back({m.alias, m.name, m.maxCpus});
        }
    }
    return out;
}

/// QEMU's default machine, when the command builder knows it.
const QemuMachine* defaultMachineOf(const QemuBinaryCaps& caps) {
    for (const auto& m : caps.machines) {
        if (m.isDefault && driverBuildsMachine(m.name)) {
            return &m;
        }
    }
    return nullptr;
}

/// A minimal definition of one domain type, arch and machine, with room for the one part a
/// check is about: attributes of <os> and children after its <type>, <features>, <cpu>,
/// devices, and top-level elements (`extra`).
struct Sample {
    std::string virtType, arch, machine, emulator;
    std::string osAttrs, os, features, cpu, devices, extra;

    [[nodiscard]] std::string xml() const {
        std::string x = "<domain type='" + conf::xmlEscape(virtType) +
                        "'><name>corral-domcaps-probe</name><memory unit='KiB'>131072</memory><vcpu>1</vcpu>" + extra;
        x += "<os" + osAttrs + "><type arch='" + conf::xmlEscape(arch) + "' machine='" + conf::xmlEscape(machine) +
             "'>hvm</type>" + os + "</os>";
        if (!features.empty()) {
            x += "<features>" + features + "</features>";
        }
        x += cpu + "<devices><emulator>" + conf::xmlEscape(emulator) + "</emulator>" + devices + "</devices></domain>";
        return x;
    }
};

/// The values of `candidates` for which `make(value)` gives a definition the driver accepts.
template <class Make, class Accepts>
std::vector<std::string> accepted(const std::vector<std::string>& candidates, Make make, Accepts accepts) {
    std::vector<std::string> out;
    for (const auto& value : candidates) {
        if (accepts(make(value))) {
            out.push_back(value);
        }
    }
    return out;
}

}  // namespace

Result<void> QemuBackend::checkSample(const std::string& xml) {
    CORRAL_ASSIGN_OR_RETURN(std::unique_ptr<conf::DomainDef> def, conf::parseDomainXml(xml));
    conf::PostParseContext ctx;
    ctx.generateUuid = [] { return Uuid::generate(); };
    ctx.macInUse = [](const std::string&) { return false; };
    ctx.random32 = [] { return 0x2a2a2a2au; };
    CORRAL_TRY(conf::postParseDomainDef(*def, ctx));
    CORRAL_TRY(conf::validateDomainDef(*def));
    return checkDefinition(*def);
}

host::KvmVerdict QemuBackend::kvmVerdict() {
    struct stat st {};
    const std::string key = ::stat("/dev/kvm", &st) == 0
                                ? std::to_string(st.st_rdev) + ":" + std::to_string(st.st_ino) + ":" +
                                      std::to_string(st.st_ctim.tv_sec)
                                : "absent";
    std::lock_guard lock(kvmMutex_);
    if (kvmDeviceKey_ != key) {
        kvmVerdict_ = host::decideKvm(host::probeKvm());
        kvmDeviceKey_ = key;
        logInfo(kvmVerdict_.usable ? "KVM is usable: domain type 'kvm' offered"
                                   : "domain type 'kvm' not offered: " + kvmVerdict_.reason);
    }
    return kvmVerdict_;
}

std::vector<conf::CapsGuestFeature> QemuBackend::guestFeatures(const std::string& arch, const std::string& machine,
                                                               const std::string& emulator) {
    // virt-install copies <acpi/>, <apic/> and <pae/> into the guests it writes only when the
    // capabilities offer them; each is offered when the checks take it (on the default machine).
    Sample base{"qemu", arch, machine, emulator, "", "", "", "", "", ""};
    auto acceptsFeature = [&](const std::string& element) {
        Sample s = base;
        s.features = element;
        return checkSample(s.xml()).has_value();
    };
    std::vector<conf::CapsGuestFeature> out;
    if (arch == "i686") {
        if (acceptsFeature("<pae/>")) {
            out.push_back({"pae", std::nullopt, std::nullopt});
        }
        if (checkSample(base.xml()).has_value()) {
            out.push_back({"nonpae", std::nullopt, std::nullopt});
        }
    }
    if (acceptsFeature("<acpi/>")) {
        // Without <acpi/> the guest has none (libvirt's rule), so it can be turned off.
        out.push_back({"acpi", true, checkSample(base.xml()).has_value()});
    }
    if (acceptsFeature("<apic/>")) {
        // Every x86 machine QEMU runs has a local APIC: leaving <apic/> out does not remove it.
        out.push_back({"apic", true, false});
    }
    Sample cpu = base;
    cpu.cpu = "<cpu mode='custom' match='exact'><model>qemu64</model></cpu>";
    if (checkSample(cpu.xml()).has_value()) {
        out.push_back({"cpuselection", std::nullopt, std::nullopt});
    }
    Sample boot = base;
    boot.devices = "<disk type='file' device='disk'><source file='/var/lib/corral/images/probe.img'/>"
                   "<target dev='vda' bus='virtio'/><boot order='1'/></disk>";
    if (checkSample(boot.xml()).has_value()) {
        out.push_back({"deviceboot", std::nullopt, std::nullopt});
    }
    return out;
}

std::optional<Result<std::vector<conf::CapsGuest>>> QemuBackend::guestCapabilities() {
    auto caps = capsCache_.get(config_.emulator);
    if (!caps) {
        // A host whose QEMU is missing or broken offers no QEMU guests; the rest of the
        // capabilities (the host part) is still true, as with libvirt.
        logWarning("capabilities list no QEMU guests: " + caps.error().message);
        return Result<std::vector<conf::CapsGuest>>(std::vector<conf::CapsGuest>{});
    }
    const bool kvm = kvmVerdict().usable;
    const QemuMachine* defaultMachine = defaultMachineOf(**caps);
    std::vector<conf::CapsGuest> guests;
    for (const char* arch : kArches) {
        conf::CapsGuest g;
        g.osType = "hvm";
        g.arch = arch;
        g.wordsize = std::string(arch) == "x86_64" ? 64 : 32;
        g.emulator = (*caps)->emulator;
        g.machines = runnableMachines(**caps);
        g.domainTypes = {"qemu"};
        if (kvm) {
            g.domainTypes.emplace_back("kvm");
        }
        if (defaultMachine != nullptr) {
            g.features = guestFeatures(arch, defaultMachine->name, (*caps)->emulator);
        }
        guests.push_back(std::move(g));
    }
    return Result<std::vector<conf::CapsGuest>>(std::move(guests));
}

Result<std::vector<std::string>> QemuBackend::cpuModelNames(const std::string& arch) {
    if (!knownArch(arch)) {
        return fail(ErrorCode::InvalidArg, "cannot find architecture " + arch, ErrorDomain::Qemu);
    }
    CORRAL_ASSIGN_OR_RETURN(auto caps, capsCache_.get(config_.emulator));
    std::vector<std::string> names;
    for (const auto& m : caps->cpuModels) {
        // "host" is the KVM host CPU, which mode='host-passthrough' asks for; QEMU's name for it
        // is no <model> a definition may give.
        if (m.name != "host") {
            names.push_back(m.name);
        }
    }
    return names;
}

Result<std::string> QemuBackend::domainCapabilitiesXml(const DomainCapsQuery& query) {
    // Probing runs the binary as the daemon's user with only QEMU's own sandbox: a client must
    // not be able to name any other program for that (libvirt probes whatever path it is given).
    CORRAL_ASSIGN_OR_RETURN(std::string emulator, resolveEmulator(config_.emulator));
    if (!query.emulator.empty() && query.emulator != emulator) {
        return fail(ErrorCode::ConfigUnsupported,
                    "emulator '" + query.emulator + "' is not the one this driver probes ('" + emulator +
                        "', qemu.conf emulator)",
                    ErrorDomain::Qemu);
    }
    CORRAL_ASSIGN_OR_RETURN(auto caps, capsCache_.get(emulator));
    std::string arch = query.arch;
    if (arch.empty()) {
        CORRAL_ASSIGN_OR_RETURN(host::HostFacts facts, host::readHostFacts());
        arch = facts.arch;
    }
    if (!knownArch(arch)) {
        return fail(ErrorCode::ConfigUnsupported, "unable to find any emulator to serve '" + arch + "' architecture",
                    ErrorDomain::Qemu);
    }
    const bool kvm = kvmVerdict().usable;
    std::string virtType = query.virtType.empty() ? (kvm ? "kvm" : "qemu") : query.virtType;
    if (virtType != "qemu" && virtType != "kvm") {
        return fail(ErrorCode::InvalidArg, "unknown virttype: " + virtType, ErrorDomain::Qemu);
    }
    if (virtType == "kvm" && !kvm) {
        return fail(ErrorCode::ConfigUnsupported,
                    "KVM is not supported by '" + caps->emulator + "' on this host", ErrorDomain::Qemu);
    }
    const QemuMachine* machine = query.machine.empty() ? defaultMachineOf(*caps) : findMachine(*caps, query.machine);
    if (machine == nullptr || !driverBuildsMachine(machine->name)) {
        return fail(ErrorCode::InvalidArg,
                    "the machine '" + (query.machine.empty() ? std::string("default") : query.machine) +
                        "' is not supported by emulator '" + caps->emulator + "'",
                    ErrorDomain::Qemu);
    }

    Sample base{virtType, arch, machine->name, caps->emulator, "", "", "", "", "", ""};
    auto with = [&](auto field, const std::string& text) {
        Sample s = base;
        s.*field = text;
        return s.xml();
    };
    auto devicesWith = [&](const std::string& text) { return with(&Sample::devices, text); };
    auto accepts = [this](const std::string& xml) { return checkSample(xml).has_value(); };
    // The base itself must pass, or every "no" below would only repeat its refusal.
    CORRAL_TRY(checkSample(base.xml()).withContext("checking a minimal definition for the domain capabilities"));

    conf::DomainCapabilities dc;
    dc.path = caps->emulator;
    dc.domain = virtType;
    dc.machine = machine->name;
    dc.arch = arch;
    dc.maxVcpus = machine->maxCpus;
    dc.iothreads = checkSample(with(&Sample::extra, "<iothreads>1</iothreads>")).has_value();

    // <os>: firmware auto-selection and <loader>.
    dc.firmware = accepted({"bios", "efi"}, [&](const std::string& v) { return with(&Sample::osAttrs, " firmware='" + v + "'"); }, accepts);
    auto loaderTypes = accepted({"rom", "pflash"}, [&](const std::string& v) {
        return with(&Sample::os, "<loader type='" + v + "' readonly='yes'>/usr/share/OVMF/OVMF_CODE.fd</loader>");
    }, accepts);
    dc.loader.supported = !loaderTypes.empty();
    if (dc.loader.supported) {
        dc.loader.enums.push_back({"type", loaderTypes});
        dc.loader.enums.push_back({"readonly", accepted({"yes", "no"}, [&](const std::string& v) {
            return with(&Sample::os, "<loader type='" + loaderTypes.front() + "' readonly='" + v +
                                         "'>/usr/share/OVMF/OVMF_CODE.fd</loader>");
        }, accepts)});
        dc.loader.enums.push_back({"secure", accepted({"yes", "no"}, [&](const std::string& v) {
            return with(&Sample::os, "<loader type='" + loaderTypes.front() + "' readonly='yes' secure='" + v +
                                         "'>/usr/share/OVMF/OVMF_CODE.fd</loader>");
        }, accepts)});
    }

    // <cpu> modes; 'custom' lists QEMU's models (the builder passes any of them to -cpu).
    for (const char* mode : {"host-passthrough", "maximum", "host-model"}) {
        bool ok = checkSample(with(&Sample::cpu, std::string("<cpu mode='") + mode + "'/>")).has_value();
        dc.cpuModes.push_back({mode, ok, {}});
    }
    conf::CapsCpuMode custom{"custom", false, {}};
    CORRAL_ASSIGN_OR_RETURN(auto models, cpuModelNames(arch));
    if (!models.empty() &&
        checkSample(with(&Sample::cpu, "<cpu mode='custom' match='exact'><model>" + models.front() + "</model></cpu>"))) {
        custom.supported = true;
        custom.models = std::move(models);
    }
    dc.cpuModes.push_back(std::move(custom));

    // <devices>
    auto diskXml = [](const std::string& device, const std::string& bus, const std::string& model) {
        static const std::map<std::string, std::string> kTargets{{"ide", "hda"}, {"scsi", "sda"}, {"virtio", "vda"},
                                                                {"usb", "sda"}, {"sata", "sda"}, {"fdc", "fda"}};
        const bool block = device == "lun";
        std::string x = "<disk type='" + std::string(block ? "block" : "file") + "' device='" + device + "'";
        if (!model.empty()) {
            x += " model='" + model + "'";
        }
        x += "><driver name='qemu' type='raw'/><source " + std::string(block ? "dev='/dev/corral-probe'" :
                                                                   "file='/var/lib/corral/images/probe.img'") +
             "/><target dev='" + kTargets.at(bus) + "' bus='" + bus + "'/>";
        if (device == "cdrom" || device == "floppy") {
            x += "<readonly/>";
        }
        return x + "</disk>";
    };
    const std::vector<std::string> diskDevices{"disk", "cdrom", "floppy", "lun"};
    const std::vector<std::string> diskBuses{"ide", "scsi", "virtio", "usb", "sata", "fdc"};
    std::vector<std::string> devicesOk, busesOk;
    for (const auto& device : diskDevices) {
        for (const auto& bus : diskBuses) {
            if (!checkSample(devicesWith(diskXml(device, bus, ""))).has_value()) {
                continue;
            }
            if (std::find(devicesOk.begin(), devicesOk.end(), device) == devicesOk.end()) {
                devicesOk.push_back(device);
            }
            if (std::find(busesOk.begin(), busesOk.end(), bus) == busesOk.end()) {
                busesOk.push_back(bus);
            }
        }
    }
    std::vector<std::string> orderedBuses;
    for (const auto& bus : diskBuses) {
        if (std::find(busesOk.begin(), busesOk.end(), bus) != busesOk.end()) {
            orderedBuses.push_back(bus);
        }
    }
    auto diskModels = accepted({"virtio", "virtio-transitional", "virtio-non-transitional"},
                               [&](const std::string& v) { return devicesWith(diskXml("disk", "virtio", v)); }, accepts);
    dc.devices.push_back({"disk", !devicesOk.empty(),
                          {{"diskDevice", devicesOk}, {"bus", orderedBuses}, {"model", diskModels}}});

    auto graphics = accepted({"sdl", "vnc", "spice", "egl-headless", "dbus"},
                             [&](const std::string& v) { return devicesWith("<graphics type='" + v + "'/>"); }, accepts);
    dc.devices.push_back({"graphics", !graphics.empty(), {{"type", graphics}}});

    auto video = accepted({"vga", "cirrus", "vmvga", "qxl", "virtio", "none", "bochs", "ramfb"},
                          [&](const std::string& v) { return devicesWith("<video><model type='" + v + "'/></video>"); },
                          accepts);
    dc.devices.push_back({"video", !video.empty(), {{"modelType", video}}});

    auto hostdev = accepted({"usb", "pci", "scsi"}, [&](const std::string& v) {
        std::string source = v == "pci"  ? "<address domain='0x0000' bus='0x00' slot='0x1f' function='0x0'/>"
                             : v == "usb" ? "<vendor id='0x1d6b'/><product id='0x0002'/>"
                                          : "<adapter name='scsi_host0'/><address bus='0' target='0' unit='0'/>";
        return devicesWith("<hostdev mode='subsystem' type='" + v + "'><source>" + source + "</source></hostdev>");
    }, accepts);
    if (hostdev.empty()) {
        dc.devices.push_back({"hostdev", false, {}});
    } else {
        dc.devices.push_back({"hostdev", true, {{"mode", {"subsystem"}}, {"subsysType", hostdev}}});
    }

    auto rngModels = accepted({"virtio", "virtio-transitional", "virtio-non-transitional"}, [&](const std::string& v) {
        return devicesWith("<rng model='" + v + "'><backend model='random'>/dev/urandom</backend></rng>");
    }, accepts);
    auto rngBackends = accepted({"random", "egd", "builtin"}, [&](const std::string& v) {
        std::string backend = v == "random" ? "<backend model='random'>/dev/urandom</backend>"
                              : v == "egd"  ? "<backend model='egd' type='tcp'><source mode='connect' host='127.0.0.1' "
                                              "service='1234'/></backend>"
                                            : "<backend model='builtin'/>";
        return devicesWith("<rng model='virtio'>" + backend + "</rng>");
    }, accepts);
    dc.devices.push_back({"rng", !rngModels.empty(), {{"model", rngModels}, {"backendModel", rngBackends}}});

    auto fsDrivers = accepted({"path", "handle", "virtiofs"}, [&](const std::string& v) {
        return devicesWith("<filesystem type='mount'><driver type='" + v +
                           "'/><source dir='/var/lib/corral/probe'/><target dir='probe'/></filesystem>");
    }, accepts);
    dc.devices.push_back({"filesystem", !fsDrivers.empty(), {{"driverType", fsDrivers}}});

    auto tpm = accepted({"tpm-tis", "tpm-crb"}, [&](const std::string& v) {
        return devicesWith("<tpm model='" + v + "'><backend type='emulator' version='2.0'/></tpm>");
    }, accepts);
    dc.devices.push_back({"tpm", !tpm.empty(), {{"model", tpm}}});

    auto redirdev = accepted({"usb"}, [&](const std::string& v) {
        return devicesWith("<redirdev bus='" + v + "' type='spicevmc'/>");
    }, accepts);
    dc.devices.push_back({"redirdev", !redirdev.empty(), {{"bus", redirdev}}});

    auto channels = accepted({"pty", "unix", "spicevmc"}, [&](const std::string& v) {
        std::string target = v == "spicevmc" ? "<target type='virtio' name='com.redhat.spice.0'/>"
                                             : "<target type='virtio' name='org.qemu.guest_agent.0'/>";
        return devicesWith("<channel type='" + v + "'>" + target + "</channel>");
    }, accepts);
    dc.devices.push_back({"channel", !channels.empty(), {{"type", channels}}});

    // <features>: x86 has no GIC; the others as the checks answer.
    dc.features.emplace_back("gic", false);
    dc.features.emplace_back("vmcoreinfo", checkSample(with(&Sample::features, "<vmcoreinfo state='on'/>")).has_value());
    dc.features.emplace_back("genid", checkSample(with(&Sample::extra, "<genid/>")).has_value());
    dc.features.emplace_back("sev", checkSample(with(&Sample::extra, "<launchSecurity type='sev'><cbitpos>47</cbitpos>"
                                                                      "<reducedPhysBits>1</reducedPhysBits><policy>0x0003"
                                                                      "</policy></launchSecurity>"))
                                        .has_value());
    return conf::formatDomainCapabilities(dc);
}

}  // namespace corral::drivers::qemu
