// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/lxc/container_privileges.hpp"

#include <linux/capability.h>

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <set>

namespace corral::drivers::lxc {

namespace {

struct NamedCapability {
    const char* name;
    int cap;
};

// The element names of libvirt's schema (domaincommon.rng, "capabilities"), which follow
// capabilities(7) without the CAP_ prefix, plus the four capabilities newer than that list.
constexpr NamedCapability kCapabilities[] = {
    {"chown", CAP_CHOWN},
    {"dac_override", CAP_DAC_OVERRIDE},
    {"dac_read_search", CAP_DAC_READ_SEARCH},
    {"fowner", CAP_FOWNER},
    {"fsetid", CAP_FSETID},
    {"kill", CAP_KILL},
    {"setgid", CAP_SETGID},
    {"setuid", CAP_SETUID},
    {"setpcap", CAP_SETPCAP},
    {"linux_immutable", CAP_LINUX_IMMUTABLE},
    {"net_bind_service", CAP_NET_BIND_SERVICE},
    {"net_broadcast", CAP_NET_BROADCAST},
    {"net_admin", CAP_NET_ADMIN},
    {"net_raw", CAP_NET_RAW},
    {"ipc_lock", CAP_IPC_LOCK},
    {"ipc_owner", CAP_IPC_OWNER},
    {"sys_module", CAP_SYS_MODULE},
    {"sys_rawio", CAP_SYS_RAWIO},
    {"sys_chroot", CAP_SYS_CHROOT},
    {"sys_ptrace", CAP_SYS_PTRACE},
    {"sys_pacct", CAP_SYS_PACCT},
    {"sys_admin", CAP_SYS_ADMIN},
    {"sys_boot", CAP_SYS_BOOT},
    {"sys_nice", CAP_SYS_NICE},
    {"sys_resource", CAP_SYS_RESOURCE},
    {"sys_time", CAP_SYS_TIME},
    {"sys_tty_config", CAP_SYS_TTY_CONFIG},
    {"mknod", CAP_MKNOD},
    {"lease", CAP_LEASE},
    {"audit_write", CAP_AUDIT_WRITE},
    {"audit_control", CAP_AUDIT_CONTROL},
    {"setfcap", CAP_SETFCAP},
    {"mac_override", CAP_MAC_OVERRIDE},
    {"mac_admin", CAP_MAC_ADMIN},
    {"syslog", CAP_SYSLOG},
    {"wake_alarm", CAP_WAKE_ALARM},
    {"block_suspend", CAP_BLOCK_SUSPEND},
    {"audit_read", CAP_AUDIT_READ},
    {"perfmon", CAP_PERFMON},
    {"bpf", CAP_BPF},
    {"checkpoint_restore", CAP_CHECKPOINT_RESTORE},
};

// A container whose root is the host's root (no user namespace) keeps only these: each acts on
// the container's own files and processes (its pid namespace hides the host's), never on the
// host's kernel, devices, clock or mounts.
constexpr int kHostRootKeeps[] = {
    CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID,  // root's rights over its own files
    CAP_KILL,                     // signals within its pid namespace
    CAP_SETUID, CAP_SETGID,       // su, login, daemons dropping privileges
    CAP_SETPCAP, CAP_SETFCAP,     // shrinking its own sets; file capabilities of its own files
    CAP_NET_BIND_SERVICE,         // ports below 1024
    CAP_SYS_CHROOT,               // chroot within its own root
    CAP_AUDIT_WRITE,              // login and sshd write audit records (or refuse logins)
    CAP_SYS_BOOT,                 // reboot(2) in a pid namespace ends the container; kexec is refused by seccomp
    CAP_IPC_OWNER,                // System V IPC of its own ipc namespace
};
// ... and these when its network namespace is its own (on the host's they would rewrite the
// host's addresses, routes and firewall, or sniff its traffic).
constexpr int kPrivateNetworkKeeps[] = {CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BROADCAST};

// Dropped from every container by default: each is checked against the host's user namespace
// whatever namespace the caller is in, so in a user namespace it grants nothing but reaches
// kernel code, and without one it reaches the host: device nodes, kernel modules, raw I/O,
// the clock, the kernel log, LSM and audit policy, process accounting, wake-up alarms,
// suspend, BPF and performance counters.
constexpr int kKernelWide[] = {CAP_MKNOD,       CAP_SYS_MODULE,    CAP_SYS_RAWIO,  CAP_SYS_TIME,
                               CAP_SYSLOG,      CAP_MAC_ADMIN,     CAP_MAC_OVERRIDE, CAP_AUDIT_CONTROL,
                               CAP_AUDIT_READ,  CAP_SYS_PACCT,     CAP_WAKE_ALARM, CAP_BLOCK_SUSPEND,
                               CAP_BPF,         CAP_PERFMON};

std::vector<int> allCapabilities() {
    std::vector<int> all;
    for (const auto& c : kCapabilities) {
        all.push_back(c.cap);
    }
    std::sort(all.begin(), all.end());
    return all;
}

bool contains(const std::vector<int>& caps, int cap) { return std::find(caps.begin(), caps.end(), cap) != caps.end(); }

}  // namespace

std::optional<int> capabilityByName(std::string_view name) {
    for (const auto& c : kCapabilities) {
        if (name == c.name) {
            return c.cap;
        }
    }
    return std::nullopt;
}

std::string_view capabilityName(int cap) {
    for (const auto& c : kCapabilities) {
        if (c.cap == cap) {
            return c.name;
        }
    }
    return {};
}

std::vector<int> defaultCapabilities(bool userNamespace, bool privateNetwork) {
    std::vector<int> keep;
    if (userNamespace) {
        for (int cap : allCapabilities()) {
            if (std::find(std::begin(kKernelWide), std::end(kKernelWide), cap) == std::end(kKernelWide)) {
                keep.push_back(cap);
            }
        }
        return keep;
    }
    keep.assign(std::begin(kHostRootKeeps), std::end(kHostRootKeeps));
    if (privateNetwork) {
        keep.insert(keep.end(), std::begin(kPrivateNetworkKeeps), std::end(kPrivateNetworkKeeps));
    }
    std::sort(keep.begin(), keep.end());
    return keep;
}

std::vector<int> chooseCapabilities(std::string_view policy, const std::vector<CapabilityChoice>& choices,
                                    bool userNamespace, bool privateNetwork) {
    std::set<int> keep;
    if (policy == "allow") {
        for (int cap : allCapabilities()) {
            keep.insert(cap);
        }
    } else if (policy != "deny") {
        for (int cap : defaultCapabilities(userNamespace, privateNetwork)) {
            keep.insert(cap);
        }
    }
    for (const auto& c : choices) {
        if (c.on) {
            keep.insert(c.cap);
        } else {
            keep.erase(c.cap);
        }
    }
    return {keep.begin(), keep.end()};
}

std::vector<host::SyscallDenial> deniedSyscalls(const std::vector<int>& keptCapabilities) {
    struct Rule {
        const char* name;
        int unlockedBy;  // the capability that allows the call when kept; -1: never allowed
        int errnoValue;
    };
    static constexpr Rule kRules[] = {
        // A new kernel replaces the host's. CAP_SYS_BOOT stays for reboot(2), which in a pid
        // namespace only ends the container, so these two are refused whatever is kept.
        {"kexec_load", -1, EPERM},
        {"kexec_file_load", -1, EPERM},
        // Kernel code.
        {"init_module", CAP_SYS_MODULE, EPERM},
        {"finit_module", CAP_SYS_MODULE, EPERM},
        {"delete_module", CAP_SYS_MODULE, EPERM},
        // Opens any file of a file system by its handle, around the mount tree and the
        // container's root: the host's /etc/shadow through a bind-mounted directory.
        {"open_by_handle_at", CAP_DAC_READ_SEARCH, EPERM},
        // The host's kernel log.
        {"syslog", CAP_SYSLOG, EPERM},
        // Raw I/O ports.
        {"iopl", CAP_SYS_RAWIO, EPERM},
        {"ioperm", CAP_SYS_RAWIO, EPERM},
        // Host-wide swap and process accounting.
        {"swapon", CAP_SYS_ADMIN, EPERM},
        {"swapoff", CAP_SYS_ADMIN, EPERM},
        {"acct", CAP_SYS_PACCT, EPERM},
        // BPF programs and performance counters: large kernel attack surface, host-wide data.
        {"bpf", CAP_BPF, EPERM},
        {"perf_event_open", CAP_PERFMON, EPERM},
        // Lets a process stall the kernel on a page fault, the usual tool to win kernel races.
        {"userfaultfd", CAP_SYS_PTRACE, EPERM},
        // Kernel keyrings are not separated per container: ENOSYS, so programs carry on
        // without them (LXC does the same).
        {"keyctl", -1, ENOSYS},
        {"add_key", -1, ENOSYS},
        {"request_key", -1, ENOSYS},
        // Obsolete calls no container program needs.
        {"uselib", -1, ENOSYS},
        {"lookup_dcookie", -1, ENOSYS},
        {"vm86", -1, ENOSYS},
        {"vm86old", -1, ENOSYS},
    };
    std::vector<host::SyscallDenial> out;
    for (const auto& r : kRules) {
        if (r.unlockedBy < 0 || !contains(keptCapabilities, r.unlockedBy)) {
            out.push_back({r.name, r.errnoValue});
        }
    }
    return out;
}

}  // namespace corral::drivers::lxc
