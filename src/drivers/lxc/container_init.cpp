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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/close_range.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "drivers/lxc/container_console_log.hpp"
#include "drivers/lxc/container_privileges.hpp"
#include "drivers/lxc/container_proc_views.hpp"
#include "drivers/lxc/container_root.hpp"
#include "host/capabilities.hpp"
#include "host/confinement.hpp"
#include "host/netdev.hpp"
#include "host/seccomp_filter.hpp"
#include "util/files.hpp"
#include "util/process.hpp"
#include "util/unix_socket.hpp"

namespace corral::drivers::lxc {

namespace {

std::string errnoText(const std::string& what) { return what + ": " + std::strerror(errno); }

bool writeAll(int fd, const std::string& text) {
    return ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
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

/// Moves init onto the tree the controller assembled at `staging`, in a mount namespace of its
/// own. In a user namespace that copy of the controller's namespace has every mount locked;
/// the self-bind gives pivot_root an unlocked mount to turn into '/', with the locked ones
/// below it, and detaching the old root leaves nothing of the host's tree reachable.
std::string enterRoot(const std::string& staging) {
    if (::unshare(CLONE_NEWNS) != 0) {
        return errnoText("cannot create the container's mount namespace");
    }
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
        return errnoText("cannot make the container's mounts private");
    }
    if (::mount(staging.c_str(), staging.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0 ||
        ::chdir(staging.c_str()) != 0 || ::syscall(SYS_pivot_root, ".", ".") != 0 || ::umount2(".", MNT_DETACH) != 0 ||
        ::chdir("/") != 0) {
        return errnoText("cannot switch to the container's root");
    }
    return {};
}

/// What init may do from now on, for itself and everything it runs: the plan's capabilities,
/// no_new_privs (no set-uid or file-capability program adds any back), a Landlock scope and the
/// seccomp filter.
std::string restrictPrivileges(const ContainerPlan& plan) {
    if (auto limited = host::limitCapabilities(plan.capabilities); !limited) {
        return limited.error().message;
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        return errnoText("cannot set no_new_privs");
    }
    // A process the host enters into the container (lxc-enter-namespace) joins its namespaces
    // but keeps the host's identity: in a user namespace the container's root could ptrace it
    // and act as that identity. Outside the scope, it cannot be traced or signalled from here.
    // (Kernels before Landlock ABI 6 go without; docs/security.md says what that leaves.)
    if (auto scoped = host::enterLandlockScope(); !scoped) {
        return scoped.error().message;
    }
    const auto denials = deniedSyscalls(plan.capabilities);
    if (auto filtered = host::installSyscallDenials(denials); !filtered) {
        return filtered.error().message;
    }
    return {};
}

/// Everything from the new namespaces to exec; returns why it failed (it does not return on
/// success). Runs as pid 1 of the new pid namespace.
std::string becomeInit(const ContainerPlan& plan, int syncFd) {
    if (!plan.uidMap.empty()) {
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
    // Created here, after the user namespace, so that they belong to it (the container's root
    // may set its hostname and configure its own network).
    if (::unshare(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP | (plan.privateNetwork ? CLONE_NEWNET : 0)) != 0) {
        return errnoText("cannot create the container's namespaces");
    }
    // The controller moves the container's ends of the veth pairs in and assembles its file
    // system tree, then says go (its reason for anything else reaches the daemon itself).
    char go = 0;
    if (::write(syncFd, "n", 1) != 1 || ::read(syncFd, &go, 1) != 1 || go != 'g') {
        return "the controller could not prepare the container";
    }
    ::close(syncFd);
    if (plan.privateNetwork) {
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
    if (::sethostname(plan.name.data(), plan.name.size()) != 0) {
        return errnoText("cannot set the hostname");
    }
    if (std::string err = enterRoot(plan.rootStaging); !err.empty()) {
        return err;
    }
    int consoleFd = ::open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (consoleFd < 0) {
        return errnoText("cannot open the container's console");
    }
    ::setsid();
    ::ioctl(consoleFd, TIOCSCTTY, 0);
    for (int fd : {0, 1, 2}) {
        ::dup2(consoleFd, fd);
    }
    ::close(consoleFd);
    if (std::string err = restrictPrivileges(plan); !err.empty()) {
        return err;
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

/// Reads `fd` to its end while answering the /proc views' requests: whoever writes to it may
/// be looking up a view meanwhile, and only this process can answer.
std::string readServingViews(int fd, std::unique_ptr<host::FuseFiles>& views) {
    std::string text;
    char buf[4096];
    while (true) {
        pollfd wait[2] = {{fd, POLLIN, 0}, {views ? views->fd() : -1, POLLIN, 0}};
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
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        text.append(buf, static_cast<std::size_t>(n));
    }
    return text;
}

/// Opens /proc/PID/ns/NAME and joins it.
bool joinNamespaceOf(pid_t pid, const char* name) {
    UniqueFd ns(::open(("/proc/" + std::to_string(pid) + "/ns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
    return ns && ::setns(ns.get(), 0) == 0;
}

/// Has the container's tree assembled (container_root.hpp) by a helper: forked from this
/// process (so in its mount namespace, as the host's root), joined to init's pid namespace
/// (its child, the worker, mounts the container's /proc) and private network namespace (for
/// its sysfs). Serves the /proc views meanwhile. Returns "" or why it failed.
std::string assembleRoot(const ContainerPlan& plan, pid_t init, const std::string& consoleSlave,
                         const ContainerRootIds& ids, std::unique_ptr<host::FuseFiles>& views) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
        return errnoText("cannot create a pipe");
    }
    pid_t helper = ::fork();
    if (helper < 0) {
        ::close(out[0]);
        ::close(out[1]);
        return errnoText("cannot start the helper that assembles the container's file system");
    }
    if (helper == 0) {
        ::close(out[0]);
        std::string why;
        if (!joinNamespaceOf(init, "pid") || (plan.privateNetwork && !joinNamespaceOf(init, "net"))) {
            why = errnoText("cannot join the container's namespaces");
        } else if (pid_t worker = ::fork(); worker == 0) {
            std::string err = prepareContainerRoot(plan, consoleSlave, ids);
            (void)writeAll(out[1], err);
            ::_exit(err.empty() ? 0 : 1);
        } else {
            int status = 0;
            while (worker > 0 && ::waitpid(worker, &status, 0) < 0 && errno == EINTR) {
            }
            if (worker < 0 || !WIFEXITED(status)) {
                why = "the helper assembling the container's file system ended unexpectedly";
            }
        }
        (void)writeAll(out[1], why);
        ::_exit(0);
    }
    ::close(out[1]);
    std::string why = readServingViews(out[0], views);
    ::close(out[0]);
    ::waitpid(helper, nullptr, 0);
    return why;
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
    // A mount namespace of the controller's own, where the container's tree is assembled and
    // the /proc views are served: the host never sees either (a host tool stat-ing the views
    // would wait on a server a suspend has frozen), and both vanish with the controller
    // however it ends. Init's namespace is copied from this one.
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
        report("error: " + errnoText("cannot give the controller a mount namespace"));
        return 1;
    }
    if (auto made = makeDirectories(plan.rootStaging, 0755); !made) {
        report("error: " + made.error().message);
        return 1;
    }
    // The /proc views first: once in the container's cgroup, its devices list refuses /dev/fuse.
    std::atomic<pid_t> initPid{-1};
    std::unique_ptr<host::FuseFiles> views;
    if (!plan.procViewsDir.empty()) {
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
    ContainerRootIds ids{static_cast<uid_t>(rootOf(plan.uidMap)), static_cast<gid_t>(rootOf(plan.gidMap)), -1};
    if (!plan.uidMap.empty() && ::fchown(consoleFd, ids.uid, ids.gid) != 0) {
        report("error: " + errnoText("cannot give the console to the container's root"));
        return 1;
    }
    auto log = ConsoleLog::open(plan.consoleLog);
    if (!log) {
        report("error: " + log.error().message);
        return 1;
    }
    int errPipe[2];
    if (::pipe2(errPipe, O_CLOEXEC) != 0) {
        report("error: " + errnoText("cannot create a pipe"));
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
        int errWrite, errRead, syncChild, syncParent;
    } child{&plan, errPipe[1], errPipe[0], sync[1], sync[0]};
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
            std::string why = becomeInit(*c->plan, c->syncChild);
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
    UniqueFd userNs;
    if (!plan.uidMap.empty() && moveError.empty()) {
        // For the id-mapped mounts: they show files through this namespace's maps.
        userNs.reset(::open(("/proc/" + std::to_string(init) + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
        ids.userNs = userNs.get();
    }
    // Init has its namespaces once it says so (EOF: it failed before; its reason comes through
    // the error pipe below): its interfaces are moved in, its tree is assembled.
    char ready = 0;
    if (moveError.empty() && ::read(sync[0], &ready, 1) == 1) {
        for (const auto& i : plan.interfaces) {
            if (auto r = host::moveToNetworkNamespace(i.peerName, init); !r && moveError.empty()) {
                moveError = r.error().message;
            }
        }
        if (moveError.empty()) {
            moveError = assembleRoot(plan, init, slave, ids, views);
        }
        (void)writeAll(sync[0], moveError.empty() ? "g" : "x");
    }
    ::close(sync[0]);
    userNs.reset();
    initPid = init;
    // Until init execs (EOF) or says why it cannot.
    std::string why = readServingViews(errPipe[0], views);
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
            log->write("corral-lxc: " + l.error().message + "\n");
        }
    }
    UniqueFd client;
    int status = 0;
    bool consoleOpen = true;
    char buf[4096];
    // Keys read from the client and not yet taken by the console. A container that never reads
    // its console must not stall this loop (it serves the /proc views and reaps init too): the
    // console is written without blocking, and the client is not read from while keys wait,
    // so its socket fills and the daemon holds its typist back.
    std::string keys;
    ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
    while (true) {
        short masterEvents = static_cast<short>(POLLIN | (keys.empty() ? 0 : POLLOUT));
        pollfd fds[5] = {{sigFd, POLLIN, 0},
                         {consoleOpen ? master : -1, masterEvents, 0},
                         {listener ? listener.get() : -1, POLLIN, 0},
                         {client && keys.empty() ? client.get() : -1, POLLIN, 0},
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
                log->write(std::string_view(buf, static_cast<std::size_t>(n)));
                if (client && ::send(client.get(), buf, static_cast<std::size_t>(n), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
                    errno != EAGAIN) {
                    client.reset();
                }
            }
        } else if ((fds[1].revents & (POLLHUP | POLLERR)) != 0) {
            consoleOpen = false;  // nobody has the console open right now; SIGCHLD still ends us
        }
        if ((fds[1].revents & POLLOUT) != 0 && !keys.empty()) {
            ssize_t n = ::write(master, keys.data(), keys.size());
            if (n > 0) {
                keys.erase(0, static_cast<std::size_t>(n));
            }
        }
        // The client polled, before a newcomer may replace it below.
        if ((fds[3].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            ssize_t n = ::recv(client.get(), buf, sizeof buf, 0);
            if (n <= 0) {
                client.reset();
            } else {
                keys.assign(buf, static_cast<std::size_t>(n));
            }
        }
        if ((fds[2].revents & POLLIN) != 0) {
            // The newest connection takes the console over (the daemon decides who may: it
            // refuses a second console without --force, as libvirt does).
            client.reset(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
            keys.clear();
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
