// SPDX-License-Identifier: LGPL-2.1-or-later
// QemuBackend implementation: start, stop, monitor events, reconnect.
#include "drivers/qemu/qemu_backend.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "conf/domain_def.hpp"
#include "drivers/qemu/qemu_backend_runtime.hpp"
#include "drivers/qemu/qemu_graphics_tls.hpp"
#include "drivers/qemu/qemu_command.hpp"
#include "drivers/qemu/qemu_pci_addresses.hpp"
#include "drivers/qemu/qmp_events.hpp"
#include "drivers/qemu/qmp_monitor.hpp"
#include "util/json.hpp"
#include "util/logging.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"
#include "util/files.hpp"
#include "util/name_escape.hpp"
#include "util/unix_socket.hpp"
#include "util/utf8.hpp"

namespace corral::drivers::qemu {

using objects::DomainState;
using objects::LifecycleEvent;

namespace {
/// How long a starting QEMU may take to answer on its monitor (TCG on a loaded host is slow).
constexpr std::chrono::milliseconds kStartTimeout{60000};
/// How long a reconnect waits for a QEMU that is alive but busy.
constexpr std::chrono::milliseconds kReconnectTimeout{10000};
// Reading a saved state runs at disk speed; this only catches a QEMU that hangs.
constexpr std::chrono::minutes kRestoreTimeout{30};

/// True when the definition has a <graphics type='TYPE'>.
bool hasGraphics(const conf::DomainDef& def, std::string_view type) {
    for (const auto& dev : def.devices) {
        if (dev.name == "graphics" && dev.attrOr("type") == type) {
            return true;
        }
    }
    return false;
}

/// The last lines of QEMU's log: what it printed before dying is the real reason a start failed.

/// The last lines QEMU wrote in its latest run (each start writes a "corral:" header line).
std::string logTail(const std::string& path, std::size_t maxLines = 3) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    std::string line;
    while (std::getline(in, line)) {
        if (startsWith(line, "corral:")) {
            lines.clear();
        } else if (!line.empty()) {
            lines.push_back(line);
        }
    }
    // QEMU writes this file, and what it says goes into error messages on the wire: UTF-8 only.
    std::string out;
    for (std::size_t i = lines.size() > maxLines ? lines.size() - maxLines : 0; i < lines.size(); ++i) {
        out += out.empty() ? "" : "; ";
        appendSanitizedUtf8(out, lines[i]);
    }
    return out;
}

std::string shellQuote(const std::string& arg) {
    if (arg.find_first_of(" '\"\\$`{}[]*?;&|<>()") == std::string::npos && !arg.empty()) {
        return arg;
    }
    std::string out = "'";
    for (char c : arg) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

}  // namespace

QemuBackend::QemuBackend(QemuPaths paths, QemuDriverConfig config, std::unique_ptr<security::OwnerJournal> journal,
                         std::unique_ptr<security::SecurityManager> security)
    : paths_(std::move(paths)),
      config_(std::move(config)),
      journal_(std::move(journal)),
      security_(std::move(security)) {
    actionThread_ = std::thread([this] { actionLoop(); });
}

QemuBackend::~QemuBackend() {
    {
        std::lock_guard lock(actionsMutex_);
        stopping_ = true;
    }
    actionsReady_.notify_all();
    actionThread_.join();
}

void QemuBackend::post(std::function<void()> action) {
    {
        std::lock_guard lock(actionsMutex_);
        actions_.push_back(std::move(action));
    }
    actionsReady_.notify_one();
}

void QemuBackend::actionLoop() {
    std::unique_lock lock(actionsMutex_);
    while (true) {
        actionsReady_.wait(lock, [this] { return stopping_ || !actions_.empty(); });
        if (actions_.empty()) {
            return;
        }
        auto action = std::move(actions_.front());
        actions_.pop_front();
        lock.unlock();
        action();
        lock.lock();
    }
}

// Files are named after the escaped name: a domain named ".." or "a/b" stays in the directory.
std::string QemuBackend::pidFilePath(const std::string& name) const { return pathForName(paths_.runDir, name, ".pid"); }
std::string QemuBackend::monitorPath(const std::string& name) const {
    return pathForName(paths_.runDir, name, ".monitor");
}
std::string QemuBackend::logPath(const std::string& name) const { return pathForName(paths_.logDir, name, ".log"); }

std::shared_ptr<QemuBackend::Runtime> QemuBackend::runtimeOf(const objects::DomainObj& dom) const {
    std::lock_guard lock(dom.mutex());
    return std::static_pointer_cast<Runtime>(dom.privateData);
}

Result<std::shared_ptr<QemuBackend::Runtime>> QemuBackend::requireRuntime(const objects::DomainObj& dom) const {
    auto rt = runtimeOf(dom);
    if (!rt || !rt->monitor) {
        return fail(ErrorCode::OperationInvalid, "domain '" + dom.name() + "' has no running QEMU", ErrorDomain::Qemu);
    }
    return rt;
}

void QemuBackend::setRuntime(objects::DomainObj& dom, std::shared_ptr<Runtime> rt) {
    std::lock_guard lock(dom.mutex());
    dom.privateData = std::move(rt);
}

Result<void> QemuBackend::openMonitor(const std::shared_ptr<Runtime>& rt, int connectedFd,
                                      std::chrono::milliseconds timeout) {
    std::weak_ptr<Runtime> weak = rt;
    QmpCallbacks callbacks;
    callbacks.onEvent = [this, weak](const std::string& event, const JsonValue& data) {
        if (auto r = weak.lock()) {
            onEvent(r, event, data);
        }
    };
    callbacks.onClosed = [this, weak] {
        if (auto r = weak.lock()) {
            onMonitorClosed(r);
        }
    };
    CORRAL_ASSIGN_OR_RETURN(rt->monitor, QmpMonitor::open(UniqueFd(connectedFd), std::move(callbacks), timeout));
    return {};
}

std::shared_ptr<QemuBackend::Runtime> QemuBackend::newRuntime(const conf::DomainDef& liveDef) const {
    auto rt = std::make_shared<Runtime>();
    rt->uuid = liveDef.uuid;
    rt->name = liveDef.name;
    rt->onPoweroff = liveDef.onPoweroff;
    rt->onReboot = liveDef.onReboot;
    rt->onCrash = liveDef.onCrash;
    rt->pidFile = pidFilePath(liveDef.name);
    rt->monitorSocket = monitorPath(liveDef.name);
    return rt;
}

Result<void> QemuBackend::start(objects::DomainObj& dom, conf::DomainDef& liveDef, bool paused) {
    // A definition stored before addresses were kept gets them here, in the live copy (a
    // restore below keeps the layout its saved state has).
    CORRAL_TRY(assignPciAddresses(liveDef));
    return launchRetryingLostPorts(dom, liveDef, paused, -1);
}

Result<void> QemuBackend::startFromState(objects::DomainObj& dom, conf::DomainDef& liveDef, int fd) {
    CORRAL_TRY(launchRetryingLostPorts(dom, liveDef, true, fd));
    auto rt = runtimeOf(dom);
    // QEMU reads the stream from the inherited descriptor while its monitor already answers;
    // the guest is usable once the run state leaves "inmigrate".
    const auto deadline = std::chrono::steady_clock::now() + kRestoreTimeout;
    while (true) {
        auto status = rt->monitor->execute("query-status");
        std::string runState = status ? (*status)["status"].asString() : std::string();
        if (status && runState != "inmigrate") {
            if (runState == "paused" || runState == "prelaunch") {
                return {};
            }
            status = fail(ErrorCode::OperationFailed, "QEMU is in state '" + runState + "' after reading the saved state",
                          ErrorDomain::Qemu);
        } else if (status && std::chrono::steady_clock::now() > deadline) {
            status = fail(ErrorCode::OperationTimeout, "QEMU did not finish reading the saved state in time",
                          ErrorDomain::Qemu);
        }
        if (!status) {
            // QEMU exits when the stream is damaged; its log says why.
            rt->destroying = true;
            killProcess(*rt, true);
            if (rt->monitor) {
                rt->monitor->close();
            }
            releasePorts(*rt);
            releaseGuestResources(*rt);
            setRuntime(dom, nullptr);
            std::string tail = logTail(logPath(liveDef.name));
            return fail(ErrorCode::OperationFailed,
                        "QEMU could not restore domain '" + liveDef.name + "': " +
                            (tail.empty() ? status.error().wireMessage() : tail),
                        ErrorDomain::Qemu);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

Result<void> QemuBackend::saveState(objects::DomainObj& dom, int fd) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    CORRAL_ASSIGN_OR_RETURN(JsonValue status, rt->monitor->execute("query-status"));
    const bool wasRunning = status["running"].asBool();
    if (wasRunning) {
        CORRAL_TRY(runStateCommand(dom, "stop"));
    }
    auto resumeOnFailure = [&](Error err) -> Result<void> {
        if (wasRunning) {
            auto resumed = runStateCommand(dom, "cont");
            if (!resumed) {
                logError("domain '" + dom.name() + "': cannot resume after a failed save: " +
                         resumed.error().wireMessage());
            }
        }
        return unexpected(std::move(err));
    };
    // QEMU's default migration bandwidth (32 MiB/s) is meant for networks; a save goes to a
    // local file as fast as the disk takes it.
    auto migrated = rt->monitor->execute("migrate-set-parameters", R"({"max-bandwidth":1099511627776})");
    if (migrated) {
        if (auto passed = rt->monitor->sendFd(fd, "corral-save"); !passed) {
            migrated = unexpected(std::move(passed).error());
        }
    }
    if (migrated) {
        migrated = rt->monitor->execute("migrate", R"({"uri":"fd:corral-save"})");
    }
    while (migrated) {
        migrated = rt->monitor->execute("query-migrate");
        if (!migrated) {
            break;
        }
        std::string phase = (*migrated)["status"].asString();
        if (phase == "completed") {
            return {};
        }
        if (phase == "failed" || phase == "cancelled") {
            std::string why = (*migrated)["error-desc"].asString("no reason given");
            return resumeOnFailure(fail(ErrorCode::OperationFailed, "QEMU could not write the guest's state: " + why,
                                        ErrorDomain::Qemu).error);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return resumeOnFailure(std::move(migrated).error());
}

Result<void> QemuBackend::launch(objects::DomainObj& dom, conf::DomainDef& liveDef, bool paused, int incomingFd) {
    CORRAL_TRY(resolveVolumeDisks(liveDef));
    CORRAL_TRY(makeDirectories(paths_.runDir, 0700));
    CORRAL_TRY(makeDirectories(paths_.logDir, 0700));
    // An encrypted disk's secret is looked up first: one that is missing, has no value or is
    // another kind of secret stops the start before anything is made for QEMU.
    CORRAL_ASSIGN_OR_RETURN(auto diskSecrets, prepareDiskSecrets(liveDef));
    auto rt = newRuntime(liveDef);
    ::unlink(rt->pidFile.c_str());

    CORRAL_TRY(allocateGraphicsPorts(rt, liveDef));
    auto releaseOnFailure = [&](Unexpected err) {
        releasePorts(*rt);
        releaseGuestResources(*rt);
        return err;
    };
    auto listening = listenUnixSocket(rt->monitorSocket, 0600);
    if (!listening) {
        return releaseOnFailure(unexpected(std::move(listening).error()));
    }

    auto taps = prepareTaps(liveDef);
    if (!taps) {
        return releaseOnFailure(unexpected(std::move(taps).error()));
    }

    QemuLaunchContext ctx;
    for (const auto& tap : *taps) {
        ctx.tapFds.push_back(tap.get());
    }
    for (const auto& [target, fd] : diskSecrets) {
        ctx.diskSecretFds[target] = fd.get();
        rt->diskSecretFds.push_back(fd.get());
    }
    // Each console with TLS gets this guest's own copy of its certificates.
    std::vector<UniqueFd> tlsDirs;
    struct ConsoleTls {
        std::string type;
        bool on;
        const std::string& certDir;
        int& ctxFd;
    };
    for (const ConsoleTls& c : {ConsoleTls{"vnc", config_.vncTls, config_.vncTlsCertDir, ctx.vncTlsDirFd},
                                ConsoleTls{"spice", config_.spiceTls, config_.spiceTlsCertDir, ctx.spiceTlsDirFd}}) {
        if (!c.on || !hasGraphics(liveDef, c.type)) {
            continue;
        }
        std::string dir = pathForName(paths_.runDir, liveDef.name, "." + c.type + "-tls");
        auto staged = stageTlsCredentials(c.certDir, dir, c.type + "_tls");
        if (!staged) {
            return releaseOnFailure(unexpected(std::move(staged).error()));
        }
        rt->tlsCopies.push_back({dir, staged->get()});
        c.ctxFd = staged->get();
        tlsDirs.push_back(std::move(*staged));
    }
    ctx.vncTlsVerify = config_.vncTlsVerify;
    ctx.vncDefaultPassword = !config_.vncPassword.empty();
    ctx.emulator = config_.emulator;
    ctx.monitorFd = listening->get();
    // The daemon writes the pid file: the guest's identity has no business in the run directory.
    ctx.seccompSandbox = config_.seccompSandbox;
    ctx.vncListen = config_.vncListen;
    if (incomingFd >= 0) {
        ctx.incoming = "fd:" + std::to_string(incomingFd);
    }
    std::vector<UniqueFd> consoleListeners;
    ctx.chardevSocket = [&](const std::string& chardevId) -> Result<int> {
        const std::string path = chardevSocketPath(liveDef.name, chardevId);
        CORRAL_ASSIGN_OR_RETURN(UniqueFd fd, listenUnixSocket(path, 0600));
        rt->chardevSockets.push_back(path);
        consoleListeners.push_back(std::move(fd));
        return consoleListeners.back().get();
    };
    auto argv = buildQemuCommandLine(liveDef, ctx);
    if (!argv) {
        return releaseOnFailure(unexpected(std::move(argv).error()));
    }

    const std::string log = logPath(liveDef.name);
    {
        std::ofstream header(log, std::ios::app);
        std::string line = "corral: starting domain '" + liveDef.name + "':";
        for (const auto& a : *argv) {
            line += " " + shellQuote(a);
        }
        header << line << "\n";
    }
    auto confinement = confine(*rt, liveDef);
    if (!confinement) {
        return releaseOnFailure(unexpected(std::move(confinement).withContext("confining domain '" + liveDef.name + "'").error()));
    }
    SpawnOptions spawn;
    spawn.argv = *argv;
    spawn.logFile = log;
    spawn.childHook = confinement->get();
    spawn.inheritFds = ctx.tapFds;
    spawn.inheritFds.push_back(listening->get());
    for (const auto& fd : consoleListeners) {
        spawn.inheritFds.push_back(fd.get());
    }
    for (const auto& fd : tlsDirs) {
        spawn.inheritFds.push_back(fd.get());
    }
    for (int fd : rt->diskSecretFds) {
        spawn.inheritFds.push_back(fd);
    }
    if (incomingFd >= 0) {
        spawn.inheritFds.push_back(incomingFd);
    }
    auto pid = spawnProcess(spawn);
    if (!pid) {
        return releaseOnFailure(unexpected(std::move(pid).error()));
    }
    rt->pid = *pid;
    rt->ourChild = true;
    listening->reset();  // QEMU holds the listening sockets and the taps now
    consoleListeners.clear();
    taps->clear();
    rt->diskSecretFds.clear();
    diskSecrets.clear();  // QEMU reads its own copies
    recordConsoles(*rt, liveDef);
    prepareAgent(*rt, liveDef);
    if (auto written = writePidFile(rt->pidFile, rt->pid); !written) {
        logWarning("domain '" + liveDef.name + "': " + written.error().wireMessage() +
                   " (a daemon restart will not find this guest)");
    }
    auto pidFd = openPidFd(rt->pid);
    if (pidFd) {
        rt->pidFd = std::move(*pidFd);
    }

    // `qemuKnowsWhy`: the failure may be QEMU's own (it exited, the monitor broke), so its log
    // says more than our error; not so for what the daemon refused itself.
    auto failStart = [&](Error err, bool qemuKnowsWhy = true) {
        ::kill(rt->pid, SIGKILL);
        if (rt->pidFd) {
            waitPidFd(rt->pidFd.get(), std::chrono::seconds(5));
        }
        reapChild(rt->pid);
        std::string tail = qemuKnowsWhy ? logTail(log) : std::string();
        if (!tail.empty()) {
            err = fail(ErrorCode::OperationFailed, "QEMU failed to start domain '" + liveDef.name + "': " + tail,
                       ErrorDomain::Qemu)
                      .error;
        }
        return releaseOnFailure(unexpected(std::move(err)));
    };
    auto connected = connectUnixSocket(rt->monitorSocket);
    if (!connected) {
        return failStart(std::move(connected).error());
    }
    auto opened = openMonitor(rt, connected->release(), kStartTimeout);
    if (!opened) {
        return failStart(std::move(opened).error());
    }
    if (auto placed = placeThreads(*rt, liveDef); !placed) {
        rt->monitor->close();
        // A QEMU that died meanwhile says why in its log; a living one lost to our own refusal
        // (a thread id that is not its own) must not have its log hide that. One that is dying
        // has closed its monitor before its process ends: it gets a moment to finish.
        bool exited = rt->pidFd ? waitPidFd(rt->pidFd.get(), std::chrono::seconds(2)) : !processAlive(rt->pid);
        return failStart(std::move(placed).withContext("resource control of domain '" + liveDef.name + "'").error(),
                         exited);
    }
    // A VNC password is never on the command line (ps would show it). qemu.conf's vnc_password
    // is the password of a VNC display whose definition sets none.
    for (const auto& dev : liveDef.devices) {
        const std::string* password = dev.name == "graphics" ? dev.attr("passwd") : nullptr;
        if (dev.name == "graphics" && password == nullptr && dev.attrOr("type") == "vnc" && !config_.vncPassword.empty()) {
            password = &config_.vncPassword;
        }
        if (password != nullptr) {
            JsonWriter args;
            args.beginObject().key("protocol").value(*dev.attr("type")).key("password").value(*password).endObject();
            auto set = rt->monitor->execute("set_password", args.str());
            if (!set) {
                rt->monitor->close();
                return failStart(std::move(set).error());
            }
            // passwdValidTo: QEMU refuses the password from then on (checked at define).
            if (auto expiry = graphicsPasswordExpiry(dev); expiry && *expiry) {
                JsonWriter when;
                when.beginObject().key("protocol").value(*dev.attr("type")).key("time").value(std::to_string(**expiry))
                    .endObject();
                if (auto expire = rt->monitor->execute("expire_password", when.str()); !expire) {
                    rt->monitor->close();
                    return failStart(std::move(expire).error());
                }
            }
        }
    }
    if (auto links = applyLinkStates(*rt->monitor, liveDef); !links) {
        rt->monitor->close();
        return failStart(std::move(links).error());
    }
    // <currentMemory> below <memory>: the balloon takes the difference back at once, as libvirt
    // does (checkQemuDefinition made sure there is a balloon). A restored guest brings its own.
    if (incomingFd < 0 && liveDef.currentMemoryKiB != 0 && liveDef.currentMemoryKiB < liveDef.memoryKiB) {
        JsonWriter args;
        args.beginObject().key("value").value(static_cast<std::uint64_t>(liveDef.currentMemoryKiB) * 1024).endObject();
        if (auto set = rt->monitor->execute("balloon", args.str()); !set) {
            rt->monitor->close();
            return failStart(std::move(set).withContext("setting the balloon to <currentMemory>").error());
        }
    }
    // QEMU started with -S: the guest runs only now, with everything above in place. A restore
    // continues once the incoming state is read (startFromState).
    if (!paused && incomingFd < 0) {
        ++rt->ownStateChanges;  // the RESUME this causes is the start itself, not news
        if (auto run = rt->monitor->execute("cont"); !run) {
            --rt->ownStateChanges;
            rt->monitor->close();
            return failStart(std::move(run).error());
        }
    }
    setRuntime(dom, rt);
    return {};
}

void QemuBackend::releaseGuestResources(Runtime& rt) {
    if (rt.released.exchange(true)) {
        return;
    }
    if (!rt.pidFile.empty()) {
        ::unlink(rt.pidFile.c_str());
    }
    if (!rt.monitorSocket.empty()) {
        ::unlink(rt.monitorSocket.c_str());
    }
    for (const auto& path : rt.chardevSockets) {
        ::unlink(path.c_str());
    }
    if (!rt.devStagingDir.empty()) {
        ::rmdir(rt.devStagingDir.c_str());
    }
    for (const auto& copy : rt.tlsCopies) {
        removeTlsCredentials(copy.dir);
    }
    if (rt.cgroup.valid()) {
        // QEMU is gone; whatever it forked (or anything else in its groups) goes with it.
        if (auto killed = rt.cgroup.killAll(); !killed) {
            logWarning("domain '" + rt.name + "': " + killed.error().wireMessage());
        }
        if (auto removed = rt.cgroup.remove(); !removed) {
            logWarning("domain '" + rt.name + "': " + removed.error().wireMessage());
        }
    }
    if (rt.securedDef && security_) {
        security_->releaseGuest(*rt.securedDef, rt.securedFiles);
    }
}

bool QemuBackend::killProcess(Runtime& rt, bool allowKill) {
    if (rt.pid <= 0) {
        return true;
    }
    auto waitGone = [&](std::chrono::milliseconds t) {
        if (rt.pidFd) {
            return waitPidFd(rt.pidFd.get(), t);
        }
        auto deadline = std::chrono::steady_clock::now() + t;
        while (processAlive(rt.pid) && std::chrono::steady_clock::now() < deadline) {
            ::usleep(2000);
        }
        return !processAlive(rt.pid);
    };
    ::kill(rt.pid, SIGTERM);
    bool gone = waitGone(std::chrono::seconds(config_.destroyGraceSeconds));
    if (!gone && allowKill) {
        ::kill(rt.pid, SIGKILL);
        gone = waitGone(std::chrono::seconds(10));
    }
    if (gone && rt.ourChild) {
        reapChild(rt.pid);
    }
    return gone;
}

Result<void> QemuBackend::destroy(objects::DomainObj& dom, bool graceful) {
    auto rt = runtimeOf(dom);
    if (!rt) {
        return {};
    }
    rt->destroying = true;
    if (!killProcess(*rt, !graceful)) {
        rt->destroying = false;
        return fail(ErrorCode::OperationFailed,
                    "QEMU of domain '" + dom.name() + "' (pid " + std::to_string(rt->pid) +
                        ") did not stop after SIGTERM" + (graceful ? " (graceful destroy does not use SIGKILL)" : ""),
                    ErrorDomain::Qemu);
    }
    if (rt->monitor) {
        rt->monitor->close();
    }
    releasePorts(*rt);
    releaseGuestResources(*rt);
    setRuntime(dom, nullptr);
    return {};
}

Result<bool> QemuBackend::shutdown(objects::DomainObj& dom, unsigned flags) {
    // virDomainShutdownFlagValues: 0 = default (ACPI), 1 = ACPI power button. Others need a
    // guest agent, initctl or signals, which a QEMU guest has not.
    if (flags != 0 && flags != 1) {
        return fail(ErrorCode::ConfigUnsupported,
                    "shutdown mode flags 0x" + std::to_string(flags) + " are not supported (only the ACPI power button)",
                    ErrorDomain::Qemu);
    }
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    rt->fakeReboot = false;
    CORRAL_TRY(rt->monitor->execute("system_powerdown"));
    return false;
}

Result<void> QemuBackend::reboot(objects::DomainObj& dom, unsigned flags) {
    if (flags != 0 && flags != 1) {
        return fail(ErrorCode::ConfigUnsupported,
                    "reboot mode flags 0x" + std::to_string(flags) + " are not supported (only ACPI)", ErrorDomain::Qemu);
    }
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    // libvirt's "fake reboot": the guest powers off through ACPI, then the daemon resets it
    // instead of stopping QEMU, so the guest shuts down cleanly and boots again.
    rt->fakeReboot = true;
    auto sent = rt->monitor->execute("system_powerdown");
    if (!sent) {
        rt->fakeReboot = false;
    }
    return sent ? Result<void>() : unexpected(std::move(sent).error());
}

// stop/cont issued by the daemon: the STOP/RESUME events they cause are its own, not news.
Result<void> QemuBackend::runStateCommand(objects::DomainObj& dom, const char* command) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    ++rt->ownStateChanges;
    auto r = rt->monitor->execute(command);
    if (!r) {
        --rt->ownStateChanges;
        return unexpected(std::move(r).error());
    }
    return {};
}

Result<std::string> QemuBackend::monitorCommand(objects::DomainObj& dom, const std::string& command, bool hmp) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    if (hmp) {
        JsonWriter args;
        args.beginObject().key("command-line").value(command).endObject();
        CORRAL_ASSIGN_OR_RETURN(JsonValue text, rt->monitor->execute("human-monitor-command", args.str()));
        return text.asString();
    }
    auto parsed = JsonValue::parse(command);
    if (!parsed || !parsed->isObject() || !(*parsed)["execute"].isString()) {
        return fail(ErrorCode::InvalidArg,
                    "a QMP command must be a JSON object with an \"execute\" member, e.g. {\"execute\":\"query-status\"}",
                    ErrorDomain::Qemu);
    }
    const JsonValue& arguments = (*parsed)["arguments"];
    auto reply = rt->monitor->execute((*parsed)["execute"].asString(), arguments.isNull() ? "" : arguments.toJson());
    if (!reply) {
        return unexpected(std::move(reply).error());
    }
    return "{\"return\":" + reply->toJson() + "}";
}

Result<void> QemuBackend::suspend(objects::DomainObj& dom) { return runStateCommand(dom, "stop"); }

Result<void> QemuBackend::pmWakeup(objects::DomainObj& dom) {
    CORRAL_ASSIGN_OR_RETURN(auto rt, requireRuntime(dom));
    CORRAL_TRY(rt->monitor->execute("system_wakeup"));  // QEMU's WAKEUP event reports the rest
    return {};
}

Result<void> QemuBackend::resume(objects::DomainObj& dom) { return runStateCommand(dom, "cont"); }

std::uint64_t QemuBackend::cpuTimeNs(const objects::DomainObj& dom) {
    // Called with the domain mutex held.
    auto rt = std::static_pointer_cast<Runtime>(dom.privateData);
    return rt ? processCpuTimeNs(rt->pid) : 0;
}

void QemuBackend::onEvent(const std::shared_ptr<Runtime>& rt, const std::string& event, const JsonValue& data) {
    if (sink_ == nullptr) {
        return;
    }
    if (event == "SHUTDOWN") {
        // With -no-shutdown QEMU stops the vCPUs and waits: the daemon decides what follows.
        std::string reason = data["reason"].asString();
        bool reset = reason == "guest-reset";
        if (rt->fakeReboot.exchange(false) && !reset) {
            rt->ownStateChanges += 2;  // the STOP that follows SHUTDOWN and the RESUME of cont
            post([rt] {
                if (rt->monitor) {
                    (void)rt->monitor->execute("system_reset");
                    (void)rt->monitor->execute("cont");
                }
            });
            return;
        }
        rt->guestShutdown = true;
        std::string action = reset ? rt->onReboot : rt->onPoweroff;
        if (restartsGuest(action) && !reset) {
            rt->guestShutdown = false;
            rt->ownStateChanges += 2;
            post([rt] {
                if (rt->monitor) {
                    (void)rt->monitor->execute("system_reset");
                    (void)rt->monitor->execute("cont");
                }
            });
            return;
        }
        if (action == "preserve") {
            sink_->guestStateChanged(rt->uuid, DomainState::Shutdown, 0, LifecycleEvent::Shutdown,
                                     static_cast<int>(objects::ShutdownDetail::Finished));
            return;
        }
        // destroy: stop QEMU; the end of the monitor connection reports the shutdown.
        post([this, rt] { killProcess(*rt, true); });
        return;
    }
    if (event == "RESET") {
        // A guest reboot, or the reset that completes a fake reboot or on_poweroff=restart.
        sink_->guestRebooted(rt->uuid);
        return;
    }
    if (event == "GUEST_PANICKED") {
        rt->panicked = true;
        if (rt->onCrash == "preserve") {
            sink_->guestStateChanged(rt->uuid, DomainState::Crashed, static_cast<int>(objects::CrashedReason::Panicked),
                                     LifecycleEvent::Crashed, 0 /* VIR_DOMAIN_EVENT_CRASHED_PANICKED */);
            return;
        }
        post([this, rt] { killProcess(*rt, true); });
        return;
    }
    if (event == "SUSPEND" || event == "WAKEUP") {
        // The guest suspended itself to RAM (ACPI S3), or woke up: libvirt raises pmsuspend /
        // pmwakeup first, then the lifecycle change.
        const bool suspended = event == "SUSPEND";
        DomainEvent pm;
        pm.eventId = suspended ? event_id::kPmSuspend : event_id::kPmWakeup;
        sink_->guestEvent(rt->uuid, std::move(pm));
        if (suspended) {
            sink_->guestStateChanged(rt->uuid, DomainState::PmSuspended, 0 /* VIR_DOMAIN_PMSUSPENDED_UNKNOWN */,
                                     LifecycleEvent::PmSuspended, 0 /* VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY */);
        } else {
            sink_->guestStateChanged(rt->uuid, DomainState::Running, static_cast<int>(objects::RunningReason::Wakeup),
                                     LifecycleEvent::Started, static_cast<int>(objects::StartedDetail::Wakeup));
        }
        return;
    }
    if (event == "VSERPORT_CHANGE") {
        onAgentPort(rt, data);
        return;
    }
    if (event == "DEVICE_DELETED") {
        // Devices without an id (a device's internal parts) are none of ours.
        if (std::string alias = data["device"].asString(); !alias.empty()) {
            onDeviceDeleted(rt, alias);
        }
        return;
    }
    // QEMU pauses the guest next: the STOP that follows is this error's (or watchdog's), and
    // libvirt reports it as "Suspended I/O Error" ("Suspended Watchdog") after the event itself.
    if (event == "BLOCK_IO_ERROR" && data["action"].asString() == "stop") {
        rt->pauseCause = Runtime::PauseCause::IoError;
    } else if (event == "WATCHDOG" && data["action"].asString() == "pause") {
        rt->pauseCause = Runtime::PauseCause::Watchdog;
    }
    static const conf::DomainDef kNoDefinition;
    std::shared_ptr<const conf::DomainDef> def = rt->eventDefinition();
    if (auto ev = domainEventFromQmp(event, data, def ? *def : kNoDefinition)) {
        sink_->guestEvent(rt->uuid, std::move(*ev));
        return;
    }
    if (event == "STOP" || event == "RESUME") {
        if (rt->ownStateChanges > 0) {
            --rt->ownStateChanges;
            return;
        }
        if (rt->panicked || rt->guestShutdown || rt->fakeReboot) {
            return;  // part of a panic or a power-off, reported by those
        }
        const auto cause = event == "STOP" ? rt->pauseCause.exchange(Runtime::PauseCause::None)
                                           : Runtime::PauseCause::None;
        if (cause == Runtime::PauseCause::IoError) {
            sink_->guestStateChanged(rt->uuid, DomainState::Paused, static_cast<int>(objects::PausedReason::IoError),
                                     LifecycleEvent::Suspended, static_cast<int>(objects::SuspendedDetail::IoError));
        } else if (cause == Runtime::PauseCause::Watchdog) {
            sink_->guestStateChanged(rt->uuid, DomainState::Paused, static_cast<int>(objects::PausedReason::Watchdog),
                                     LifecycleEvent::Suspended, static_cast<int>(objects::SuspendedDetail::Watchdog));
        } else if (event == "STOP") {
            sink_->guestStateChanged(rt->uuid, DomainState::Paused, static_cast<int>(objects::PausedReason::Unknown),
                                     LifecycleEvent::Suspended, static_cast<int>(objects::SuspendedDetail::Paused));
        } else {
            sink_->guestStateChanged(rt->uuid, DomainState::Running, static_cast<int>(objects::RunningReason::Unpaused),
                                     LifecycleEvent::Resumed, static_cast<int>(objects::ResumedDetail::Unpaused));
        }
    }
}

void QemuBackend::onMonitorClosed(const std::shared_ptr<Runtime>& rt) {
    if (rt->destroying) {
        return;  // destroy() records the stop itself
    }
    // The connection ends when QEMU exits; make sure it is gone and reaped before reporting.
    post([this, rt] {
        if (rt->destroying) {
            return;
        }
        killProcess(*rt, true);
        // Read before the group goes: a kill by the OOM killer is the reason worth reporting.
        const std::uint64_t oomKills = rt->cgroup.valid() ? rt->cgroup.oomKills() : 0;
        releasePorts(*rt);
        releaseGuestResources(*rt);
        if (sink_ == nullptr) {
            return;
        }
        if (rt->panicked) {
            sink_->guestStopped(rt->uuid, objects::ShutoffReason::Crashed, objects::StoppedDetail::Crashed,
                                restartsGuest(rt->onCrash));
        } else if (rt->guestShutdown) {
            sink_->guestStopped(rt->uuid, objects::ShutoffReason::Shutdown, objects::StoppedDetail::Shutdown, false);
        } else {
            if (oomKills > 0) {
                logWarning("QEMU of domain '" + rt->name +
                           "' was killed by the kernel's OOM killer: the guest reached its memory hard limit "
                           "(<memtune><hard_limit>)");
            } else {
                logWarning("QEMU of domain '" + rt->name + "' exited unexpectedly: " + logTail(logPath(rt->name)));
            }
            sink_->guestStopped(rt->uuid, objects::ShutoffReason::Crashed, objects::StoppedDetail::Failed, false);
        }
    });
}

Result<bool> QemuBackend::reconnect(objects::DomainObj& dom, conf::DomainDef& liveDef) {
    // A guest an older daemon started has its files under the bare name: moved to where this
    // daemon looks (a renamed socket still reaches QEMU, a renamed log still receives its output).
    for (const char* suffix : {".pid", ".monitor", ".dev"}) {
        moveLegacyFile(paths_.runDir, liveDef.name, suffix);
    }
    moveLegacyFile(paths_.logDir, liveDef.name, ".log");
    auto rt = newRuntime(liveDef);
    recordConsoles(*rt, liveDef, true);
    nameInterfaces(liveDef, false);  // a guest an older daemon started has no <alias> on them
    prepareAgent(*rt, liveDef);  // before the monitor's events can name its port
    // Whether it runs or not, what it held is known now: kept if it runs, given back if not.
    adoptConfinement(*rt, liveDef);
    for (const auto& dev : liveDef.devices) {
        if (dev.name == "graphics" && dev.attrOr("autoport") == "yes") {
            if (auto port = parseUnsigned(dev.attrOr("port"))) {
                rt->ports.push_back(static_cast<int>(*port));
            }
        }
    }

    pid_t pid = readPidFile(rt->pidFile);
    // The pid must still be this guest's QEMU: a recycled pid must never be adopted or killed.
    auto cmdline = pid > 0 ? processCmdline(pid) : std::vector<std::string>{};
    bool ours = false;
    for (std::size_t i = 0; i + 1 < cmdline.size(); ++i) {
        if (cmdline[i] == "-uuid" && cmdline[i + 1] == liveDef.uuid.toString()) {
            ours = true;
        }
    }
    if (!ours || !processAlive(pid)) {
        releaseGuestResources(*rt);
        return false;
    }
    rt->pid = pid;
    if (auto pidFd = openPidFd(pid)) {
        rt->pidFd = std::move(*pidFd);
    }
    auto connected = connectUnixSocket(rt->monitorSocket);
    Result<void> opened = connected ? openMonitor(rt, connected->release(), kReconnectTimeout)
                                    : Result<void>(unexpected(std::move(connected).error()));
    if (!opened) {
        // Alive but unmanageable: stop it rather than leave an orphan nobody can control.
        logError("cannot reconnect to QEMU of domain '" + liveDef.name + "' (pid " + std::to_string(pid) +
                 "): " + opened.error().wireMessage() + "; stopping it");
        rt->destroying = true;
        killProcess(*rt, true);
        releaseGuestResources(*rt);
        return false;
    }
    // A guest that powered off or panicked while no daemon watched: apply its action now.
    auto status = rt->monitor->execute("query-status");
    std::string runState = status ? (*status)["status"].asString() : std::string();
    if (runState == "shutdown" || runState == "guest-panicked") {
        logWarning("domain '" + liveDef.name + "' " + (runState == "shutdown" ? "powered off" : "panicked") +
                   " while the daemon was down; stopping its QEMU");
        rt->destroying = true;
        killProcess(*rt, true);
        rt->monitor->close();
        releaseGuestResources(*rt);
        return false;
    }
    {
        std::lock_guard lock(portsMutex_);
        portsInUse_.insert(rt->ports.begin(), rt->ports.end());
    }
    rt->runStateAtReconnect = runState;
    refreshAgentState(*rt);
    setRuntime(dom, rt);
    return true;
}

std::optional<std::pair<DomainState, int>> QemuBackend::stateAfterReconnect(objects::DomainObj& dom) {
    auto rt = runtimeOf(dom);
    if (!rt) {
        return std::nullopt;
    }
    const std::string& s = rt->runStateAtReconnect;
    if (s == "running") {
        return std::pair{DomainState::Running, static_cast<int>(objects::RunningReason::Unknown)};
    }
    if (s == "suspended") {
        return std::pair{DomainState::PmSuspended, 0 /* VIR_DOMAIN_PMSUSPENDED_UNKNOWN */};
    }
    if (s == "io-error") {
        return std::pair{DomainState::Paused, static_cast<int>(objects::PausedReason::IoError)};
    }
    if (s == "watchdog") {
        return std::pair{DomainState::Paused, static_cast<int>(objects::PausedReason::Watchdog)};
    }
    if (s == "paused" || s == "internal-error" || s == "debug" || s == "postmigrate") {
        return std::pair{DomainState::Paused, static_cast<int>(objects::PausedReason::Unknown)};
    }
    return std::nullopt;  // unknown to us, or a transition: keep what was recorded
}

}  // namespace corral::drivers::qemu
