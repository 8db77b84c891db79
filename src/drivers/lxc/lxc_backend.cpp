// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/lxc/lxc_backend.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>

#include "conf/domain_def.hpp"
#include "drivers/common/interface_bridge.hpp"
#include "drivers/lxc/container_definition.hpp"
#include "drivers/lxc/container_ids.hpp"
#include "drivers/lxc/container_init.hpp"
#include "drivers/lxc/container_initctl.hpp"
#include "host/netdev.hpp"
#include "util/files.hpp"
#include "util/logging.hpp"
#include "util/name_escape.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"
#include "util/unix_socket.hpp"

namespace corral::drivers::lxc {

using objects::DomainState;

/// One running container as the daemon sees it: its controller and init, its cgroup.
struct LxcBackend::Runtime {
    Uuid uuid;
    std::string name;
    std::string onPoweroff, onReboot, onCrash;
    pid_t controller = -1;
    pid_t init = -1;
    UniqueFd pidFd;  // the controller's
    host::Cgroup cgroup;
    std::string component;  // the name in its file names (see newRuntime)
    std::string planFile, stateFile, exitFile, rootStaging;
    std::vector<std::string> hostInterfaces;  // host ends of the veth pairs
    std::atomic<bool> destroying{false};
    std::atomic<bool> released{false};
};

namespace {
/// How long a controller may take to report its container ready.
constexpr std::chrono::seconds kStartTimeout{30};

// The character devices a container may use: null, zero, full, random, urandom, tty,
// console, ptmx and every pty (libvirt's list).
const std::vector<std::string> kAllowedDevices = {"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                                                  "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm"};

/// The definition's resource limits on the container's group. The container's memory is
/// <memory>: it is the hard limit unless <memtune><hard_limit> says otherwise (libvirt's LXC).
Result<void> applyLimits(const host::Cgroup& group, const conf::DomainDef& def,
                         std::optional<std::uint64_t> maxProcesses) {
    conf::DomainTuning t = conf::readTuning(def);
    if (!t.memory.hardLimitKiB && def.memoryKiB != 0) {
        t.memory.hardLimitKiB = def.memoryKiB;
    }
    CORRAL_TRY(group.setMemoryLimits(t.memory.hardLimitKiB, t.memory.softLimitKiB, t.memory.swapHardLimitKiB));
    if (t.cpu.shares) {
        CORRAL_TRY(group.setCpuShares(*t.cpu.shares));
    }
    if (t.cpu.vcpu.quota || t.cpu.vcpu.period) {
        CORRAL_TRY(group.setCpuBandwidth(t.cpu.vcpu.period.value_or(100000), t.cpu.vcpu.quota.value_or(-1)));
    }
    if (t.blkio.weight) {
        CORRAL_TRY(group.setBlkioWeight(*t.blkio.weight));
    }
    if (group.layout().has(host::CgroupController::Pids)) {
        CORRAL_TRY(group.setPidsMax(maxProcesses));
    }
    return {};
}

/// "CONTROLLER_PID INIT_PID" from the controller's state file.
std::pair<pid_t, pid_t> readState(const std::string& path) {
    auto text = readTextFile(path);
    if (!text) {
        return {-1, -1};
    }
    auto fields = splitString(trimString(*text), ' ');
    if (fields.size() != 2) {
        return {-1, -1};
    }
    return {static_cast<pid_t>(parseSigned(fields[0]).value_or(-1)), static_cast<pid_t>(parseSigned(fields[1]).value_or(-1))};
}
}  // namespace

LxcBackend::LxcBackend(LxcPaths paths, LxcDriverConfig config) : paths_(std::move(paths)), config_(config) {}

LxcBackend::~LxcBackend() { *alive_ = false; }

std::string LxcBackend::filePath(const std::string& component, const char* suffix) const {
    return paths_.runDir + "/" + component + suffix;
}

std::shared_ptr<LxcBackend::Runtime> LxcBackend::runtimeOf(const objects::DomainObj& dom) const {
    std::lock_guard lock(dom.mutex());
    return std::static_pointer_cast<Runtime>(dom.privateData);
}

Result<std::shared_ptr<LxcBackend::Runtime>> LxcBackend::requireRuntime(const objects::DomainObj& dom) const {
    auto rt = runtimeOf(dom);
    if (!rt) {
        return fail(ErrorCode::OperationInvalid, "container '" + dom.name() + "' is not running", ErrorDomain::Lxc);
    }
    return rt;
}

Result<void> LxcBackend::checkDefinition(const conf::DomainDef& def) { return checkContainerDefinition(def); }

Result<host::Cgroup> LxcBackend::createCgroup(const conf::DomainDef& def) {
    CORRAL_ASSIGN_OR_RETURN(host::CgroupLayout layout, host::hostCgroupLayout());
    CORRAL_ASSIGN_OR_RETURN(host::Cgroup group, host::Cgroup::create(layout, host::guestGroupPath(
                                                                          paths_.cgroupPartition + "/lxc", def.name)));
    auto configured = [&]() -> Result<void> {
        if (layout.v2 || layout.has(host::CgroupController::Devices)) {
            CORRAL_TRY(group.allowOnlyDevices(kAllowedDevices));
        } else {
            logWarning("container '" + def.name + "': no devices cgroup on this host; only its private /dev and "
                       "the dropped CAP_MKNOD keep it from devices");
        }
        return applyLimits(group, def, config_.maxProcesses);
    }();
    if (!configured) {
        (void)group.remove();
        return unexpected(std::move(configured).error());
    }
    return group;
}

std::shared_ptr<LxcBackend::Runtime> LxcBackend::newRuntime(const conf::DomainDef& liveDef,
                                                             const std::string& component) const {
    auto rt = std::make_shared<Runtime>();
    rt->component = component;
    rt->uuid = liveDef.uuid;
    rt->name = liveDef.name;
    rt->onPoweroff = liveDef.onPoweroff;
    rt->onReboot = liveDef.onReboot;
    rt->onCrash = liveDef.onCrash;
    rt->planFile = filePath(component, ".plan");
    rt->stateFile = filePath(component, ".state");
    rt->exitFile = filePath(component, ".exit");
    rt->rootStaging = paths_.runDir + "-roots/" + component;
    return rt;
}

Result<void> LxcBackend::start(objects::DomainObj& dom, conf::DomainDef& liveDef, bool paused) {
    return startWithFiles(dom, liveDef, paused, {});
}

Result<void> LxcBackend::startWithFiles(objects::DomainObj& dom, conf::DomainDef& liveDef, bool paused,
                                        std::span<const int> files) {
    CORRAL_TRY(makeDirectories(paths_.runDir, 0700));
    CORRAL_TRY(makeDirectories(paths_.logDir, 0700));
    // The /proc views' mount points: not under runDir (0700), since a container's root mapped to
    // an unprivileged uid (<idmap>) must reach its views to bind them; it may pass, not list.
    const std::string viewsParent = paths_.runDir + "-views";
    CORRAL_TRY(makeDirectories(viewsParent, 0711));
    // Where each controller assembles its container's tree; init, as the container's root,
    // passes through it too.
    CORRAL_TRY(makeDirectories(paths_.runDir + "-roots", 0711));
    CORRAL_ASSIGN_OR_RETURN(ContainerPlan plan, planContainer(liveDef));
    plan.passFds.assign(files.begin(), files.end());
    if (!files.empty()) {
        // systemd's socket-activation variables, as libvirt sets them: init is pid 1 inside.
        plan.env.push_back("LISTEN_PID=1");
        plan.env.push_back("LISTEN_FDS=" + std::to_string(files.size()));
    }
    auto rt = newRuntime(liveDef, escapePathComponent(liveDef.name));
    ::unlink(rt->stateFile.c_str());
    ::unlink(rt->exitFile.c_str());
    if (auto prepared = prepareInterfaces(liveDef, plan, rt->hostInterfaces); !prepared) {
        release(*rt);
        return prepared;
    }
    auto cgroup = createCgroup(liveDef);
    if (!cgroup) {
        release(*rt);
        return unexpected(std::move(cgroup).error());
    }
    rt->cgroup = std::move(*cgroup);
    plan.cgroupJoinFiles = rt->cgroup.selfJoinFiles();
    plan.consoleLog = pathForName(paths_.logDir, liveDef.name, ".log");
    plan.consoleSocket = filePath(rt->component, ".console");
    plan.stateFile = rt->stateFile;
    if (::access("/dev/fuse", F_OK) == 0 && rt->cgroup.layout().has(host::CgroupController::Memory)) {
        plan.procViewsDir = viewsParent + "/" + rt->component;
        plan.memoryCgroupDir = rt->cgroup.directory(host::CgroupController::Memory);
        plan.cgroupV2 = rt->cgroup.layout().v2;
    } else {
        logWarning("container '" + liveDef.name + "': no /dev/fuse (modprobe fuse) or memory cgroup: its "
                   "/proc/meminfo shows the host's memory");
    }
    plan.exitFile = rt->exitFile;
    plan.rootStaging = rt->rootStaging;
    auto fail_ = [&](Error err) {
        release(*rt);
        return unexpected(std::move(err));
    };
    if (auto written = writePlan(plan, *rt, liveDef.uuid); !written) {
        return fail_(written.error());
    }
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) {
        return fail_(failErrno(errno, "cannot create a pipe").error);
    }
    UniqueFd readEnd(ready[0]), writeEnd(ready[1]);
    SpawnOptions spawn;
    spawn.argv = {paths_.controller, "--plan", rt->planFile, "--ready-fd", std::to_string(writeEnd.get())};
    spawn.logFile = pathForName(paths_.logDir, liveDef.name, ".controller.log");
    spawn.inheritFds = {writeEnd.get()};
    spawn.inheritFds.insert(spawn.inheritFds.end(), files.begin(), files.end());
    auto pid = spawnProcess(spawn);
    if (!pid) {
        return fail_(pid.error());
    }
    writeEnd.reset();
    rt->controller = *pid;
    if (auto pidFd = openPidFd(rt->controller)) {
        rt->pidFd = std::move(*pidFd);
    }
    // The controller says "ok" once init runs, or why it could not start it.
    std::string answer;
    auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{readEnd.get(), POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) {
            continue;
        }
        char buf[1024];
        ssize_t n = ::read(readEnd.get(), buf, sizeof buf);
        if (n <= 0) {
            break;
        }
        answer.append(buf, static_cast<std::size_t>(n));
        if (answer == "ok\n") {
            break;
        }
    }
    if (answer != "ok\n") {
        ::kill(rt->controller, SIGKILL);
        reapChild(rt->controller);
        std::string why = startsWith(answer, "error: ") ? answer.substr(7) : "the controller exited without a word";
        if (answer.empty() && std::chrono::steady_clock::now() >= deadline) {
            why = "the controller did not report within " + std::to_string(kStartTimeout.count()) + " s";
        }
        return fail_(fail(ErrorCode::OperationFailed,
                          "cannot start container '" + liveDef.name + "': " + std::string(trimString(why)),
                          ErrorDomain::Lxc)
                         .error);
    }
    rt->init = readState(rt->stateFile).second;
    if (paused) {
        if (auto frozen = rt->cgroup.setFrozen(true); !frozen) {
            rt->destroying = true;
            ::kill(rt->init, SIGKILL);
            waitPidFd(rt->pidFd.get(), std::chrono::seconds(10));
            reapChild(rt->controller);
            return fail_(frozen.error());
        }
    }
    {
        std::lock_guard lock(dom.mutex());
        dom.privateData = rt;
    }
    watch(rt);
    return {};
}

