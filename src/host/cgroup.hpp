// SPDX-License-Identifier: LGPL-2.1-or-later
// Control groups, v1 controllers and the v2 unified hierarchy behind one interface. The host's
// layout is detected from /proc/self/mountinfo (a host may mount v1 controllers beside an empty v2
// mount, as this project's CI machine does, or only v2); every setting names the knob libvirt
// users know (cpu_shares, hard_limit...) and is mapped to the file of the version in use.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace corral::host {

enum class CgroupController { Cpu, Cpuacct, Cpuset, Memory, Blkio, Pids, Devices, Freezer };

/// The controller's name in /proc/self/cgroup and cgroup.controllers ("io" for Blkio on v2).
std::string_view cgroupControllerName(CgroupController controller, bool v2);

/// Where the controllers live. On v1 each controller has its own mount (cpu and cpuacct may
/// share one); on v2 all enabled controllers share the unified mount.
struct CgroupLayout {
    bool v2 = false;
    std::string unifiedMount;  ///< v2: the cgroup2 mount point
    struct Hierarchy {
        CgroupController controller;
        std::string mount;  ///< v1: the controller's mount point
    };
    std::vector<Hierarchy> v1;                    ///< v1: one entry per mounted controller
    std::vector<CgroupController> v2Controllers;  ///< v2: controllers the root offers

    [[nodiscard]] bool has(CgroupController controller) const;
    /// The directory of the hierarchy that holds `controller` (v1), or the unified mount (v2).
    [[nodiscard]] std::string mountOf(CgroupController controller) const;
};

/// Parses /proc/self/mountinfo text and the root's cgroup.controllers (v2). A host where v1
/// controllers are mounted uses them (a cgroup2 mount without controllers beside them is
/// ignored); otherwise the cgroup2 mount is used. Errors: no cgroup file system mounted.
Result<CgroupLayout> parseCgroupLayout(std::string_view mountinfo, std::string_view rootControllers);

/// The layout of this host, read once (cgroup mounts do not move under a running daemon).
Result<CgroupLayout> hostCgroupLayout();

/// One group, e.g. corral/qemu/web1, present in every hierarchy of the layout.
class Cgroup {
public:
    Cgroup() = default;
    /// The group at `path` below each mount. A path with an empty, "." or ".." component would
    /// name another group (the partition, the mount's root): it makes an invalid group instead
    /// (valid() false), on which nothing is ever done.
    Cgroup(CgroupLayout layout, std::string path);

    /// Creates the group (and missing parents) in every hierarchy. A leftover group of the same
    /// path without processes (a guest that died with the daemon down) is removed first.
    /// `threaded` makes a v2 child group threaded (vCPU and emulator groups). Errors: a path
    /// with an empty, "." or ".." component (InternalError naming it), what mkdir says.
    static Result<Cgroup> create(const CgroupLayout& layout, const std::string& path, bool threaded = false);

