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

/// A copy of the mounts at `source` (a directory or a file), with `attrs`, attached on `target`.
std::string mountCopy(const std::string& source, const std::string& target, const host::MountTreeAttributes& attrs) {
    auto attached = [&]() -> Result<void> {
        CORRAL_ASSIGN_OR_RETURN(UniqueFd tree, host::cloneMountTree(source));
        CORRAL_TRY(host::setMountTreeAttributes(tree.get(), attrs));
        return host::attachMountTree(tree.get(), target);
    }();
    if (!attached) {
        if (attrs.idmapUserNs >= 0) {
            return "cannot give '" + source + "' to the container's user namespace: " + attached.error().message +
                   " (define the container with an <idmap> and give the files to its ids, or make it privileged)";
        }
        return attached.error().message;
    }
    return {};
}

std::string buildProc(const ContainerPlan& plan, const std::string& proc, const ContainerRootIds& ids) {
    if (!makeMountPoint(proc, true, ids) || ::mount("proc", proc.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
        return errnoText("cannot mount the container's /proc");
    }
    if (!plan.procViewsDir.empty()) {
        // The controller's FUSE views of meminfo and uptime (mounted in this namespace, which
        // is the controller's): the container's limits, not the host's totals.
        if (std::string err = bindProcViews(plan.procViewsDir, proc); !err.empty()) {
            return err;
        }
    }
    for (const char* ro : kReadonlyProcPaths) {
        std::string path = proc + "/" + ro;
        if (::access(path.c_str(), F_OK) == 0) {
            if (std::string err = bindReadonly(path); !err.empty()) {
                return err;
            }
        }
    }
    for (const char* masked : kMaskedProcFiles) {
        std::string path = proc + "/" + masked;
        if (::access(path.c_str(), F_OK) == 0 && ::mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
            return errnoText("cannot mask '/proc/" + std::string(masked) + "'");
        }
    }
    return {};
}

/// /sys read-only and without the host's cgroup trees: with its own network namespace the
/// container gets its own sysfs (its interfaces only); sharing the host's, the host's sysfs
/// bound without its submounts.
std::string buildSys(const ContainerPlan& plan, const std::string& sys, const ContainerRootIds& ids) {
    constexpr unsigned long kSysFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    bool mounted = makeMountPoint(sys, true, ids) &&
                   (plan.privateNetwork ? ::mount("sysfs", sys.c_str(), "sysfs", kSysFlags, nullptr) == 0
                                        : ::mount("/sys", sys.c_str(), nullptr, MS_BIND, nullptr) == 0 &&
                                              remountReadonly(sys));
    return mounted ? std::string() : errnoText("cannot mount the container's /sys");
}

/// The /dev of the container: a tmpfs with the nodes above, its own devpts, the console.
std::string buildDev(const std::string& dev, const std::string& consoleSlave, const ContainerRootIds& ids) {
    // Owned by the container's root, which may add to it (an initctl FIFO, links).
    std::string options = "mode=0755,size=64k,uid=" + std::to_string(ids.uid) + ",gid=" + std::to_string(ids.gid);
    if (!makeMountPoint(dev, true, ids) || ::mount("devfs", dev.c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC, options.c_str()) != 0) {
        return errnoText("cannot mount the container's /dev at '" + dev + "'");
    }
    ::umask(0);
    for (const auto& n : kDevNodes) {
        std::string path = dev + "/" + n.name;
        if (::mknod(path.c_str(), S_IFCHR | 0666, makedev(n.major, n.minor)) != 0) {
            ::umask(022);
            return errnoText("cannot create '" + path + "'");
        }
    }
    ::umask(022);
    std::string pts = dev + "/pts";
    if (::mkdir(pts.c_str(), 0755) != 0 ||
        ::mount("devpts", pts.c_str(), "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") != 0) {
        return errnoText("cannot mount the container's devpts");
    }
    std::string shm = dev + "/shm";
    if (::mkdir(shm.c_str(), 01777) != 0 ||
        ::mount("shm", shm.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k") != 0) {
        return errnoText("cannot mount the container's /dev/shm");
    }
    for (const auto& [target, link] : {std::pair{"ptmx", "pts/ptmx"}, {"fd", "/proc/self/fd"},
                                       {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
                                       {"stderr", "/proc/self/fd/2"}}) {
        if (::symlink(link, (dev + "/" + target).c_str()) != 0) {
            return errnoText("cannot create '/dev/" + std::string(target) + "'");
        }
    }
    // The console is the controller's pty: /dev/console and /dev/tty1.
    for (const char* name : {"console", "tty1"}) {
        std::string path = dev + "/" + name;
        if (!makeFile(path, 0600) || ::mount(consoleSlave.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
            return errnoText("cannot bind the console to '" + path + "'");
        }
    }
    return {};
}

std::string bindMounts(const ContainerPlan& plan, const std::string& root, const ContainerRootIds& ids) {
    for (const auto& m : plan.mounts) {
        std::string target = root + m.target;
        struct stat st {};
        if (::stat(m.source.c_str(), &st) != 0) {
            return errnoText("cannot find '" + m.source + "'");
        }
        // A directory is bound on a directory, anything else (a device node) on a file.
        if (!makeMountPoint(target, S_ISDIR(st.st_mode), ids)) {
            return errnoText("cannot create '" + target + "'");
        }
        host::MountTreeAttributes attrs;
        attrs.readonly = m.readonly;
        attrs.idmapUserNs = plan.autoIdRange && S_ISDIR(st.st_mode) ? ids.userNs : -1;
        if (std::string err = mountCopy(m.source, target, attrs); !err.empty()) {
            return "cannot mount '" + m.source + "' on '" + m.target + "': " + err;
        }
    }
    return {};
}

}  // namespace

std::string prepareContainerRoot(const ContainerPlan& plan, const std::string& consoleSlave,
                                 const ContainerRootIds& ids) {
    const std::string& root = plan.rootStaging;
    // The container's own directory is id-mapped for an automatic range (files owned by 0 on
    // the disk are its root's). The host's tree never is: shared with an unprivileged
    // container it stays the host's, owned by ids the container does not have.
    host::MountTreeAttributes rootAttrs;
    rootAttrs.readonly = plan.rootReadonly;
    rootAttrs.idmapUserNs = plan.autoIdRange && !plan.rootSource.empty() ? ids.userNs : -1;
    const std::string source = plan.rootSource.empty() ? "/" : plan.rootSource;
    if (std::string err = mountCopy(source, root, rootAttrs); !err.empty()) {
        return "cannot mount the root '" + source + "': " + err;
    }
    if (std::string err = buildProc(plan, root + "/proc", ids); !err.empty()) {
        return err;
    }
    if (std::string err = buildSys(plan, root + "/sys", ids); !err.empty()) {
        return err;
    }
    if (std::string err = buildDev(root + "/dev", consoleSlave, ids); !err.empty()) {
        return err;
    }
    // After /dev, so that a target inside /dev (a device node) lands on the new tmpfs.
    return bindMounts(plan, root, ids);
}

}  // namespace corral::drivers::lxc