Result<void> LxcBackend::writePlan(ContainerPlan& plan, const Runtime& rt, const Uuid& uuid) {
    std::lock_guard lock(idsMutex_);
    if (plan.autoIdRange) {
        auto first = pickContainerIds(uuid, {config_.containerIdMin, config_.containerIdCount},
                                      idRangesInUse(paths_.runDir, rt.planFile));
        if (!first) {
            return fail(ErrorCode::OperationFailed,
                        "cannot start container '" + plan.name + "': every id range of the pool " +
                            std::to_string(config_.containerIdMin) + "+" + std::to_string(config_.containerIdCount) +
                            " is in use; raise container_id_count in lxc.conf",
                        ErrorDomain::Lxc);
        }
        plan.uidMap = {{0, *first, kContainerIdCount}};
        plan.gidMap = plan.uidMap;
    }
    return writeFileAtomically(rt.planFile, planToJson(plan));
}

void LxcBackend::watch(const std::shared_ptr<Runtime>& rt) {
    // One thread per container, blocked on the controller's pidfd: containers are few per host
    // and a stop is then seen at once. The thread holds the runtime, not the backend's state.
    std::thread([this, rt, alive = alive_] {
        if (rt->pidFd) {
            pollfd p{rt->pidFd.get(), POLLIN, 0};
            while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
            }
        } else {
            while (processAlive(rt->controller)) {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
        }
        if (!*alive || rt->destroying) {
            return;  // destroy() records the stop (or the daemon is going away)
        }
        reapChild(rt->controller);
        auto exit = readTextFile(rt->exitFile);
        std::string how = exit ? splitString(trimString(*exit), ' ').front() : std::string("crashed");
        const std::uint64_t oomKills = rt->cgroup.valid() ? rt->cgroup.oomKills() : 0;
        release(*rt);
        if (sink_ == nullptr) {
            return;
        }
        if (how == "shutdown") {
            sink_->guestStopped(rt->uuid, objects::ShutoffReason::Shutdown, objects::StoppedDetail::Shutdown,
                                restartsGuest(rt->onPoweroff));
        } else if (how == "reboot") {
            sink_->guestStopped(rt->uuid, objects::ShutoffReason::Shutdown, objects::StoppedDetail::Shutdown,
                                rt->onReboot.empty() || restartsGuest(rt->onReboot));
        } else {
            logWarning("container '" + rt->name + "' ended unexpectedly (" + how + ")" +
                       (oomKills > 0 ? ": its init was killed by the kernel's OOM killer at the container's memory "
                                       "limit (<memory> or <memtune><hard_limit>)"
                                     : ""));
            sink_->guestStopped(rt->uuid, objects::ShutoffReason::Crashed, objects::StoppedDetail::Failed,
                                restartsGuest(rt->onCrash));
        }
    }).detach();
}

