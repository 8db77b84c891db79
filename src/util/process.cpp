// SPDX-License-Identifier: LGPL-2.1-or-later
// Process spawning and watching.
#include "util/process.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/files.hpp"

namespace corral {

namespace {
/// What a child that could not start reports through the pipe.
struct ChildFailure {
    int err;
    const char* step;  ///< a static string, or null when exec itself failed
};
}  // namespace

Result<pid_t> spawnProcess(const SpawnOptions& options) {
    if (options.argv.empty()) {
        return fail(ErrorCode::InternalError, "spawnProcess: empty argv");
    }
    // Everything the child touches is prepared before fork: after fork in a threaded process
    // only async-signal-safe calls are allowed.
    std::vector<char*> argv;
    argv.reserve(options.argv.size() + 1);
    for (const auto& a : options.argv) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);

    UniqueFd devNull(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!devNull) {
        return failErrno(errno, "cannot open /dev/null");
    }
    UniqueFd log;
    if (!options.logFile.empty()) {
        log.reset(::open(options.logFile.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
        if (!log) {
            return failErrno(errno, "cannot open log file '" + options.logFile + "'");
        }
    }
    int pipeFds[2];
    if (::pipe2(pipeFds, O_CLOEXEC) != 0) {
        return failErrno(errno, "cannot create a pipe");
    }
    UniqueFd readEnd(pipeFds[0]);
    UniqueFd writeEnd(pipeFds[1]);
    int outFd = log ? log.get() : devNull.get();

    pid_t pid = ::fork();
    if (pid < 0) {
        return failErrno(errno, "cannot fork to run '" + options.argv[0] + "'");
    }
    if (pid == 0) {
        ::setsid();
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, nullptr);
        for (int sig = 1; sig < NSIG; ++sig) {
            signal(sig, SIG_DFL);
        }
        ::dup2(devNull.get(), STDIN_FILENO);
        ::dup2(outFd, STDOUT_FILENO);
        ::dup2(outFd, STDERR_FILENO);
        // Every descriptor the daemon holds (client sockets, the store) closes at exec, except
        // the ones handed to the child.
        ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
        ::fcntl(writeEnd.get(), F_SETFD, FD_CLOEXEC);
        for (int fd : options.inheritFds) {
            ::fcntl(fd, F_SETFD, 0);
        }
        ChildFailure failure{0, nullptr};
        if (options.childHook != nullptr) {
            failure.err = options.childHook->run(&failure.step);
        }
        if (failure.err == 0) {
            ::execvp(argv[0], argv.data());
            failure.err = errno;
            failure.step = nullptr;
        }
        (void)!::write(writeEnd.get(), &failure, sizeof failure);
        ::_exit(127);
    }
    writeEnd.reset();
    ChildFailure failure{0, nullptr};
    ssize_t n;
    do {
        n = ::read(readEnd.get(), &failure, sizeof failure);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof failure)) {
        ::waitpid(pid, nullptr, 0);
        // The step is a string literal: the child's pointer is valid here (same image).
        if (failure.step != nullptr) {
            return failErrno(failure.err, "cannot confine '" + options.argv[0] + "' before it starts: " + failure.step);
        }
        return failErrno(failure.err, "cannot execute '" + options.argv[0] + "'");
    }
    return pid;
}

Result<CommandResult> runCommand(const std::vector<std::string>& argv, const std::string& input) {
    if (argv.empty()) {
        return fail(ErrorCode::InternalError, "runCommand: empty argv");
    }
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0) {
        return failErrno(errno, "cannot create a pipe");
    }
    UniqueFd inRead(in[0]), inWrite(in[1]);
    if (::pipe2(out, O_CLOEXEC) != 0) {
        return failErrno(errno, "cannot create a pipe");
    }
    UniqueFd outRead(out[0]), outWrite(out[1]);
    pid_t pid = ::fork();
    if (pid < 0) {
        return failErrno(errno, "cannot fork to run '" + argv[0] + "'");
    }
    if (pid == 0) {
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, nullptr);
        ::dup2(inRead.get(), STDIN_FILENO);
        ::dup2(outWrite.get(), STDOUT_FILENO);
        ::dup2(outWrite.get(), STDERR_FILENO);
        ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    inRead.reset();
    outWrite.reset();
    // Small inputs and outputs (rulesets, version strings): write all, then read all.
    std::size_t off = 0;
    while (off < input.size()) {
        ssize_t n = ::write(inWrite.get(), input.data() + off, input.size() - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        off += static_cast<std::size_t>(n);
    }
    inWrite.reset();
    CommandResult result;
    char buf[4096];
    while (true) {
        ssize_t n = ::read(outRead.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        result.output.append(buf, static_cast<std::size_t>(n));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exitStatus = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (result.exitStatus == 127 && result.output.empty()) {
        return fail(ErrorCode::SystemError, "cannot execute '" + argv[0] + "' (is it installed?)");
    }
    return result;
}

Result<UniqueFd> openPidFd(pid_t pid) {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) {
        return failErrno(errno, "cannot watch process " + std::to_string(pid));
    }
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    return UniqueFd(fd);
}

bool waitPidFd(int pidFd, std::chrono::milliseconds timeout) {
    pollfd p{pidFd, POLLIN, 0};
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        int r = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
        if (r > 0) {
            return true;
        }
        if (r == 0) {
            return false;
        }
        if (errno != EINTR) {
            return false;
        }
    }
}

