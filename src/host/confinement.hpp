// SPDX-License-Identifier: LGPL-2.1-or-later
// What a guest process is confined to, applied in the forked child between fork and exec: its
// cgroup, a private mount namespace with a minimal /dev, its own uid/gid, no_new_privs, and a
// Landlock domain that lets it open only the files of its own guest. The plan is built in the
// parent (all paths and numbers resolved, descriptors opened); the child runs only system calls,
// as a child of a threaded process must.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "util/process.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::host {

/// One device node of the private /dev, copied from the host's node of the same name.
struct DeviceNode {
    std::string name;  ///< relative to /dev ("null", "net/tun", "kvm")
    mode_t mode = 0;   ///< type and permission bits, as the host's node has them
    dev_t rdev = 0;
    uid_t uid = 0;
    gid_t gid = 0;
};

/// The host's /dev/NAME as a node to copy; errors name it (a missing node included).
Result<DeviceNode> hostDeviceNode(const std::string& name);

/// Landlock access for one path (and, for a directory, everything below it).
struct LandlockRule {
    std::string path;
    bool read = false;
    bool write = false;     ///< write, truncate, and for directories create and remove
    bool execute = false;
    bool deviceIoctl = false;
};

/// The Landlock ABI this kernel offers (0 when it has none).
int landlockAbi();

/// Puts the calling process, and everything it will run, in a Landlock domain that restricts no
/// file access but is scoped: it cannot ptrace, signal, or connect to an abstract unix socket of
/// a process outside the domain (a host process entered into a container, say). Needs Landlock
/// ABI 6 (Linux 6.12): before it a domain had to restrict file access, and with it every mount,
/// so false is returned and nothing is done. Call after no_new_privs is set (or with
/// CAP_SYS_ADMIN). Errors: the kernel refused the ruleset or the domain.
Result<bool> enterLandlockScope();

struct ConfinementPlan {
    /// cgroup.procs files the child moves itself into (before anything else).
    std::vector<std::string> cgroupJoinFiles;

    /// Private /dev: a tmpfs assembled in `devStagingDir` (an empty directory the parent made)
    /// and moved over /dev in a new mount namespace; the host's /dev/pts is bound into it.
    bool privateDev = false;
    std::string devStagingDir;
    std::vector<DeviceNode> devNodes;

    /// Identity. Without `changeIdentity` the child keeps root.
    bool changeIdentity = false;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> supplementaryGroups;

    /// An LSM label for the program about to run, written to /proc/thread-self/attr/exec
    /// (SELinux: the context; AppArmor: "exec PROFILE"). Empty = none.
    std::string execLabel;

    /// Landlock: with `landlock`, every file-system access outside these rules is refused, and
    /// on ABI 6+ signals to processes outside the guest's own domain too.
    bool landlock = false;
    std::vector<LandlockRule> landlockRules;
};

/// The plan turned into what the child needs: open descriptors and C strings, no allocation left.
class ChildConfinement final : public ChildHook {
public:
    static Result<std::unique_ptr<ChildConfinement>> prepare(ConfinementPlan plan);
    int run(const char** failedStep) noexcept override;

private:
    explicit ChildConfinement(ConfinementPlan plan) : plan_(std::move(plan)) {}
    int setUpDev(const char** failedStep) noexcept;
    int applyLandlock(const char** failedStep) noexcept;

    ConfinementPlan plan_;
    std::vector<UniqueFd> cgroupFds_;
    std::vector<std::string> devPaths_;  ///< staging dir + node name, one per node
    std::string stagingPts_;
    int abi_ = 0;
};

}  // namespace corral::host
