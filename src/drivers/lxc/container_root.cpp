// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/lxc/container_root.hpp"

#include <fcntl.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <vector>

#include "drivers/lxc/container_proc_views.hpp"
#include "host/mount_tree.hpp"
#include "util/files.hpp"

namespace corral::drivers::lxc {

namespace {

std::string errnoText(const std::string& what) { return what + ": " + std::strerror(errno); }

/// mkdir -p that tolerates what exists; false with errno set otherwise.
bool makePath(const std::string& path) { return makeDirectories(path, 0755).has_value(); }

/// An empty file to bind a file over (a mount target must exist and be of the source's kind).
bool makeFile(const std::string& path, mode_t mode) {
    int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, mode);
    return fd >= 0 && ::close(fd) == 0;
}

/// Creates a missing mount point: a directory, or an empty file with its parents. Inside an
/// id-mapped mount the host's root has no id there (EOVERFLOW); the point is then made as the
/// container's root, whose files these are (stored as 0 on the disk, as if made inside).
bool makeMountPoint(const std::string& path, bool directory, const ContainerRootIds& ids) {
    auto make = [&] {
        return directory ? makePath(path) : makePath(path.substr(0, path.rfind('/'))) && makeFile(path, 0600);
    };
    if (make()) {
        return true;
    }
    if (errno != EOVERFLOW || ids.uid == 0) {
        return false;
    }
    ::setfsgid(ids.gid);
    ::setfsuid(ids.uid);
    bool made = make();
    int err = errno;
    ::setfsuid(0);
    ::setfsgid(0);
    errno = err;
    return made;
}

struct DevNode {
    const char* name;
    unsigned major, minor;
};
// The only devices a container sees (and the devices cgroup lets it use), as libvirt gives them.
constexpr DevNode kDevNodes[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
                                 {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};

// /proc files no container has a use for, covered with /dev/null as Docker does: the kernel's
// memory image, its log, the host's keyrings and timers (with the host's pids in them).
constexpr const char* kMaskedProcFiles[] = {"kcore", "kmsg", "keys", "timer_list"};

// /proc directories that reach host-wide kernel state, bound read-only over themselves.
constexpr const char* kReadonlyProcPaths[] = {"sys", "sysrq-trigger", "irq", "bus", "fs"};

/// Remounts the bind mount at `path` read-only, keeping the flags it has (nosuid, noexec, its
/// atime mode): a bind remount replaces them all.
bool remountReadonly(const std::string& path) {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0) {
        return false;
    }
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
    for (const auto& [st_flag, ms_flag] : {std::pair{ST_NOSUID, MS_NOSUID}, {ST_NODEV, MS_NODEV}, {ST_NOEXEC, MS_NOEXEC},
                                           {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME},
                                           {ST_RELATIME, MS_RELATIME}}) {
        if ((st.f_flag & st_flag) != 0) {
            flags |= ms_flag;
        }
    }
    return ::mount(nullptr, path.c_str(), nullptr, flags, nullptr) == 0;
}

std::string bindReadonly(const std::string& path) {
    if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0 || !remountReadonly(path)) {
        return errnoText("cannot make '" + path + "' read-only");
    }
    return {};
}

/// The parts of the tree that come from the host, copied (detached mount trees) before the
/// helper confines itself to the container's root: from then on every path it resolves, and
/// every symbolic link a previous run of the container left in its root, stays inside it.
struct HostParts {
    UniqueFd root;
    UniqueFd sys;                   ///< the host's /sys without submounts (the host's network only)
    std::vector<UniqueFd> views;    ///< per kProcViews
    std::vector<UniqueFd> masks;    ///< /dev/null, per kMaskedProcFiles
    std::vector<UniqueFd> console;  ///< for /dev/console and /dev/tty1
    std::vector<UniqueFd> mounts;   ///< per plan.mounts
    std::vector<bool> mountIsDirectory;
};

/// A detached copy of the mounts at `source` with `attrs`, or why not.
Result<UniqueFd> copyOf(const std::string& source, const host::MountTreeAttributes& attrs, bool recursive = true) {
    CORRAL_ASSIGN_OR_RETURN(UniqueFd tree, host::cloneMountTree(source, recursive));
    if (auto set = host::setMountTreeAttributes(tree.get(), attrs); !set) {
        if (attrs.idmapUserNs < 0) {
            return unexpected(std::move(set).error());
        }
        return fail(ErrorCode::OperationFailed,
                    "cannot give '" + source + "' to the container's user namespace: " + set.error().message +
                        " (define the container with an <idmap> and give the files to its ids, or make it privileged)");
    }
    return tree;
}

