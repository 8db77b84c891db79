// SPDX-License-Identifier: LGPL-2.1-or-later
#include "host/confinement.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace corral::host {

namespace {

// Landlock's interface, as the kernel documents it (the installed header may predate ABI 5).
constexpr std::uint64_t kFsExecute = 1ULL << 0;
constexpr std::uint64_t kFsWriteFile = 1ULL << 1;
constexpr std::uint64_t kFsReadFile = 1ULL << 2;
constexpr std::uint64_t kFsReadDir = 1ULL << 3;
constexpr std::uint64_t kFsRemoveDir = 1ULL << 4;
constexpr std::uint64_t kFsRemoveFile = 1ULL << 5;
constexpr std::uint64_t kFsMakeDir = 1ULL << 7;
constexpr std::uint64_t kFsMakeReg = 1ULL << 8;
constexpr std::uint64_t kFsMakeSock = 1ULL << 9;
constexpr std::uint64_t kFsMakeFifo = 1ULL << 10;
constexpr std::uint64_t kFsMakeSym = 1ULL << 12;
constexpr std::uint64_t kFsRefer = 1ULL << 13;
constexpr std::uint64_t kFsTruncate = 1ULL << 14;
constexpr std::uint64_t kFsIoctlDev = 1ULL << 15;
constexpr std::uint64_t kFileOnlyRights = kFsExecute | kFsWriteFile | kFsReadFile | kFsTruncate | kFsIoctlDev;
constexpr std::uint64_t kScopeAbstractUnixSocket = 1ULL << 0;
constexpr std::uint64_t kScopeSignal = 1ULL << 1;
constexpr unsigned kCreateRulesetVersion = 1U << 0;
constexpr int kRulePathBeneath = 1;

struct RulesetAttr {
    std::uint64_t handledAccessFs;
    std::uint64_t handledAccessNet;
    std::uint64_t scoped;
};

struct __attribute__((packed)) PathBeneathAttr {
    std::uint64_t allowedAccess;
    std::int32_t parentFd;
};

std::uint64_t handledRights(int abi) {
    std::uint64_t rights = (1ULL << 13) - 1;  // ABI 1: execute .. make_sym
    if (abi >= 2) {
        rights |= kFsRefer;
    }
    if (abi >= 3) {
        rights |= kFsTruncate;
    }
    if (abi >= 5) {
        rights |= kFsIoctlDev;
    }
    return rights;
}

std::uint64_t ruleRights(const LandlockRule& rule) {
    std::uint64_t rights = 0;
    if (rule.read) {
        rights |= kFsReadFile | kFsReadDir;
    }
    if (rule.write) {
        rights |= kFsWriteFile | kFsTruncate | kFsRemoveFile | kFsRemoveDir | kFsMakeReg | kFsMakeDir | kFsMakeSock |
                  kFsMakeFifo | kFsMakeSym;
    }
    if (rule.execute) {
        rights |= kFsExecute;
    }
    if (rule.deviceIoctl) {
        rights |= kFsIoctlDev;
    }
    return rights;
}

}  // namespace

int landlockAbi() {
    long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, kCreateRulesetVersion);
    return abi < 0 ? 0 : static_cast<int>(abi);
}

Result<bool> enterLandlockScope() {
    if (landlockAbi() < 6) {
        return false;
    }
    RulesetAttr attr{0, 0, kScopeAbstractUnixSocket | kScopeSignal};
    UniqueFd ruleset(static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0U)));
    if (!ruleset) {
        return failErrno(errno, "cannot create a Landlock ruleset");
    }
    if (::syscall(SYS_landlock_restrict_self, ruleset.get(), 0U) != 0) {
        return failErrno(errno, "cannot enter a Landlock domain");
    }
    return true;
}

Result<DeviceNode> hostDeviceNode(const std::string& name) {
    std::string path = "/dev/" + name;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return failErrno(errno, "cannot find the host device '" + path + "'");
    }
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) {
        return fail(ErrorCode::InvalidArg, "'" + path + "' is not a device node");
    }
    return DeviceNode{name, st.st_mode, st.st_rdev, st.st_uid, st.st_gid};
}

Result<std::unique_ptr<ChildConfinement>> ChildConfinement::prepare(ConfinementPlan plan) {
    std::unique_ptr<ChildConfinement> c(new ChildConfinement(std::move(plan)));
    for (const auto& file : c->plan_.cgroupJoinFiles) {
        UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd) {
            return failErrno(errno, "cannot open '" + file + "' to place the guest in its cgroup");
        }
        c->cgroupFds_.push_back(std::move(fd));
    }
    if (c->plan_.privateDev) {
        for (const auto& node : c->plan_.devNodes) {
            c->devPaths_.push_back(c->plan_.devStagingDir + "/" + node.name);
        }
        c->stagingPts_ = c->plan_.devStagingDir + "/pts";
    }
    if (c->plan_.landlock) {
        c->abi_ = landlockAbi();
        if (c->abi_ == 0) {
            return fail(ErrorCode::OperationUnsupported,
                        "Landlock is not available in this kernel (it needs Linux 5.13 with CONFIG_SECURITY_LANDLOCK "
                        "and 'landlock' in the lsm= list); set landlock = 0 in qemu.conf to run without it");
        }
    }
    return c;
}

