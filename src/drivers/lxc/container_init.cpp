// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/lxc/container_init.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/close_range.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <span>
#include <vector>

#include "drivers/lxc/container_proc_views.hpp"
#include "host/netdev.hpp"
#include "util/files.hpp"
#include "util/process.hpp"
#include "util/unix_socket.hpp"

namespace corral::drivers::lxc {

namespace {

std::string errnoText(const std::string& what) { return what + ": " + std::strerror(errno); }

/// mkdir -p that tolerates what exists; false with errno set otherwise.
bool makePath(const std::string& path) { return makeDirectories(path, 0755).has_value(); }

struct DevNode {
    const char* name;
    unsigned major, minor;
};
// The only devices a container sees (and the devices cgroup lets it use), as libvirt gives them.
constexpr DevNode kDevNodes[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
                                 {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};

// Capabilities no container keeps: making device nodes (the first rule), loading
// modules, setting the host clock, raw I/O, and changing the host's MAC and audit policy.
constexpr int kDroppedCaps[] = {CAP_MKNOD, CAP_SYS_MODULE, CAP_SYS_TIME, CAP_SYS_RAWIO,
                                CAP_MAC_ADMIN, CAP_MAC_OVERRIDE, CAP_AUDIT_CONTROL};

/// The /dev of the container: a tmpfs with the nodes above, its own devpts, the console.
/// In a user namespace device nodes cannot be made: `hostNodes` then holds O_PATH descriptors
/// of the host's nodes (opened while the host's /dev was in view), bound in instead.
std::string buildDev(const std::string& dev, int consoleFd, const std::vector<int>& hostNodes) {
    if (!makePath(dev) || ::mount("devfs", dev.c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") != 0) {
        return errnoText("cannot mount the container's /dev at '" + dev + "'");
    }
    ::umask(0);
    for (std::size_t i = 0; i < std::size(kDevNodes); ++i) {
        std::string path = dev + "/" + kDevNodes[i].name;
        if (hostNodes.empty()) {
            if (::mknod(path.c_str(), S_IFCHR | 0666, makedev(kDevNodes[i].major, kDevNodes[i].minor)) != 0) {
                return errnoText("cannot create '" + path + "'");
            }
            continue;
        }
        int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
        std::string source = "/proc/self/fd/" + std::to_string(hostNodes[i]);
        if (fd < 0 || ::close(fd) != 0 || ::mount(source.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
            return errnoText("cannot bind the host's node to '" + path + "'");
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
    // The console is the controller's pty, bound in through the descriptor (the host's /dev is
    // out of sight by now): /dev/console and /dev/tty1.
    std::string consoleSource = "/proc/self/fd/" + std::to_string(consoleFd);
    for (const char* name : {"console", "tty1"}) {
        std::string path = dev + "/" + name;
        int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0) {
            return errnoText("cannot create '" + path + "'");
        }
        ::close(fd);
        if (::mount(consoleSource.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
            return errnoText("cannot bind the console to '" + path + "'");
        }
    }
    return {};
}

/// Remounts the bind mount at `path` read-only. The flags it has are kept: in a user namespace
/// a mount inherited from the host is locked, and a remount that would drop nosuid, noexec or
/// its atime mode is refused.
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

Result<void> bindReadonly(const std::string& path) {
    if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0 || !remountReadonly(path)) {
        return failErrno(errno, "cannot make '" + path + "' read-only");
    }
    return {};
}

/// Makes the descriptors handed over for init its 3, 4, ... (the socket-activation convention,
/// announced by LISTEN_FDS in its environment) and lets nothing else of the controller's reach
/// it. Moved out of the way first: a passed descriptor may already sit on a target number.
std::string installPassedFds(const std::vector<int>& fds) {
    constexpr int kAside = 1000;
    std::vector<int> aside;
    for (int fd : fds) {
        int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, kAside);
        if (moved < 0) {
            return errnoText("cannot take over passed descriptor " + std::to_string(fd));
        }
        aside.push_back(moved);
    }
    for (std::size_t i = 0; i < aside.size(); ++i) {
        if (::dup2(aside[i], static_cast<int>(3 + i)) < 0) {  // dup2 clears close-on-exec
            return errnoText("cannot place passed descriptor " + std::to_string(fds[i]));
        }
    }
    ::syscall(SYS_close_range, static_cast<unsigned>(3 + aside.size()), ~0U, CLOSE_RANGE_CLOEXEC);
    return {};
}

/// Everything from the new namespaces to exec; returns why it failed (it does not return on
/// success). Runs as pid 1 of the new pid namespace.
std::string becomeInit(const ContainerPlan& plan, const std::string& consoleSlave, int syncFd) {
    const bool ownNetwork = !plan.interfaces.empty();
    const bool ownUsers = !plan.uidMap.empty();
    std::vector<int> hostNodes;
    if (ownUsers) {
        // Born in a new user namespace without ids: the controller writes the maps, then this
        // process becomes the container's root (host uid = the map's target for 0).
        char mapped = 0;
        if (::write(syncFd, "u", 1) != 1 || ::read(syncFd, &mapped, 1) != 1 || mapped != 'm') {
            return "the controller could not write the container's id maps";
        }
        if (::setresgid(0, 0, 0) != 0 || ::setgroups(0, nullptr) != 0 || ::setresuid(0, 0, 0) != 0) {
            return errnoText("cannot become root of the container's user namespace");
        }
    }
    if (::unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP | (ownNetwork ? CLONE_NEWNET : 0)) != 0) {
        return errnoText("cannot create the container's namespaces");
    }
    if (ownNetwork) {
        // The controller moves the container's ends of the veth pairs in, then says go.
        char go = 0;
        if (::write(syncFd, "n", 1) != 1 || ::read(syncFd, &go, 1) != 1 || go != 'g') {
            return "the controller could not move the container's interfaces in";
        }
        for (const auto& i : plan.interfaces) {
            auto configured = [&]() -> Result<void> {
                CORRAL_TRY(host::renameInterface(i.peerName, i.name));
                if (!i.mac.empty()) {
                    CORRAL_TRY(host::setInterfaceMac(i.name, i.mac));
                }
                return host::setInterfaceUp(i.name);
            }();
            if (!configured) {
                return configured.error().message;
            }
        }
        if (auto lo = host::setInterfaceUp("lo"); !lo) {
            return lo.error().message;
        }
    }
    ::close(syncFd);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
        return errnoText("cannot make the container's mounts private");
    }
    // Opened in the new mount namespace (a bind source must be in it), before /dev is covered:
    // the console (given to the container's root by the controller) and, in a user namespace,
    // the host's device nodes (which cannot be made there).
    int consoleFd = ::open(consoleSlave.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (consoleFd < 0) {
        return errnoText("cannot open the console '" + consoleSlave + "'");
    }
    for (const auto& n : ownUsers ? std::span(kDevNodes) : std::span<const DevNode>()) {
        int fd = ::open((std::string("/dev/") + n.name).c_str(), O_PATH | O_CLOEXEC);
        if (fd < 0) {
            return errnoText(std::string("cannot find the host's /dev/") + n.name);
        }
        hostNodes.push_back(fd);
    }
    if (::sethostname(plan.name.data(), plan.name.size()) != 0) {
        return errnoText("cannot set the hostname");
    }
    const std::string& root = plan.rootSource;  // "" = the host's root, seen through new mounts
    if (!root.empty() && ::mount(root.c_str(), root.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
        return errnoText("cannot bind the root '" + root + "'");
    }
    // The sources of the extra mounts are opened now, while the host's tree is in view; they
    // are bound after /dev is built so that a target inside /dev (a device node) survives.
    std::vector<int> sources;
    for (const auto& m : plan.mounts) {
        int fd = ::open(m.source.c_str(), O_PATH | O_CLOEXEC);
        if (fd < 0) {
            return errnoText("cannot find '" + m.source + "'");
        }
        sources.push_back(fd);
    }
    // A new /proc for the new pid namespace, with the kernel's knobs read-only.
    std::string proc = root + "/proc";
    if (!makePath(proc) || ::mount("proc", proc.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
        return errnoText("cannot mount the container's /proc");
    }
    if (!plan.procViewsDir.empty()) {
        // The controller's FUSE views of meminfo and uptime (its mount came along with the copy
        // of its mount namespace): the container's limits, not the host's totals.
        if (std::string err = bindProcViews(plan.procViewsDir, proc); !err.empty()) {
            return err;
        }
    }
    for (const char* ro : {"/sys", "/sysrq-trigger", "/irq", "/bus", "/fs"}) {
        std::string path = proc + ro;
        if (::access(path.c_str(), F_OK) == 0) {
            if (auto r = bindReadonly(path); !r) {
                return r.error().message;
            }
        }
    }
    // /sys read-only, bound without its submounts: the host's cgroup trees under
    // /sys/fs/cgroup stay out of sight. (A new sysfs mount would be refused: it is the host
    // network namespace's, already mounted.)
    // With its own network namespace the container gets its own sysfs (its interfaces only).
    std::string sys = root + "/sys";
    constexpr unsigned long kSysFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    // In a user namespace sharing the host's network neither works (a new sysfs belongs to the
    // network namespace's owner; a bind without the locked submounts is refused): as in
    // libvirt, /sys is then left as the root has it (host-owned, so nothing there is writable).
    bool sysMounted = ownNetwork ? makePath(sys) && ::mount("sysfs", sys.c_str(), "sysfs", kSysFlags, nullptr) == 0
                      : ownUsers ? true
                                 : makePath(sys) && ::mount("/sys", sys.c_str(), nullptr, MS_BIND, nullptr) == 0 &&
                                       remountReadonly(sys);
    if (!sysMounted) {
        return errnoText("cannot mount the container's /sys");
    }
    if (std::string err = buildDev(root + "/dev", consoleFd, hostNodes); !err.empty()) {
        return err;
    }
    for (std::size_t i = 0; i < plan.mounts.size(); ++i) {
        const auto& m = plan.mounts[i];
        std::string target = root + m.target;
        struct stat st {};
        ::fstat(sources[i], &st);
        // A directory is bound on a directory, anything else (a device node) on a file.
        if (S_ISDIR(st.st_mode)) {
            if (!makePath(target)) {
                return errnoText("cannot create '" + target + "'");
            }
        } else {
            makePath(target.substr(0, target.rfind('/')));
            int fd = ::open(target.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
            if (fd < 0) {
                return errnoText("cannot create '" + target + "'");
            }
            ::close(fd);
        }
        std::string source = "/proc/self/fd/" + std::to_string(sources[i]);
        if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
            return errnoText("cannot mount '" + m.source + "' on '" + m.target + "'");
        }
        if (m.readonly && !remountReadonly(target)) {
            return errnoText("cannot make '" + m.target + "' read-only");
        }
        ::close(sources[i]);
    }
    if (!root.empty()) {
        // pivot_root(".", ".") stacks the old root under the new one; detaching it leaves
        // nothing of the host's tree reachable.
        if (::chdir(root.c_str()) != 0 || ::syscall(SYS_pivot_root, ".", ".") != 0 ||
            ::umount2(".", MNT_DETACH) != 0) {
            return errnoText("cannot switch to the root '" + root + "'");
        }
    }
    if (::chdir("/") != 0) {
        return errnoText("cannot enter /");
    }
    ::setsid();
    ::ioctl(consoleFd, TIOCSCTTY, 0);
    for (int fd : {0, 1, 2}) {
        ::dup2(consoleFd, fd);
    }
    ::close(consoleFd);
    for (int cap : kDroppedCaps) {
        if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
            return errnoText("cannot drop capability " + std::to_string(cap));
        }
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        return errnoText("cannot set no_new_privs");
    }
    if (std::string err = installPassedFds(plan.passFds); !err.empty()) {
        return err;
    }
    std::vector<char*> argv, env;
    for (const auto& a : plan.argv) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    for (const auto& e : plan.env) {
        env.push_back(const_cast<char*>(e.c_str()));
    }
    env.push_back(nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(argv[0], argv.data(), env.data());
    return errnoText("cannot run init '" + plan.argv[0] + "'");
}

/// Answers one request on the /proc views' FUSE mount; a mount that went away stops being polled.
void serveViews(std::unique_ptr<host::FuseFiles>& views) {
    auto event = views->handleRequest();
    if (!event || *event == host::FuseEvent::Unmounted) {
        views.reset();
    }
}

bool writeAll(int fd, const std::string& text) {
    return ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

}  // namespace

InitExit classifyInitExit(int status) {
    if (WIFEXITED(status)) {
        return InitExit::Shutdown;
    }
    switch (WIFSIGNALED(status) ? WTERMSIG(status) : 0) {
        case SIGHUP: return InitExit::Reboot;      // reboot(RB_AUTOBOOT) in a pid namespace
        case SIGINT: return InitExit::Shutdown;    // reboot(RB_POWER_OFF) / halt
        case SIGKILL: return InitExit::Killed;
        default: return InitExit::Crashed;
    }
}

std::string initExitName(InitExit exit) {
    switch (exit) {
        case InitExit::Shutdown: return "shutdown";
        case InitExit::Reboot: return "reboot";
        case InitExit::Crashed: return "crashed";
        case InitExit::Killed: return "killed";
    }
    return "crashed";
}

int runController(const ContainerPlan& plan, int readyFd) {
    // Init must not inherit the daemon's end of the readiness pipe, or the daemon never sees EOF.
    ::fcntl(readyFd, F_SETFD, FD_CLOEXEC);
    for (int fd : plan.passFds) {
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);  // for init only, which places them itself
    }
    auto report = [&](const std::string& text) {
        (void)writeAll(readyFd, text);
        ::close(readyFd);
    };
    // The /proc views first: once in the container's cgroup, its devices list refuses /dev/fuse.
    std::atomic<pid_t> initPid{-1};
    std::unique_ptr<host::FuseFiles> views;
    if (!plan.procViewsDir.empty()) {
        // In a mount namespace of the controller's own: the host never sees the views (a host
        // tool stat-ing them would wait on a server a suspend has frozen), and they vanish with
        // the controller however it ends. Init's namespace is copied from this one.
        if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
            report("error: " + errnoText("cannot give the controller a mount namespace"));
            return 1;
        }
        auto mounted = mountProcViews(plan, initPid);
        if (!mounted) {
            report("error: cannot serve the container's /proc views: " + mounted.error().message);
            return 1;
        }
        views = std::move(*mounted);
    }
    for (const auto& file : plan.cgroupJoinFiles) {
        if (auto joined = writeKernelFile(file, "0"); !joined) {
            report("error: " + joined.error().message);
            return 1;
        }
    }
    int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0) {
        report("error: " + errnoText("cannot allocate the console"));
        return 1;
    }
    std::string slave = ::ptsname(master);
    // Kept open here so the console never hangs up between programs in the container, and
    // given to the container's root when it is not the host's.
    int consoleFd = ::open(slave.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (consoleFd < 0) {
        report("error: " + errnoText("cannot open the console '" + slave + "'"));
        return 1;
    }
    auto rootOf = [](const std::vector<IdRange>& map) {
        for (const auto& r : map) {
            if (r.start == 0) {
                return r.target;
            }
        }
        return 0UL;
    };
    if (!plan.uidMap.empty() &&
        ::fchown(consoleFd, static_cast<uid_t>(rootOf(plan.uidMap)), static_cast<gid_t>(rootOf(plan.gidMap))) != 0) {
        report("error: " + errnoText("cannot give the console to the container's root"));
        return 1;
    }
    int log = ::open(plan.consoleLog.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int errPipe[2];
    if (log < 0 || ::pipe2(errPipe, O_CLOEXEC) != 0) {
        report("error: " + errnoText("cannot open the console log '" + plan.consoleLog + "'"));
        return 1;
    }
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, nullptr);
    int sigFd = ::signalfd(-1, &chld, SFD_CLOEXEC);
    int sync[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync) != 0) {
        report("error: " + errnoText("cannot create a socket pair"));
        return 1;
    }
    // Only init goes into the new pid namespace (clone, not unshare): helpers the controller
    // runs later (ip) stay in the host's.
    struct Child {
        const ContainerPlan* plan;
        const std::string* slave;
        int errWrite, errRead, syncChild, syncParent;
    } child{&plan, &slave, errPipe[1], errPipe[0], sync[1], sync[0]};
    // The child's stack is mapped, not allocated: the controller never touches it, so it costs
    // the controller no memory (a zero-filled buffer would stay private to it for its lifetime).
    constexpr std::size_t kStackSize = 512 * 1024;
    void* stack = ::mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        report("error: " + errnoText("cannot map a stack for the container's init"));
        return 1;
    }
    pid_t init = ::clone(
        [](void* arg) -> int {
            auto* c = static_cast<Child*>(arg);
            ::close(c->errRead);
            ::close(c->syncParent);
            // Out of the way of the descriptors passed to init (they become 3, 4, ...), or a
            // failing exec would write its reason into the user's socket.
            int errWrite = ::fcntl(c->errWrite, F_DUPFD_CLOEXEC, 1000);
            if (errWrite >= 0) {
                ::close(c->errWrite);
                c->errWrite = errWrite;
            }
            std::string why = becomeInit(*c->plan, *c->slave, c->syncChild);
            (void)writeAll(c->errWrite, why);
            return 127;
        },
        static_cast<char*>(stack) + kStackSize, CLONE_NEWPID | (plan.uidMap.empty() ? 0 : CLONE_NEWUSER) | SIGCHLD, &child);
    ::munmap(stack, kStackSize);
    if (init < 0) {
        report("error: " + errnoText("cannot start the container's init"));
        return 1;
    }
    ::close(errPipe[1]);
    ::close(sync[1]);
    std::string moveError;
    if (!plan.uidMap.empty()) {
        char ready = 0;
        if (::read(sync[0], &ready, 1) == 1) {
            auto mapText = [](const std::vector<IdRange>& ranges) {
                std::string text;
                for (const auto& r : ranges) {
                    text += std::to_string(r.start) + " " + std::to_string(r.target) + " " + std::to_string(r.count) + "\n";
                }
                return text;
            };
            std::string proc = "/proc/" + std::to_string(init);
            auto uid = writeKernelFile(proc + "/uid_map", mapText(plan.uidMap));
            auto gid = uid ? writeKernelFile(proc + "/gid_map", mapText(plan.gidMap)) : Result<void>{};
            if (!uid || !gid) {
                moveError = (!uid ? uid : gid).error().message;
            }
            (void)writeAll(sync[0], moveError.empty() ? "m" : "x");
        }
    }
    if (!plan.interfaces.empty() && moveError.empty()) {
        // Init has its network namespace once it says so (EOF: it failed before; its reason
        // comes through the error pipe below).
        char ready = 0;
        if (::read(sync[0], &ready, 1) == 1) {
            for (const auto& i : plan.interfaces) {
                if (auto r = host::moveToNetworkNamespace(i.peerName, init); !r && moveError.empty()) {
                    moveError = r.error().message;
                }
            }
            (void)writeAll(sync[0], moveError.empty() ? "g" : "x");
        }
    }
    ::close(sync[0]);
    initPid = init;
    std::string why;
    char buf[4096];
    // Until init execs (EOF) or says why it cannot: init binds the /proc views meanwhile, and
    // only this process can answer those lookups, so the FUSE mount is served while waiting.
    while (true) {
        pollfd wait[2] = {{errPipe[0], POLLIN, 0}, {views ? views->fd() : -1, POLLIN, 0}};
        if (::poll(wait, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (wait[1].revents != 0) {
            serveViews(views);
        }
        if (wait[0].revents == 0) {
            continue;
        }
        ssize_t n = ::read(errPipe[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        why.append(buf, static_cast<std::size_t>(n));
    }
    ::close(errPipe[0]);
    if (!why.empty()) {
        ::waitpid(init, nullptr, 0);
        report("error: " + (moveError.empty() ? why : moveError));
        return 1;
    }
    std::string state = std::to_string(::getpid()) + " " + std::to_string(init) + "\n";
    if (auto saved = writeFileAtomically(plan.stateFile, state); !saved) {
        ::kill(init, SIGKILL);
        report("error: " + saved.error().message);
        return 1;
    }
    report("ok\n");

    // Until init ends: copy the console to its log and to the one client connected to the
    // console socket (virsh console through corrald), feed that client's keys to the console.
    UniqueFd listener;
    if (!plan.consoleSocket.empty()) {
        if (auto l = listenUnixSocket(plan.consoleSocket, 0600)) {
            listener = std::move(*l);
        } else {
            (void)writeAll(log, "corral-lxc: " + l.error().message + "\n");
        }
    }
    UniqueFd client;
    int status = 0;
    bool consoleOpen = true;
    while (true) {
        pollfd fds[5] = {{sigFd, POLLIN, 0},
                         {consoleOpen ? master : -1, POLLIN, 0},
                         {listener ? listener.get() : -1, POLLIN, 0},
                         {client ? client.get() : -1, POLLIN, 0},
                         {views ? views->fd() : -1, POLLIN, 0}};
        if (::poll(fds, 5, -1) < 0 && errno != EINTR) {
            break;
        }
        if (fds[4].revents != 0) {
            serveViews(views);
        }
        if ((fds[1].revents & POLLIN) != 0) {
            ssize_t n = ::read(master, buf, sizeof buf);
            if (n > 0) {
                (void)!::write(log, buf, static_cast<std::size_t>(n));
                if (client && ::send(client.get(), buf, static_cast<std::size_t>(n), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
                    errno != EAGAIN) {
                    client.reset();
                }
            }
        } else if ((fds[1].revents & (POLLHUP | POLLERR)) != 0) {
            consoleOpen = false;  // nobody has the console open right now; SIGCHLD still ends us
        }
        if ((fds[2].revents & POLLIN) != 0) {
            // The newest client takes the console over, as libvirt's --force does.
            client.reset(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
        }
        if ((fds[3].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            ssize_t n = ::recv(client.get(), buf, sizeof buf, 0);
            if (n <= 0) {
                client.reset();
            } else {
                (void)writeAll(master, std::string(buf, static_cast<std::size_t>(n)));
            }
        }
        if ((fds[0].revents & POLLIN) != 0) {
            signalfd_siginfo info;
            (void)!::read(sigFd, &info, sizeof info);
            if (::waitpid(init, &status, WNOHANG) == init) {
                break;
            }
        }
    }
    client.reset();
    if (!plan.consoleSocket.empty()) {
        ::unlink(plan.consoleSocket.c_str());
    }
    std::string exit = initExitName(classifyInitExit(status)) + " " + std::to_string(status) + "\n";
    (void)writeFileAtomically(plan.exitFile, exit);
    if (views) {
        views.reset();  // unmounts
        ::rmdir(plan.procViewsDir.c_str());
    }
    return 0;
}

}  // namespace corral::drivers::lxc
