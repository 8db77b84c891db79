// SPDX-License-Identifier: LGPL-2.1-or-later
// What a container may ask of the kernel: its capabilities (libvirt's policies, Corral's
// defaults), the system calls its seccomp filter refuses, and the host ids it gets.
#include <gtest/gtest.h>
#include <linux/capability.h>

#include <algorithm>
#include <cstring>

#include "drivers/lxc/container_ids.hpp"
#include "drivers/lxc/container_privileges.hpp"

namespace corral::drivers::lxc {
namespace {

bool has(const std::vector<int>& caps, int cap) { return std::find(caps.begin(), caps.end(), cap) != caps.end(); }

bool denies(const std::vector<host::SyscallDenial>& list, const char* name) {
    return std::any_of(list.begin(), list.end(), [&](const auto& d) { return std::strcmp(d.name, name) == 0; });
}

TEST(ContainerCapabilities, LibvirtNamesMapToTheKernelsNumbers) {
    EXPECT_EQ(capabilityByName("sys_admin"), CAP_SYS_ADMIN);
    EXPECT_EQ(capabilityByName("mknod"), CAP_MKNOD);
    EXPECT_EQ(capabilityByName("wake_alarm"), CAP_WAKE_ALARM);
    EXPECT_EQ(capabilityByName("CAP_SYS_ADMIN"), std::nullopt);
    EXPECT_EQ(capabilityByName("sysadmin"), std::nullopt);
    EXPECT_EQ(capabilityName(CAP_DAC_READ_SEARCH), "dac_read_search");
    for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
        EXPECT_FALSE(capabilityName(cap).empty()) << "capability " << cap << " has no name";
    }
}

TEST(ContainerCapabilities, AHostRootContainerKeepsNothingThatReachesTheHost) {
    for (bool privateNetwork : {false, true}) {
        auto keep = defaultCapabilities(false, privateNetwork);
        // The escapes of issue 16: file handles, remounting /proc/sys, the kernel log, tracing
        // host processes, kernel modules, raw I/O, device nodes, the clock.
        for (int cap : {CAP_SYS_ADMIN, CAP_DAC_READ_SEARCH, CAP_SYSLOG, CAP_SYS_PTRACE, CAP_SYS_MODULE,
                        CAP_SYS_RAWIO, CAP_MKNOD, CAP_SYS_TIME, CAP_MAC_ADMIN, CAP_AUDIT_CONTROL, CAP_BPF,
                        CAP_SYS_RESOURCE, CAP_SYS_NICE}) {
            EXPECT_FALSE(has(keep, cap)) << capabilityName(cap);
        }
        // What init needs for its own processes and files, and reboot(2) of its pid namespace.
        for (int cap : {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_SETUID, CAP_SETGID, CAP_KILL, CAP_SYS_BOOT}) {
            EXPECT_TRUE(has(keep, cap)) << capabilityName(cap);
        }
        // The network's administration only for a network of its own.
        EXPECT_EQ(has(keep, CAP_NET_ADMIN), privateNetwork);
        EXPECT_EQ(has(keep, CAP_NET_RAW), privateNetwork);
    }
}

TEST(ContainerCapabilities, AUserNamespaceKeepsWhatActsOnItsOwnObjects) {
    auto keep = defaultCapabilities(true, false);
    for (int cap : {CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_SYS_BOOT, CAP_SETUID}) {
        EXPECT_TRUE(has(keep, cap)) << capabilityName(cap);
    }
    for (int cap : {CAP_MKNOD, CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYSLOG, CAP_SYS_TIME, CAP_BPF, CAP_PERFMON}) {
        EXPECT_FALSE(has(keep, cap)) << capabilityName(cap);
    }
}

TEST(ContainerCapabilities, PoliciesFollowLibvirt) {
    // default: the defaults, changed one by one.
    auto changed = chooseCapabilities("default", {{CAP_MKNOD, true}, {CAP_SYS_CHROOT, false}}, false, false);
    EXPECT_TRUE(has(changed, CAP_MKNOD));
    EXPECT_FALSE(has(changed, CAP_SYS_CHROOT));
    EXPECT_TRUE(has(changed, CAP_CHOWN));
    // deny: nothing but what is turned on.
    EXPECT_EQ(chooseCapabilities("deny", {{CAP_MKNOD, true}}, false, false), std::vector<int>{CAP_MKNOD});
    EXPECT_TRUE(chooseCapabilities("deny", {}, true, true).empty());
    // allow: everything but what is turned off.
    auto all = chooseCapabilities("allow", {{CAP_SYS_ADMIN, false}}, false, false);
    EXPECT_FALSE(has(all, CAP_SYS_ADMIN));
    EXPECT_TRUE(has(all, CAP_SYS_MODULE) && has(all, CAP_MKNOD) && has(all, CAP_CHECKPOINT_RESTORE));
    EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
}

TEST(ContainerSeccomp, EscapesAreRefusedUnlessTheirCapabilityIsKeptOnPurpose) {
    auto denied = deniedSyscalls(defaultCapabilities(false, false));
    for (const char* call : {"open_by_handle_at", "kexec_load", "kexec_file_load", "init_module", "finit_module",
                             "delete_module", "syslog", "iopl", "ioperm", "bpf", "perf_event_open", "keyctl",
                             "userfaultfd", "acct", "swapon"}) {
        EXPECT_TRUE(denies(denied, call)) << call;
    }
    EXPECT_FALSE(denies(denied, "mount"));
    EXPECT_FALSE(denies(denied, "reboot"));  // ends the container's pid namespace, nothing more
    // A capability turned on brings the calls that need it, as Docker's profile does...
    auto withHandles = deniedSyscalls(chooseCapabilities("default", {{CAP_DAC_READ_SEARCH, true}}, false, false));
    EXPECT_FALSE(denies(withHandles, "open_by_handle_at"));
    auto withModules = deniedSyscalls(chooseCapabilities("allow", {}, false, false));
    EXPECT_FALSE(denies(withModules, "finit_module"));
    // ... but no capability lets a container load a kernel over the host's.
    EXPECT_TRUE(denies(withModules, "kexec_load") && denies(withModules, "kexec_file_load"));
    // Keyrings are refused as absent, so programs carry on without them.
    for (const auto& d : withModules) {
        if (std::strcmp(d.name, "keyctl") == 0) {
            EXPECT_EQ(d.errnoValue, ENOSYS);
        }
    }
}

TEST(ContainerIds, EachRunningContainerGetsABlockOfItsOwn) {
    Uuid a{}, b{};
    a.bytes[0] = 1;
    b.bytes[0] = 2;
    const ContainerIdPool pool{0x10000000, 4 * kContainerIdCount};
    auto first = pickContainerIds(a, pool, {});
    ASSERT_TRUE(first);
    EXPECT_GE(*first, pool.first);
    EXPECT_LT(*first, pool.first + pool.count);
    EXPECT_EQ((*first - pool.first) % kContainerIdCount, 0u);
    EXPECT_EQ(pickContainerIds(a, pool, {}), first);  // the same UUID, the same ids
    // Taken (by an automatic range or an <idmap>, even overlapping only in part): the next.
    std::vector<IdRange> used{{0, *first + 100, 10}};
    auto second = pickContainerIds(a, pool, used);
    ASSERT_TRUE(second);
    EXPECT_NE(*second, *first);
    // Every block taken: none.
    std::vector<IdRange> all{{0, pool.first, pool.count}};
    EXPECT_FALSE(pickContainerIds(b, pool, all));
    EXPECT_FALSE(pickContainerIds(b, {0x10000000, 1000}, {}));  // a pool smaller than one block
}

}  // namespace
}  // namespace corral::drivers::lxc
