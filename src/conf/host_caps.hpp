// SPDX-License-Identifier: LGPL-2.1-or-later
// The host-level documents libvirt clients read: capabilities (virConnectGetCapabilities),
// domain capabilities (virConnectGetDomainCapabilities) and sysinfo (virConnectGetSysinfo), as
// plain structs and their XML, in libvirt's element names and order. Pure: drivers fill them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace corral::conf {

/// One NUMA cell of <host><topology>.
struct CapsCell {
    unsigned id = 0;
    std::uint64_t memoryKiB = 0;
    std::vector<unsigned> cpus;
};

/// <machine>: a canonical machine type, or an alias with the name it stands for.
struct CapsMachine {
    std::string name;
    std::string canonical;  ///< empty unless `name` is an alias
    unsigned maxCpus = 0;   ///< 0: not reported
};

/// One element of a <guest>'s <features>: <acpi default='on' toggle='yes'/>, or bare
/// (<cpuselection/>) when `defaultOn` and `toggle` are not given.
struct CapsGuestFeature {
    std::string name;
    std::optional<bool> defaultOn;
    std::optional<bool> toggle;
};

/// One <guest>: a guest OS type on one architecture, with its emulator and machines.
struct CapsGuest {
    std::string osType;  ///< "hvm", "exe"
    std::string arch;
    unsigned wordsize = 64;
    std::string emulator;  ///< empty: no <emulator> (containers)
    std::vector<CapsMachine> machines;
    std::vector<std::string> domainTypes;  ///< "qemu", "kvm", "lxc"
    std::vector<CapsGuestFeature> features;  ///< empty: no <features>
};

struct HostCapabilities {
    std::string uuid;  ///< empty: not reported
    std::string arch;
    unsigned sockets = 1, dies = 1, cores = 1, threads = 1;
    std::vector<CapsCell> cells;
    std::vector<std::pair<std::string, std::string>> secmodels;  ///< (model, doi)
    std::vector<CapsGuest> guests;
};

std::string formatCapabilities(const HostCapabilities& caps);

/// <enum name='...'> with its <value>s.
struct CapsEnum {
    std::string name;
    std::vector<std::string> values;
};

/// One element under <devices> (or <os><loader>): supported, and the values each attribute may
/// take.
struct CapsFacet {
    std::string name;
    bool supported = false;
    std::vector<CapsEnum> enums;
};

/// One <cpu><mode>; `models` only for mode 'custom'.
struct CapsCpuMode {
    std::string name;
    bool supported = false;
    std::vector<std::string> models;
};

struct DomainCapabilities {
    std::string path, domain, machine, arch;
    unsigned maxVcpus = 0;
    bool iothreads = false;
    bool os = true;
    std::vector<std::string> firmware;  ///< <os><enum name='firmware'>
    CapsFacet loader{"loader", false, {}};
    std::vector<CapsCpuMode> cpuModes;
    std::vector<CapsFacet> devices;
    std::vector<std::pair<std::string, bool>> features;  ///< (element, supported)
};

std::string formatDomainCapabilities(const DomainCapabilities& caps);

/// One SMBIOS section of <sysinfo type='smbios'> ("bios", "system", "baseBoard", "chassis")
/// with its (name, value) entries in order.
struct SysinfoSection {
    std::string name;
    std::vector<std::pair<std::string, std::string>> entries;
};

/// Sections without entries are left out.
std::string formatSysinfo(const std::vector<SysinfoSection>& sections);

}  // namespace corral::conf
