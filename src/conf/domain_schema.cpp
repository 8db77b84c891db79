// SPDX-License-Identifier: LGPL-2.1-or-later
// Element tables from libvirt's domain schema (domaincommon.rng) and formatter order.
#include "conf/domain_schema.hpp"

#include <array>

namespace corral::conf {

namespace {

// The order virDomainDefFormat writes top-level elements in.
constexpr std::array<std::string_view, 42> kTopLevel = {
    "name", "uuid", "genid", "title", "description", "metadata", "maxMemory", "memory",
    "currentMemory", "blkiotune", "memtune", "memoryBacking", "vcpu", "vcpus", "iothreads",
    "iothreadids", "defaultiothread", "cputune", "numatune", "resource", "sysinfo", "bootloader",
    "bootloader_args", "os", "idmap", "features", "cpu", "clock", "on_poweroff", "on_reboot",
    "on_crash", "on_lockfailure", "pm", "perf", "devices", "seclabel", "keywrap",
    "launchSecurity", "qemu:commandline", "qemu:capabilities", "qemu:override", "lxc:namespace"};

// The order virDomainDefFormat writes devices in.
constexpr std::array<std::string_view, 31> kDevices = {
    "emulator", "disk", "controller", "lease", "filesystem", "interface", "smartcard", "serial",
    "parallel", "console", "channel", "input", "tpm", "graphics", "sound", "audio", "video",
    "hostdev", "redirdev", "redirfilter", "hub", "watchdog", "memballoon", "rng", "panic",
    "shmem", "memory", "iommu", "vsock", "crypto", "nvram"};

template <std::size_t N>
int indexOf(const std::array<std::string_view, N>& table, std::string_view name) {
    for (std::size_t i = 0; i < N; ++i) {
        if (table[i] == name) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

}  // namespace

int topLevelOrder(std::string_view name) { return indexOf(kTopLevel, name); }
int deviceOrder(std::string_view name) { return indexOf(kDevices, name); }

bool isKnownVirtType(std::string_view type) {
    constexpr std::array<std::string_view, 17> kTypes = {
        "none", "qemu", "kqemu", "kvm", "xen", "lxc", "uml", "openvz", "test", "vmware",
        "hyperv", "vbox", "phyp", "parallels", "bhyve", "vz", "hvf"};
    return indexOf(kTypes, type) >= 0;
}

bool isKnownLifecycleAction(std::string_view action, bool crash) {
    constexpr std::array<std::string_view, 4> kCommon = {"destroy", "restart", "preserve", "rename-restart"};
    constexpr std::array<std::string_view, 2> kCrashOnly = {"coredump-destroy", "coredump-restart"};
    return indexOf(kCommon, action) >= 0 || (crash && indexOf(kCrashOnly, action) >= 0);
}

}  // namespace corral::conf