Result<void> LxcBackend::prepareInterfaces(conf::DomainDef& liveDef, ContainerPlan& plan,
                                           std::vector<std::string>& created) {
    std::size_t index = 0;
    for (auto& dev : liveDef.devices) {
        if (dev.name != "interface") {
            continue;
        }
        ContainerInterface& ci = plan.interfaces.at(index++);
        const std::string mac = dev.childAttr("mac", "address");
        CORRAL_ASSIGN_OR_RETURN(std::string bridge, interfaceBridge(dev, networkBridge_, ErrorDomain::Lxc));
        // Two starts may pick the same free name at once: the loser tries the next one.
        Result<void> made = fail(ErrorCode::InternalError, "no veth name tried");
        for (int attempt = 0; attempt < 8 && !made; ++attempt) {
            ci.hostName = host::freeInterfaceName("veth");
            ci.peerName = "vpeer" + ci.hostName.substr(4);
            made = host::createVethPair(ci.hostName, ci.peerName);
        }
        CORRAL_TRY(made);
        created.push_back(ci.hostName);
        if (mac.size() == 17) {
            CORRAL_TRY(host::setInterfaceMac(ci.hostName, "fe" + mac.substr(2)));  // as for QEMU's taps
        }
        CORRAL_TRY(host::attachToBridge(bridge, ci.hostName));
        CORRAL_TRY(host::setInterfaceUp(ci.hostName));
        conf::XmlNode* target = dev.child("target");
        if (target == nullptr) {
            dev.children.push_back(conf::XmlNode{"target", {}, {}, "", 0});
            target = &dev.children.back();
        }
        target->setAttr("dev", ci.hostName);
    }
    return {};
}

