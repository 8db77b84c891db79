// SPDX-License-Identifier: LGPL-2.1-or-later
// The freezer: v1's freezer.state, v2's cgroup.freeze. Either way the kernel stops each task only
// when it next runs, so a freeze is done when the kernel says so, not when the file is written:
// a task throttled by its CPU quota runs again at its next period (up to a second away), one
// held in the kernel when it leaves. Suspend promises a container whose tasks have stopped.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "host/cgroup.hpp"
#include "util/files.hpp"
#include "util/strings.hpp"
#include "util/unique_fd.hpp"

namespace corral::host {

namespace {

using Clock = std::chrono::steady_clock;

/// Whether cgroup.events (open as `fd`) says "frozen 1", read from its start.
Result<bool> eventsSayFrozen(int fd, const std::string& path) {
    char buffer[256];
    const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
    if (n < 0) {
        return failErrno(errno, "cannot read '" + path + "'");
    }
    for (const auto& line :
         splitString(std::string_view(buffer, static_cast<std::size_t>(n)), '\n')) {
        if (trimString(line) == "frozen 1") {
            return true;
        }
    }
    return false;
}

/// Waits until every task of the v2 group `dir` is frozen, or `deadline`. The kernel notifies
/// pollers of cgroup.events (POLLPRI) when "frozen" changes; a change between the read and the
/// poll is not lost (a read marks what the poll compares against).
Result<bool> waitV2Frozen(const std::string& dir, Clock::time_point deadline) {
    const std::string path = dir + "/cgroup.events";
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return failErrno(errno, "cannot open '" + path + "'");
    }
    while (true) {
        CORRAL_ASSIGN_OR_RETURN(bool frozen, eventsSayFrozen(fd.get(), path));
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (frozen || left.count() <= 0) {
            return frozen;
        }
        pollfd p{fd.get(), POLLPRI, 0};
        if (::poll(&p, 1, static_cast<int>(left.count()) + 1) < 0 && errno != EINTR) {
            return failErrno(errno, "cannot wait on '" + path + "'");
        }
    }
}

}  // namespace

Result<void> Cgroup::setFrozen(bool frozen, std::chrono::milliseconds timeout) const {
    const auto deadline = Clock::now() + timeout;
    bool settled = false;
    if (layout_.v2) {
        const std::string dir = directory(CgroupController::Cpu);
        CORRAL_TRY(writeKernelFile(dir + "/cgroup.freeze", frozen ? "1" : "0"));
        if (!frozen) {
            return {};  // a thawed task runs at once; nothing to wait for
        }
        CORRAL_ASSIGN_OR_RETURN(settled, waitV2Frozen(dir, deadline));
    } else {
        const std::string wanted = frozen ? "FROZEN" : "THAWED";
        CORRAL_TRY(write(CgroupController::Freezer, "freezer.state", wanted));
        // v1 has no notification: its state is polled, as libvirt does.
        while (!settled) {
            CORRAL_ASSIGN_OR_RETURN(std::string state,
                                    read(CgroupController::Freezer, "freezer.state"));
            settled = state == wanted;
            if (!settled && Clock::now() >= deadline) {
                break;
            }
            if (!settled) {
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
        }
    }
    if (settled) {
        return {};
    }
    if (frozen) {
        // Half frozen is neither state: the tasks that stopped run again, as libvirt leaves it.
        (void)setFrozen(false, timeout);
        return fail(ErrorCode::OperationTimeout,
                    "the tasks of cgroup '" + path_ + "' did not all stop within " +
                        std::to_string(timeout.count()) +
                        " ms of freezing (one is held in the kernel): thawed again");
    }
    return fail(ErrorCode::OperationTimeout, "the freezer of cgroup '" + path_ +
                                                 "' did not thaw within " +
                                                 std::to_string(timeout.count()) + " ms");
}

Result<bool> Cgroup::frozen() const {
    if (layout_.v2) {
        // What was asked (cgroup.events' "frozen" is set only once every task stopped).
        CORRAL_ASSIGN_OR_RETURN(std::string freeze,
                                readTextFile(directory(CgroupController::Cpu) + "/cgroup.freeze"));
        return freeze.starts_with("1");
    }
    CORRAL_ASSIGN_OR_RETURN(std::string state, read(CgroupController::Freezer, "freezer.state"));
    return state != "THAWED";
}

}  // namespace corral::host