void reapChild(pid_t pid) {
    while (::waitpid(pid, nullptr, WNOHANG) < 0 && errno == EINTR) {
    }
}

namespace {
std::string readSmallFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}
}  // namespace

bool processAlive(pid_t pid) {
    if (pid <= 0) {
        return false;
    }
    std::string stat = readSmallFile("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size()) {
        return false;
    }
    char state = stat[close + 2];
    return state != 'Z' && state != 'X';
}

namespace {
/// utime, stime and the last CPU from a /proc/.../stat file; false when unreadable.
bool readStat(const std::string& path, std::uint64_t& utime, std::uint64_t& stime, int& lastCpu) {
    std::string stat = readSmallFile(path);
    auto close = stat.rfind(')');
    if (close == std::string::npos) {
        return false;
    }
    std::istringstream fields(stat.substr(close + 2));
    std::string skip;
    // Fields after the command: state(3) ... utime(14) stime(15) ... processor(39).
    for (int i = 3; i < 14; ++i) {
        fields >> skip;
    }
    fields >> utime >> stime;
    for (int i = 16; i < 39; ++i) {
        fields >> skip;
    }
    lastCpu = -1;
    fields >> lastCpu;
    return true;
}

std::uint64_t ticksToNs(std::uint64_t ticks) {
    long hz = ::sysconf(_SC_CLK_TCK);
    if (hz <= 0) {
        hz = 100;
    }
    return ticks * (1000000000ULL / static_cast<std::uint64_t>(hz));
}
}  // namespace

std::uint64_t processCpuTimeNs(pid_t pid) {
    std::uint64_t utime = 0, stime = 0;
    int cpu = -1;
    if (!readStat("/proc/" + std::to_string(pid) + "/stat", utime, stime, cpu)) {
        return 0;
    }
    return ticksToNs(utime + stime);
}

bool isThreadOf(pid_t pid, pid_t tid) {
    if (pid <= 0 || tid <= 0) {
        return false;
    }
    std::string status = readSmallFile("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/status");
    auto at = status.find("\nTgid:");
    if (at == std::string::npos) {
        return false;
    }
    return std::strtol(status.c_str() + at + 6, nullptr, 10) == pid;
}

ThreadCpu threadCpu(pid_t pid, pid_t tid) {
    const std::string dir = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid);
    ThreadCpu out;
    std::uint64_t utime = 0, stime = 0;
    if (!readStat(dir + "/stat", utime, stime, out.lastCpu)) {
        return out;
    }
    out.cpuTimeNs = ticksToNs(utime + stime);
    // schedstat's first field is the time on CPU in nanoseconds: finer than clock ticks.
    std::string sched = readSmallFile(dir + "/schedstat");
    if (!sched.empty()) {
        out.cpuTimeNs = std::strtoull(sched.c_str(), nullptr, 10);
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(tid, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set) > 0 ? static_cast<int>(::sysconf(_SC_NPROCESSORS_CONF)) : 0;
        out.affinity.assign(static_cast<std::size_t>((n + 7) / 8), 0);
        for (int i = 0; i < n; ++i) {
            if (CPU_ISSET(i, &set)) {
                out.affinity[static_cast<std::size_t>(i / 8)] |= static_cast<std::uint8_t>(1u << (i % 8));
            }
        }
    }
    return out;
}

std::vector<std::string> processCmdline(pid_t pid) {
    std::string raw = readSmallFile("/proc/" + std::to_string(pid) + "/cmdline");
    std::vector<std::string> out;
    std::string cur;
    for (char c : raw) {
        if (c == '\0') {
            out.push_back(std::move(cur));
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) {
        out.push_back(std::move(cur));
    }
    return out;
}

std::uint64_t processRssKiB(pid_t pid) {
    std::string status = readSmallFile("/proc/" + std::to_string(pid) + "/status");
    auto pos = status.find("VmRSS:");
    if (pos == std::string::npos) {
        return 0;
    }
    return std::strtoull(status.c_str() + pos + 6, nullptr, 10);
}

pid_t readPidFile(const std::string& path) {
    std::ifstream in(path);
    long pid = 0;
    in >> pid;
    return in && pid > 0 ? static_cast<pid_t>(pid) : -1;
}

Result<void> writePidFile(const std::string& path, pid_t pid) {
    return writeFileAtomically(path, std::to_string(pid) + "\n");
}

}  // namespace corral