void LxcBackend::release(Runtime& rt) {
    if (rt.released.exchange(true)) {
        return;
    }
    for (const auto& name : rt.hostInterfaces) {
        (void)host::deleteInterface(name);  // gone already when the container's namespace went
    }
    if (rt.cgroup.valid()) {
        // Init and its pid namespace are gone; a task that joined the container's groups from
        // outside that namespace (lxc-enter-namespace) is not, and goes now.
        if (auto killed = rt.cgroup.killAll(); !killed) {
            logWarning("container '" + rt.name + "': " + killed.error().wireMessage());
        }
        if (auto removed = rt.cgroup.remove(); !removed) {
            logWarning("container '" + rt.name + "': " + removed.error().wireMessage());
        }
    }
    for (const auto* f : {&rt.planFile, &rt.stateFile, &rt.exitFile}) {
        ::unlink(f->c_str());
    }
    // The /proc views' mount point and the root's staging directory (the mounts themselves
    // lived in the controller's namespace).
    ::rmdir((paths_.runDir + "-views/" + rt.component).c_str());
    ::rmdir(rt.rootStaging.c_str());
}

Result<void> LxcBackend::destroy(objects::DomainObj& dom, bool graceful) {
    auto rt = runtimeOf(dom);
    if (!rt) {
        return {};
    }
    rt->destroying = true;
    // A frozen container cannot die: thaw it first. Killing init ends its pid namespace.
    (void)rt->cgroup.setFrozen(false);
    ::kill(rt->init, graceful ? SIGTERM : SIGKILL);
    bool gone = rt->pidFd ? waitPidFd(rt->pidFd.get(), std::chrono::seconds(graceful ? 10 : 5))
                          : !processAlive(rt->controller);
    if (!gone && !graceful) {
        ::kill(rt->controller, SIGKILL);
        gone = rt->pidFd ? waitPidFd(rt->pidFd.get(), std::chrono::seconds(5)) : true;
    }
    if (!gone) {
        rt->destroying = false;
        return fail(ErrorCode::OperationFailed, "container '" + dom.name() + "' did not stop", ErrorDomain::Lxc);
    }
    reapChild(rt->controller);
    release(*rt);
    std::lock_guard lock(dom.mutex());
    dom.privateData = nullptr;
    return {};
}

