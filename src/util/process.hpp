// SPDX-License-Identifier: LGPL-2.1-or-later
// Processes the daemon starts and watches: guests (QEMU) that must outlive the daemon, and their
// exit, seen through a pidfd so a stop is noticed at once without polling or fixed sleeps.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral {

/// Work done in the child between fork and exec (confinement). Runs in a child of a threaded
/// process: only async-signal-safe system calls, no allocation. Returns 0, or an errno with
/// `*failedStep` pointing at a static description of the step that failed.
class ChildHook {
public:
    virtual ~ChildHook() = default;
    virtual int run(const char** failedStep) noexcept = 0;
};

struct SpawnOptions {
    std::vector<std::string> argv;          ///< argv[0] is looked up in PATH when it has no '/'
    std::string logFile;                    ///< stdout and stderr are appended here ("" = /dev/null)
    std::vector<int> inheritFds;            ///< descriptors the child keeps (at the same numbers)
    ChildHook* childHook = nullptr;         ///< run last before exec
};

/// Starts a process in its own session (a daemon restart or a signal to the daemon's process
/// group never reaches it), with a clean signal state and only `inheritFds` open besides 0-2.
/// A failing exec is reported here with errno and the program named.
Result<pid_t> spawnProcess(const SpawnOptions& options);

/// What a short-lived helper program printed, and how it ended.
struct CommandResult {
    int exitStatus = -1;  ///< -1 when it did not exit normally
    std::string output;   ///< stdout and stderr together
};

/// Runs `argv` to completion with `input` on its stdin (nft -f -, for example). Errors only when
/// it cannot be started; a non-zero exit is the caller's to judge from exitStatus and output.
Result<CommandResult> runCommand(const std::vector<std::string>& argv, const std::string& input = {});

/// A descriptor that becomes readable when `pid` exits (pidfd_open). Works for processes that are
/// not our children (guests left by a previous daemon).
Result<UniqueFd> openPidFd(pid_t pid);

/// Waits up to `timeout` for the pidfd to signal exit; true when the process is gone.
bool waitPidFd(int pidFd, std::chrono::milliseconds timeout);

/// Reaps `pid` if it is our child and has exited (no-op otherwise).
void reapChild(pid_t pid);

/// True when a process with this pid exists (and is not a zombie).
bool processAlive(pid_t pid);

/// User plus system CPU time of `pid` in nanoseconds, from /proc; 0 when unreadable.
std::uint64_t processCpuTimeNs(pid_t pid);

/// Whether `tid` is one of the threads of process `pid` now: /proc/PID/task/TID exists (the
/// kernel lists only PID's own threads there) and its Tgid is PID. A thread id another program
/// reports (QEMU's query-cpus-fast) must pass this before anything is done to it; while `pid`'s
/// pidfd shows it running, `pid` cannot have been reused.
bool isThreadOf(pid_t pid, pid_t tid);

/// One thread of a process (a vCPU or IOThread): time on CPU, the CPU it last ran on, and its
/// affinity as a libvirt cpumap (bit i of byte i/8 = host CPU i). Zeros when it is gone.
struct ThreadCpu {
    std::uint64_t cpuTimeNs = 0;
    int lastCpu = -1;
    std::vector<std::uint8_t> affinity;
};
ThreadCpu threadCpu(pid_t pid, pid_t tid);

/// The NUL-separated command line of `pid` as a vector; empty when unreadable.
std::vector<std::string> processCmdline(pid_t pid);

/// Resident set size of `pid` in KiB, from /proc; 0 when unreadable.
std::uint64_t processRssKiB(pid_t pid);

/// The pid in a pid file (QEMU's -pidfile, dnsmasq's pid-file); -1 when missing or unreadable.
/// Callers must still check that the process is the one they expect: pids are recycled.
pid_t readPidFile(const std::string& path);

/// Writes `pid` to `path` atomically (a reader sees the old file or the whole new one).
Result<void> writePidFile(const std::string& path, pid_t pid);

}  // namespace corral