Result<HostParts> takeHostParts(const ContainerPlan& plan, const std::string& consoleSlave, const ContainerRootIds& ids) {
    HostParts parts;
    // The container's own directory is id-mapped for an automatic range (files owned by 0 on
    // the disk are its root's). The host's tree never is: shared with an unprivileged
    // container it stays the host's, owned by ids the container does not have.
    host::MountTreeAttributes rootAttrs;
    rootAttrs.readonly = plan.rootReadonly;
    rootAttrs.idmapUserNs = plan.autoIdRange && !plan.rootSource.empty() ? ids.userNs : -1;
    const std::string source = plan.rootSource.empty() ? "/" : plan.rootSource;
    auto root = copyOf(source, rootAttrs);
    if (!root) {
        return fail(ErrorCode::OperationFailed, "cannot mount the root '" + source + "': " + root.error().message);
    }
    parts.root = std::move(*root);
    if (!plan.privateNetwork) {
        host::MountTreeAttributes readonly;
        readonly.readonly = true;
        CORRAL_ASSIGN_OR_RETURN(parts.sys, copyOf("/sys", readonly, false));
    }
    for (const char* name : plan.procViewsDir.empty() ? std::vector<const char*>{}
                                                      : std::vector<const char*>(std::begin(kProcViews),
                                                                                 std::end(kProcViews))) {
        // The controller's FUSE views of meminfo and uptime (mounted in this namespace, which
        // is the controller's): the container's limits, not the host's totals.
        CORRAL_ASSIGN_OR_RETURN(UniqueFd view, copyOf(plan.procViewsDir + "/" + name, {}, false));
        parts.views.push_back(std::move(view));
    }
    for (std::size_t i = 0; i < std::size(kMaskedProcFiles); ++i) {
        CORRAL_ASSIGN_OR_RETURN(UniqueFd null, copyOf("/dev/null", {}, false));
        parts.masks.push_back(std::move(null));
    }
    for (int i = 0; i < 2; ++i) {
        CORRAL_ASSIGN_OR_RETURN(UniqueFd console, copyOf(consoleSlave, {}, false));
        parts.console.push_back(std::move(console));
    }
    for (const auto& m : plan.mounts) {
        struct stat st {};
        if (::stat(m.source.c_str(), &st) != 0) {
            return failErrno(errno, "cannot find '" + m.source + "'");
        }
        // Directories are id-mapped as the root is; a file (a device node) is what it is.
        host::MountTreeAttributes attrs;
        attrs.readonly = m.readonly;
        attrs.idmapUserNs = plan.autoIdRange && S_ISDIR(st.st_mode) ? ids.userNs : -1;
        auto tree = copyOf(m.source, attrs);
        if (!tree) {
            return fail(ErrorCode::OperationFailed,
                        "cannot mount '" + m.source + "' on '" + m.target + "': " + tree.error().message);
        }
        parts.mounts.push_back(std::move(*tree));
        parts.mountIsDirectory.push_back(S_ISDIR(st.st_mode));
    }
    return parts;
}

/// Attaches `tree` on `target` (made when missing), inside the container's root.
std::string attachOn(const UniqueFd& tree, const std::string& target, bool directory, const ContainerRootIds& ids) {
    if (!makeMountPoint(target, directory, ids)) {
        return errnoText("cannot create '" + target + "'");
    }
    auto attached = host::attachMountTree(tree.get(), target);
    return attached ? std::string() : attached.error().message;
}

std::string buildProc(const HostParts& parts, const ContainerRootIds& ids) {
    if (!makeMountPoint("/proc", true, ids) ||
        ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
        return errnoText("cannot mount the container's /proc");
    }
    for (std::size_t i = 0; i < parts.views.size(); ++i) {
        if (std::string err = attachOn(parts.views[i], std::string("/proc/") + kProcViews[i], false, ids); !err.empty()) {
            return "cannot bind the container's view of /proc/" + std::string(kProcViews[i]) + ": " + err;
        }
    }
    for (const char* ro : kReadonlyProcPaths) {
        std::string path = std::string("/proc/") + ro;
        if (::access(path.c_str(), F_OK) == 0) {
            if (std::string err = bindReadonly(path); !err.empty()) {
                return err;
            }
        }
    }
    for (std::size_t i = 0; i < std::size(kMaskedProcFiles); ++i) {
        std::string path = std::string("/proc/") + kMaskedProcFiles[i];
        if (::access(path.c_str(), F_OK) != 0) {
            continue;
        }
        if (auto masked = host::attachMountTree(parts.masks[i].get(), path); !masked) {
            return "cannot mask '" + path + "': " + masked.error().message;
        }
    }
    return {};
}