namespace {

// virDomainShutdownFlagValues and virDomainRebootFlagValues share these bits.
constexpr unsigned kModeInitctl = 4;
constexpr unsigned kModeSignal = 8;

/// libvirt's order for a container: its init's initctl FIFO when the mode allows it and the
/// container has one, else the signal (SIGTERM halts, SIGHUP reboots) when the mode allows it.
Result<void> askInit(const std::string& name, pid_t init, unsigned flags, char runlevel, int signal) {
    if ((flags & ~(kModeInitctl | kModeSignal)) != 0) {
        return fail(ErrorCode::InvalidArg, "only the initctl and signal modes apply to containers", ErrorDomain::Lxc);
    }
    const bool initctl = flags == 0 || (flags & kModeInitctl) != 0;
    const bool signals = flags == 0 || (flags & kModeSignal) != 0;
    if (initctl) {
        CORRAL_ASSIGN_OR_RETURN(bool sent, requestRunlevel(init, runlevel));
        if (sent) {
            return {};
        }
        if (!signals) {
            return fail(ErrorCode::OperationUnsupported,
                        "container '" + name + "' does not provide an initctl pipe (/run/initctl or /dev/initctl)",
                        ErrorDomain::Lxc);
        }
    }
    if (::kill(init, signal) != 0) {
        return failErrno(errno, "cannot signal the init of container '" + name + "'");
    }
    return {};
}

}  // namespace

Result<bool> LxcBackend::shutdown(objects::DomainObj& dom, unsigned flags) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    CORRAL_TRY(askInit(dom.name(), rt->init, flags, '0', SIGTERM));
    return false;  // the stop arrives when init exits
}

Result<void> LxcBackend::reboot(objects::DomainObj& dom, unsigned flags) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    return askInit(dom.name(), rt->init, flags, '6', SIGHUP);
}

Result<void> LxcBackend::setFrozen(objects::DomainObj& dom, bool frozen) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    return rt->cgroup.setFrozen(frozen);
}

Result<void> LxcBackend::suspend(objects::DomainObj& dom) { return setFrozen(dom, true); }

Result<void> LxcBackend::resume(objects::DomainObj& dom) { return setFrozen(dom, false); }

Result<UniqueFd> LxcBackend::openConsole(objects::DomainObj& dom, const std::string& devName, bool force) {
    (void)force;  // the controller always gives the console to the newest client
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    if (!devName.empty() && devName != "console0") {
        return fail(ErrorCode::InvalidArg, "cannot find console device '" + devName + "'", ErrorDomain::Lxc);
    }
    return connectUnixSocket(filePath(rt->component, ".console"));
}

Result<std::vector<MemoryStat>> LxcBackend::memoryStats(objects::DomainObj& dom) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    CORRAL_ASSIGN_OR_RETURN(std::uint64_t used, rt->cgroup.memoryUsageKiB());
    return std::vector<MemoryStat>{{memory_stat::kRss, used}};
}

Result<void> LxcBackend::applyTuning(objects::DomainObj& dom, const conf::DomainDef& liveDef) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    return applyLimits(rt->cgroup, liveDef, config_.maxProcesses);
}

Result<conf::DomainTuning> LxcBackend::readLiveTuning(objects::DomainObj& dom) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    conf::DomainTuning t;
    {
        std::lock_guard lock(dom.mutex());
        t = conf::readTuning(*dom.def);
    }
    const auto& g = rt->cgroup;
    CORRAL_ASSIGN_OR_RETURN(std::uint64_t shares, g.cpuShares());
    t.cpu.shares = shares;
    CORRAL_ASSIGN_OR_RETURN(std::uint64_t period, g.cpuPeriod());
    CORRAL_ASSIGN_OR_RETURN(std::int64_t quota, g.cpuQuota());
    t.cpu.vcpu = {period, quota};
    CORRAL_ASSIGN_OR_RETURN(t.memory.hardLimitKiB, g.memoryHardLimit());
    CORRAL_ASSIGN_OR_RETURN(t.memory.softLimitKiB, g.memorySoftLimit());
    CORRAL_ASSIGN_OR_RETURN(t.memory.swapHardLimitKiB, g.memorySwapHardLimit());
    CORRAL_ASSIGN_OR_RETURN(unsigned weight, g.blkioWeight());
    t.blkio.weight = weight;
    return t;
}

