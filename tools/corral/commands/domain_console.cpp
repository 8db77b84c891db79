// SPDX-License-Identifier: LGPL-2.1-or-later
// Getting inside a running guest: console (the protocol's stream procedures) and
// lxc-enter-namespace (the container's namespace descriptors, passed over the unix socket).
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <linux/nsfs.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "../cli.hpp"
#include "host/cgroup.hpp"
#include "rpc/generated/netmessage_protocol.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

constexpr char kEscape = 0x1d;  // ^], as virsh

/// Puts a terminal in raw mode for the console's lifetime (keystrokes go to the guest as typed).
class RawTerminal {
public:
    RawTerminal() {
        if (::isatty(STDIN_FILENO) != 0 && ::tcgetattr(STDIN_FILENO, &saved_) == 0) {
            termios raw = saved_;
            ::cfmakeraw(&raw);
            active_ = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0;
        }
    }
    ~RawTerminal() {
        if (active_) {
            ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
        }
    }
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;

private:
    termios saved_{};
    bool active_ = false;
};

/// What the server's side of the console stream did.
struct ConsoleState {
    bool ended = false;
    bool guestEnded = false;  // the server sent the end of data
    std::optional<Error> error;
};

int console(Context& ctx) {
    std::string name = *ctx.args.get("domain");
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    client::Connection* conn = target->conn;
    proto::remote_domain_open_console_args a{};
    a.dom = target->dom;
    if (auto dev = ctx.args.get("devname")) {
        a.dev_name = *dev;
    }
    // virDomainConsoleFlags: FORCE 1, SAFE 2.
    a.flags = (ctx.args.flag("force") ? 1u : 0u) | (ctx.args.flag("safe") ? 2u : 0u);
    auto opened = conn->call<proto::REMOTE_PROC_DOMAIN_OPEN_CONSOLE>(a);
    if (!opened) {
        printError("", opened.error());
        return 1;
    }
    const std::uint32_t serial = conn->lastSerial();
    ConsoleState state;
    conn->setStreamHandler([&](const rpc::Packet& p) {
        if (p.header.serial != serial) {
            return;
        }
        if (p.header.status == rpc::MessageStatus::Continue) {
            if (p.payload.empty()) {
                state.guestEnded = true;  // end of data: we finish the stream, the server confirms
                return;
            }
            for (std::size_t off = 0; off < p.payload.size();) {
                ssize_t n = ::write(STDOUT_FILENO, p.payload.data() + off, p.payload.size() - off);
                if (n <= 0 && errno != EINTR) {
                    break;
                }
                off += n > 0 ? static_cast<std::size_t>(n) : 0;
            }
            return;
        }
        state.ended = true;
        if (p.header.status == rpc::MessageStatus::Error) {
            proto::remote_error err{};
            if (proto::decodeFromBytes(p.payload, err)) {
                state.error = Error{static_cast<ErrorCode>(err.code), static_cast<ErrorDomain>(err.domain),
                                    err.message.value_or("")};
                state.error->verbatim = true;
            }
        }
    });
    printExtra("Connected to domain '%s'\nEscape character is ^] (Ctrl + ])\n", target->dom.name.c_str());
    std::fflush(stdout);

    RawTerminal raw;
    bool finishing = false;  // our side is closed; waiting for the server's end
    while (!state.ended) {
        pollfd fds[2] = {{conn->pollFd(), POLLIN, 0}, {finishing ? -1 : STDIN_FILENO, POLLIN, 0}};
        if (::poll(fds, 2, finishing ? 2000 : -1) == 0) {
            break;  // the server did not answer our end in time: leave anyway
        }
        if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            if (auto pumped = conn->pumpAvailable(); !pumped) {
                printError("", pumped.error());
                return 1;
            }
        }
        if (state.guestEnded && !finishing) {
            (void)conn->finishStream(proto::REMOTE_PROC_DOMAIN_OPEN_CONSOLE, serial, false);
            finishing = true;
        }
        if (finishing || (fds[1].revents & (POLLIN | POLLHUP)) == 0) {
            continue;
        }
        std::uint8_t buf[4096];
        ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        std::size_t len = n > 0 ? static_cast<std::size_t>(n) : 0;
        auto* escape = static_cast<std::uint8_t*>(std::memchr(buf, kEscape, len));
        std::size_t forward = escape != nullptr ? static_cast<std::size_t>(escape - buf) : len;
        if (forward > 0) {
            if (auto sent = conn->sendStream(proto::REMOTE_PROC_DOMAIN_OPEN_CONSOLE, serial,
                                             std::span<const std::uint8_t>(buf, forward));
                !sent) {
                printError("", sent.error());
                return 1;
            }
        }
        if (escape != nullptr || n <= 0) {
            // ^] or the end of our input: close our side gracefully; what the guest already
            // wrote still arrives before the server's end.
            (void)conn->finishStream(proto::REMOTE_PROC_DOMAIN_OPEN_CONSOLE, serial, false);
            finishing = true;
        }
    }
    conn->setStreamHandler(nullptr);
    if (state.error) {
        printError("", *state.error);
        return 1;
    }
    return 0;
}