int ChildConfinement::run(const char** failedStep) noexcept {
    for (const auto& fd : cgroupFds_) {
        if (::write(fd.get(), "0", 1) != 1) {
            *failedStep = "joining the guest's cgroup";
            return errno;
        }
    }
    if (plan_.privateDev) {
        if (int err = setUpDev(failedStep); err != 0) {
            return err;
        }
    }
    if (plan_.changeIdentity) {
        if (::setgroups(plan_.supplementaryGroups.size(), plan_.supplementaryGroups.data()) != 0) {
            *failedStep = "setting the guest's supplementary groups";
            return errno;
        }
        if (::setresgid(plan_.gid, plan_.gid, plan_.gid) != 0) {
            *failedStep = "switching to the guest's group";
            return errno;
        }
        if (::setresuid(plan_.uid, plan_.uid, plan_.uid) != 0) {
            *failedStep = "switching to the guest's user";
            return errno;
        }
    }
    if (!plan_.execLabel.empty()) {
        int fd = ::open("/proc/thread-self/attr/exec", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || ::write(fd, plan_.execLabel.data(), plan_.execLabel.size()) < 0) {
            *failedStep = "setting the guest's security label";
            int err = errno;
            if (fd >= 0) {
                ::close(fd);
            }
            return err;
        }
        ::close(fd);
    }
    // No setuid program can give the guest back what it just lost.
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        *failedStep = "setting no_new_privs";
        return errno;
    }
    if (plan_.landlock) {
        return applyLandlock(failedStep);
    }
    return 0;
}

int ChildConfinement::setUpDev(const char** failedStep) noexcept {
    if (::unshare(CLONE_NEWNS) != 0) {
        *failedStep = "creating the guest's mount namespace";
        return errno;
    }
    // Nothing mounted here may reach the host's namespace.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
        *failedStep = "making the guest's mounts private";
        return errno;
    }
    const char* staging = plan_.devStagingDir.c_str();
    if (::mount("corral-dev", staging, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") != 0) {
        *failedStep = "mounting the guest's /dev";
        return errno;
    }
    ::umask(0);
    for (std::size_t i = 0; i < plan_.devNodes.size(); ++i) {
        const DeviceNode& node = plan_.devNodes[i];
        // Nodes in a subdirectory (net/tun) need it first; names have at most one level.
        const std::string& path = devPaths_[i];
        std::size_t slash = node.name.find('/');
        if (slash != std::string::npos) {
            char dir[512];
            std::size_t len = plan_.devStagingDir.size() + 1 + slash;
            if (len >= sizeof dir) {
                *failedStep = "creating a device directory (name too long)";
                return ENAMETOOLONG;
            }
            path.copy(dir, len);
            dir[len] = '\0';
            if (::mkdir(dir, 0755) != 0 && errno != EEXIST) {
                *failedStep = "creating a device directory";
                return errno;
            }
        }
        if (::mknod(path.c_str(), node.mode, node.rdev) != 0 || ::chown(path.c_str(), node.uid, node.gid) != 0) {
            *failedStep = "creating a device node in the guest's /dev";
            return errno;
        }
    }
    if (::mkdir(stagingPts_.c_str(), 0755) != 0 ||
        ::mount("/dev/pts", stagingPts_.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
        *failedStep = "binding /dev/pts into the guest's /dev";
        return errno;
    }
    if (::mount(staging, "/dev", nullptr, MS_MOVE, nullptr) != 0) {
        *failedStep = "moving the guest's /dev into place";
        return errno;
    }
    // The links programs expect; failures here only cost convenience.
    (void)::symlink("/proc/self/fd", "/dev/fd");
    (void)::symlink("/proc/self/fd/0", "/dev/stdin");
    (void)::symlink("/proc/self/fd/1", "/dev/stdout");
    (void)::symlink("/proc/self/fd/2", "/dev/stderr");
    ::umask(022);
    return 0;
}

int ChildConfinement::applyLandlock(const char** failedStep) noexcept {
    RulesetAttr attr{handledRights(abi_), 0, 0};
    std::size_t attrSize = sizeof(std::uint64_t);  // ABI 1-3 know only the fs field
    if (abi_ >= 6) {
        attr.scoped = kScopeAbstractUnixSocket | kScopeSignal;
        attrSize = sizeof attr;
    }
    int ruleset = static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, attrSize, 0U));
    if (ruleset < 0) {
        *failedStep = "creating the Landlock ruleset";
        return errno;
    }
    for (const auto& rule : plan_.landlockRules) {
        int fd = ::open(rule.path.c_str(), O_PATH | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT) {
                continue;  // optional paths (/lib64 on some hosts) simply grant nothing
            }
            *failedStep = "opening a path for the Landlock ruleset";
            int err = errno;
            ::close(ruleset);
            return err;
        }
        struct stat st {};
        PathBeneathAttr beneath{ruleRights(rule) & handledRights(abi_), fd};
        if (::fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) {
            beneath.allowedAccess &= kFileOnlyRights;
        }
        long added = beneath.allowedAccess == 0
                         ? 0
                         : ::syscall(SYS_landlock_add_rule, ruleset, kRulePathBeneath, &beneath, 0U);
        int err = errno;
        ::close(fd);
        if (added != 0) {
            *failedStep = "adding a Landlock rule";
            ::close(ruleset);
            return err;
        }
    }
    long restricted = ::syscall(SYS_landlock_restrict_self, ruleset, 0U);
    int err = errno;
    ::close(ruleset);
    if (restricted != 0) {
        *failedStep = "entering the Landlock domain";
        return err;
    }
    return 0;
}

}  // namespace corral::host