    [[nodiscard]] bool valid() const { return !path_.empty(); }
    /// Whether the group's directory exists (in the first hierarchy).
    [[nodiscard]] bool exists() const;
    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] const CgroupLayout& layout() const { return layout_; }
    [[nodiscard]] Cgroup child(const std::string& name) const;
    /// The group's directory in the hierarchy of `controller`.
    [[nodiscard]] std::string directory(CgroupController controller) const;

    /// Moves every thread of `pid` (cgroup.procs) into the group in each hierarchy.
    Result<void> addProcess(pid_t pid) const;
    /// Moves one thread (a vCPU): tasks on v1, cgroup.threads on v2.
    Result<void> addThread(pid_t tid) const;
    /// The cgroup.procs file of each hierarchy.
    [[nodiscard]] std::vector<std::string> procsFiles() const;
    /// The file of each hierarchy that a single-threaded child writes "0" into to join the
    /// group before exec. v1: `tasks`. Moving only the calling thread lets the kernel skip its
    /// global threadgroup lock, whose RCU grace period cost every start about 7 ms here
    /// (cgroup.procs); v2: cgroup.procs (v2 domain groups take whole processes only).
    [[nodiscard]] std::vector<std::string> selfJoinFiles() const;
    /// Removes the group and its children (the processes must be gone). Missing is fine, and
    /// so is an invalid group (nothing is removed).
    Result<void> remove() const;
    /// Kills every task of the group and of the groups below it, in every hierarchy, and waits
    /// up to `timeout` until none is left (cgroup_kill.cpp). Stopping a guest's main process is
    /// not enough: QEMU may have forked, and tasks may have joined a container's groups from
    /// outside its pid namespace; each would keep the group from being removed and run on with
    /// no domain to account for it. A group that does not exist holds nothing.
    Result<void> killAll(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
    /// The pids in the cgroup.procs of the group and of every group below it, each hierarchy
    /// read, each pid once.
    [[nodiscard]] std::vector<pid_t> tasks() const;

    // Settings, in libvirt's units. Each fails with OperationUnsupported when the controller is
    // not mounted, naming it; a value the kernel refuses is reported with the file named.
    Result<void> setCpuShares(std::uint64_t shares) const;
    Result<std::uint64_t> cpuShares() const;
    /// `quotaUs` < 0 = unlimited.
    Result<void> setCpuBandwidth(std::uint64_t periodUs, std::int64_t quotaUs) const;
    Result<std::uint64_t> cpuPeriod() const;
    Result<std::int64_t> cpuQuota() const;
    Result<std::uint64_t> cpuUsageNs() const;
    /// Memory limits in KiB; nullopt = unlimited.
    Result<void> setMemoryHardLimit(std::optional<std::uint64_t> kib) const;
    Result<void> setMemorySoftLimit(std::optional<std::uint64_t> kib) const;
    /// libvirt's swap_hard_limit: memory plus swap (v1 memsw; v2 swap.max = swap - hard).
    Result<void> setMemorySwapHardLimit(std::optional<std::uint64_t> kib, std::optional<std::uint64_t> hardKib) const;
    /// All three at once, in the order v1 accepts (memory + swap may never be below memory):
    /// memsw raised first when it grows, lowered last. An unset swap limit is left as it is.
    Result<void> setMemoryLimits(std::optional<std::uint64_t> hardKib, std::optional<std::uint64_t> softKib,
                                 std::optional<std::uint64_t> swapKib) const;
    Result<std::optional<std::uint64_t>> memoryHardLimit() const;
    Result<std::optional<std::uint64_t>> memorySoftLimit() const;
    Result<std::optional<std::uint64_t>> memorySwapHardLimit() const;
    Result<std::uint64_t> memoryUsageKiB() const;
    /// How many times the kernel's OOM killer ran in the group (0 when the kernel does not say).
    std::uint64_t oomKills() const;
    Result<void> setBlkioWeight(unsigned weight) const;
    Result<unsigned> blkioWeight() const;
    struct DeviceThrottle {
        std::string device;  ///< "MAJ:MIN"
        std::uint64_t readBps = 0, writeBps = 0, readIops = 0, writeIops = 0;  ///< 0 = unlimited
    };
    Result<void> setBlkioThrottle(const DeviceThrottle& throttle) const;
    Result<void> setPidsMax(std::optional<std::uint64_t> max) const;
    Result<std::optional<std::uint64_t>> pidsMax() const;
    Result<void> setCpusetCpus(const std::string& cpus) const;
    /// Freezes or thaws every task of the group (v1 freezer.state, v2 cgroup.freeze) and
    /// returns once the kernel says every task has stopped (v1 FROZEN, v2 cgroup.events
    /// "frozen 1"): a task stops only when it next runs, which its CPU quota may put off by a
    /// period (up to 1 s). A freeze not done within `timeout` is undone (OperationTimeout,
    /// cgroup_freeze.cpp).
    Result<void> setFrozen(bool frozen,
                           std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
    /// Whether the group is frozen (or freezing) now.
    Result<bool> frozen() const;
    /// Lets the group use only these devices ("c 1:3 rwm", "c 136:* rwm" ...): v1's devices
    /// controller, or on v2 a BPF device program attached to the group (replacing the one
    /// attached by an earlier call; see cgroup_device_program.hpp).
    Result<void> allowOnlyDevices(const std::vector<std::string>& rules) const;
    Result<std::string> cpusetCpus() const;

private:
    Result<void> write(CgroupController controller, const std::string& file, std::string_view value) const;
    Result<std::string> read(CgroupController controller, const std::string& file) const;
    Result<void> require(CgroupController controller) const;
    /// Each hierarchy's mount once (v1 cpu and cpuacct may share one), or the unified mount.
    static std::vector<std::string> distinctMounts(const CgroupLayout& layout);
    /// `dir` and every directory below it, parents first; empty when `dir` does not exist.
    static std::vector<std::string> groupsUnder(const std::string& dir);

    CgroupLayout layout_;
    std::string path_;
};

/// PARENT/ESCAPED-NAME (escapeCgroupComponent): the group of the guest `name` below `parent`
/// ("corral/qemu"). Escaped, so that a guest named ".." never gets the partition itself (its
/// limits on every guest, its removal taking the others' groups) nor "cgroup.procs" a kernel file.
std::string guestGroupPath(const std::string& parent, std::string_view name);

/// The group a running guest is in: guestGroupPath, or PARENT/NAME, where a daemon before names
/// were escaped put it, when only that one exists (legacyCgroupComponent).
Cgroup runningGuestGroup(const CgroupLayout& layout, const std::string& parent, std::string_view name);

/// Moves the calling process into each group `pid` belongs to, in every hierarchy this layout
/// knows (named v1 hierarchies and controllers Corral does not manage are left alone): how
/// lxc-enter-namespace puts a command under a container's limits. Errors name the file.
Result<void> joinCgroupsOf(const CgroupLayout& layout, pid_t pid);

/// "MAJ:MIN" of the block device `path` (for per-device throttles). Errors name the path.
Result<std::string> blockDeviceNumber(const std::string& path);

}  // namespace corral::host