/// The model of the daemon's primary security driver ("none", "dac", "selinux"...).
Result<std::string> securityModel(client::Connection& conn) {
    CORRAL_ASSIGN_OR_RETURN(auto model, conn.call<proto::REMOTE_PROC_NODE_GET_SECURITY_MODEL>(proto::xdr_void{}));
    return std::string(model.model.data(), ::strnlen(model.model.data(), model.model.size()));
}

/// In the child: the container's cgroups, then its namespaces in the order given (user first),
/// then a second fork so that the new pid namespace applies, and the command.
[[noreturn]] void enterAndRun(pid_t containerPid, const std::vector<UniqueFd>& namespaces,
                              const std::vector<std::string>& command) {
    auto layout = host::hostCgroupLayout();
    if (auto joined = layout ? host::joinCgroupsOf(*layout, containerPid) : Result<void>(unexpected(layout.error()));
        !joined) {
        printError("cannot join the container's cgroups", joined.error());
        ::_exit(125);
    }
    bool joinedUsers = false;
    for (const auto& ns : namespaces) {
        // EINVAL: the same namespace as ours (the container shares the host's): nothing to do.
        if (::setns(ns.get(), 0) != 0) {
            if (errno == EINVAL) {
                continue;
            }
            printError(std::string("cannot join the container's namespace: ") + std::strerror(errno));
            ::_exit(125);
        }
        joinedUsers = joinedUsers || ::ioctl(ns.get(), NS_GET_NSTYPE) == CLONE_NEWUSER;
    }
    // In the container's user namespace our host uid 0 is no one: become its root, as nsenter
    // and lxc-attach do. Files the command creates then get the container's owners, and the
    // container cannot take over a process that still holds the host's identity.
    if (joinedUsers && (::setgroups(0, nullptr) != 0 || ::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0)) {
        printError(std::string("cannot become root of the container's user namespace: ") + std::strerror(errno));
        ::_exit(125);
    }
    // Until the command's exec, nothing of this client (its connection to the daemon) may be
    // reachable from inside: no descriptor but the terminal's, and not dumpable (the
    // container's root cannot trace it before the exec gives it a memory of its own).
    ::syscall(SYS_close_range, 3U, ~0U, 0U);
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    pid_t pid = ::fork();
    if (pid == 0) {
        std::vector<char*> argv;
        for (const auto& word : command) {
            argv.push_back(const_cast<char*>(word.c_str()));
        }
        argv.push_back(nullptr);
        ::execvp(argv[0], argv.data());
        printError("cannot run '" + command[0] + "' in the container: " + std::strerror(errno));
        ::_exit(127);
    }
    int status = 0;
    while (pid > 0 && ::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ::_exit(pid < 0 ? 125 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

int lxcEnterNamespace(Context& ctx) {
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    client::Connection* conn = target->conn;
    if (target->dom.id <= 0) {
        printError("domain '" + target->dom.name + "' is not running");
        return 1;
    }
    if (!ctx.args.flag("noseclabel")) {
        // virsh also enters the container's SELinux/AppArmor label; this client cannot yet, and
        // says so rather than run the command less confined than the container.
        auto model = securityModel(*conn);
        if (model && (*model == "selinux" || *model == "apparmor")) {
            printError("entering the container's " + *model +
                       " label is not supported by corral; use --noseclabel or virsh");
            return 1;
        }
    }
    std::vector<UniqueFd> namespaces;
    proto::lxc_domain_open_namespace_args a{};
    a.dom = target->dom;
    if (auto r = conn->callLxc<proto::LXC_PROC_DOMAIN_OPEN_NAMESPACE>(a, namespaces); !r) {
        printError("", r.error());
        return 1;
    }
    if (namespaces.empty()) {
        printError("the daemon passed no namespace of domain '" + target->dom.name + "'");
        return 1;
    }
    std::fflush(stdout);
    pid_t child = ::fork();
    if (child < 0) {
        printError(std::string("cannot fork: ") + std::strerror(errno));
        return 1;
    }
    if (child == 0) {
        enterAndRun(target->dom.id, namespaces, ctx.args.rest);
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    // The command's own exit status, so scripts can use it.
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

void registerDomainConsoleCommands() {
    OptSpec domain{"domain", OptKind::String, true, true, "domain name, id or uuid"};
    registerCommand({"console", "connect to the guest console",
                     {domain,
                      {"devname", OptKind::String, false, false, "character device name"},
                      {"force", OptKind::Bool, false, false, "take over a console in use"},
                      {"safe", OptKind::Bool, false, false, "only connect if safe console handling is supported"}},
                     console});
    registerCommand({"lxc-enter-namespace", "run an arbitrary command in a lxc guest namespace",
                     {domain,
                      {"noseclabel", OptKind::Bool, false, false, "do not change the process security label"},
                      {"cmd", OptKind::Argv, false, true, "namespace"}},
                     lxcEnterNamespace});
}

}  // namespace corral::cli