/// /sys read-only and without the host's cgroup trees: with its own network namespace the
/// container gets its own sysfs (its interfaces only); sharing the host's, the host's sysfs
/// without its submounts.
std::string buildSys(const ContainerPlan& plan, const HostParts& parts, const ContainerRootIds& ids) {
    constexpr unsigned long kSysFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (!plan.privateNetwork) {
        std::string err = attachOn(parts.sys, "/sys", true, ids);
        return err.empty() ? err : "cannot mount the container's /sys: " + err;
    }
    bool mounted = makeMountPoint("/sys", true, ids) && ::mount("sysfs", "/sys", "sysfs", kSysFlags, nullptr) == 0;
    return mounted ? std::string() : errnoText("cannot mount the container's /sys");
}

/// The /dev of the container: a tmpfs with the nodes above, its own devpts, the console.
std::string buildDev(const HostParts& parts, const ContainerRootIds& ids) {
    // Owned by the container's root, which may add to it (an initctl FIFO, links).
    std::string options = "mode=0755,size=64k,uid=" + std::to_string(ids.uid) + ",gid=" + std::to_string(ids.gid);
    if (!makeMountPoint("/dev", true, ids) || ::mount("devfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, options.c_str()) != 0) {
        return errnoText("cannot mount the container's /dev");
    }
    ::umask(0);
    for (const auto& n : kDevNodes) {
        std::string path = std::string("/dev/") + n.name;
        if (::mknod(path.c_str(), S_IFCHR | 0666, makedev(n.major, n.minor)) != 0) {
            ::umask(022);
            return errnoText("cannot create '" + path + "'");
        }
    }
    ::umask(022);
    if (::mkdir("/dev/pts", 0755) != 0 ||
        ::mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") != 0) {
        return errnoText("cannot mount the container's devpts");
    }
    if (::mkdir("/dev/shm", 01777) != 0 ||
        ::mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k") != 0) {
        return errnoText("cannot mount the container's /dev/shm");
    }
    for (const auto& [target, link] : {std::pair{"ptmx", "pts/ptmx"}, {"fd", "/proc/self/fd"},
                                       {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
                                       {"stderr", "/proc/self/fd/2"}}) {
        if (::symlink(link, (std::string("/dev/") + target).c_str()) != 0) {
            return errnoText("cannot create '/dev/" + std::string(target) + "'");
        }
    }
    // The console is the controller's pty: /dev/console and /dev/tty1.
    for (std::size_t i = 0; i < parts.console.size(); ++i) {
        const std::string path = i == 0 ? "/dev/console" : "/dev/tty1";
        if (std::string err = attachOn(parts.console[i], path, false, ids); !err.empty()) {
            return "cannot bind the console to '" + path + "': " + err;
        }
    }
    return {};
}

}  // namespace

std::string prepareContainerRoot(const ContainerPlan& plan, const std::string& consoleSlave,
                                 const ContainerRootIds& ids) {
    auto parts = takeHostParts(plan, consoleSlave, ids);
    if (!parts) {
        return parts.error().message;
    }
    // Into the container's root for good (this process only assembles it, then exits).
    if (auto attached = host::attachMountTree(parts->root.get(), plan.rootStaging); !attached) {
        return "cannot mount the root: " + attached.error().message;
    }
    if (::chdir(plan.rootStaging.c_str()) != 0 || ::chroot(".") != 0 || ::chdir("/") != 0) {
        return errnoText("cannot enter the container's root '" + plan.rootStaging + "'");
    }
    if (std::string err = buildProc(*parts, ids); !err.empty()) {
        return err;
    }
    if (std::string err = buildSys(plan, *parts, ids); !err.empty()) {
        return err;
    }
    if (std::string err = buildDev(*parts, ids); !err.empty()) {
        return err;
    }
    // After /dev, so that a target inside /dev (a device node) lands on the new tmpfs.
    for (std::size_t i = 0; i < plan.mounts.size(); ++i) {
        if (std::string err = attachOn(parts->mounts[i], plan.mounts[i].target, parts->mountIsDirectory[i], ids);
            !err.empty()) {
            return "cannot mount '" + plan.mounts[i].source + "' on '" + plan.mounts[i].target + "': " + err;
        }
    }
    return {};
}

}  // namespace corral::drivers::lxc