std::uint64_t LxcBackend::cpuTimeNs(const objects::DomainObj& dom) {
    auto rt = std::static_pointer_cast<Runtime>(dom.privateData);  // called with the mutex held
    if (!rt || !rt->cgroup.valid()) {
        return 0;
    }
    auto used = rt->cgroup.cpuUsageNs();
    return used ? *used : 0;
}

std::optional<int> LxcBackend::runningId(const objects::DomainObj& dom) {
    auto rt = std::static_pointer_cast<Runtime>(dom.privateData);  // the caller holds the mutex
    if (!rt || rt->controller <= 0) {
        return std::nullopt;
    }
    return static_cast<int>(rt->controller);
}

Result<std::vector<UniqueFd>> LxcBackend::openNamespaces(objects::DomainObj& dom) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    // libvirt's order, which virsh enters in turn: the user namespace first, so that the
    // others (owned by it) can be joined. One the container shares with the host (its network
    // without interfaces or <privnet/>) is left out: the client is in it, and from inside the
    // container's user namespace could not join it.
    std::vector<UniqueFd> fds;
    for (const char* ns : {"user", "ipc", "uts", "net", "pid", "mnt"}) {
        std::string path = "/proc/" + std::to_string(rt->init) + "/ns/" + ns;
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        struct stat theirs {}, ours {};
        bool shared = ::stat((std::string("/proc/self/ns/") + ns).c_str(), &ours) == 0 && fd &&
                      ::fstat(fd.get(), &theirs) == 0 && ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino;
        if (fd && !shared) {
            fds.push_back(std::move(fd));
        }
    }
    if (fds.empty()) {
        return fail(ErrorCode::OperationFailed,
                    "cannot open the namespaces of container '" + dom.name() + "': its init (pid " +
                        std::to_string(rt->init) + ") is gone",
                    ErrorDomain::Lxc);
    }
    return fds;
}

Result<bool> LxcBackend::reconnect(objects::DomainObj& dom, conf::DomainDef& liveDef) {
    // A container an older daemon started has its files and group under the bare name: its
    // controller keeps using those paths, so they stay this runtime's.
    std::string component = escapePathComponent(liveDef.name);
    if (auto legacy = legacyPathComponent(liveDef.name);
        legacy && ::access(filePath(component, ".state").c_str(), F_OK) != 0 &&
        ::access(filePath(*legacy, ".state").c_str(), F_OK) == 0) {
        component = *legacy;
    }
    auto rt = newRuntime(liveDef, component);
    if (auto layout = host::hostCgroupLayout()) {
        rt->cgroup = host::runningGuestGroup(*layout, paths_.cgroupPartition + "/lxc", liveDef.name);
    }
    auto [controller, init] = readState(rt->stateFile);
    // The controller must still be this container's (pids are recycled).
    auto cmdline = controller > 0 ? processCmdline(controller) : std::vector<std::string>{};
    bool ours = cmdline.size() >= 3 && endsWith(cmdline[0], "corral-lxc") && cmdline[2] == rt->planFile;
    if (!ours || !processAlive(controller)) {
        release(*rt);
        return false;
    }
    rt->controller = controller;
    rt->init = init;
    if (auto pidFd = openPidFd(controller)) {
        rt->pidFd = std::move(*pidFd);
    }
    {
        std::lock_guard lock(dom.mutex());
        dom.privateData = rt;
    }
    watch(rt);
    return true;
}

std::optional<std::pair<objects::DomainState, int>> LxcBackend::stateAfterReconnect(objects::DomainObj& dom) {
    auto rt = runtimeOf(dom);
    if (!rt || !rt->cgroup.valid()) {
        return std::nullopt;
    }
    auto frozen = rt->cgroup.frozen();
    if (!frozen) {
        return std::nullopt;
    }
    return *frozen ? std::pair{objects::DomainState::Paused, static_cast<int>(objects::PausedReason::Unknown)}
                   : std::pair{objects::DomainState::Running, static_cast<int>(objects::RunningReason::Unknown)};
}

}  // namespace corral::drivers::lxc
