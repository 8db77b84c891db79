// SPDX-License-Identifier: LGPL-2.1-or-later
// A group's subtree: its directories, its tasks, and killAll, which ends every task of a
// guest's groups, QEMU's and containers' alike.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "host/cgroup.hpp"
#include "util/files.hpp"
#include "util/strings.hpp"

namespace corral::host {

namespace {

std::string pidList(const std::vector<pid_t>& pids) {
    std::string out;
    for (pid_t pid : pids) {
        out += (out.empty() ? "" : " ") + std::to_string(pid);
    }
    return out;
}

}  // namespace

std::vector<std::string> Cgroup::groupsUnder(const std::string& dir) {
    std::vector<std::string> dirs;
    if (::access(dir.c_str(), F_OK) != 0) {
        return dirs;
    }
    dirs.push_back(dir);
    for (std::size_t i = 0; i < dirs.size(); ++i) {
        DIR* d = ::opendir(dirs[i].c_str());
        if (d == nullptr) {
            continue;  // removed meanwhile
        }
        while (dirent* e = ::readdir(d)) {
            std::string name = e->d_name;
            if (e->d_type == DT_DIR && name != "." && name != "..") {
                dirs.push_back(dirs[i] + "/" + name);
            }
        }
        ::closedir(d);
    }
    return dirs;
}

std::vector<pid_t> Cgroup::tasks() const {
    std::vector<pid_t> pids;
    for (const auto& file : procsFiles()) {
        const std::string top = file.substr(0, file.rfind('/'));
        for (const auto& dir : groupsUnder(top)) {
            auto text = readTextFile(dir + "/cgroup.procs");
            if (!text) {
                continue;  // the group went while we walked
            }
            for (const auto& line : splitString(*text, '\n')) {
                auto pid = parseUnsigned(trimString(line));
                if (pid && *pid > 0 && std::find(pids.begin(), pids.end(), static_cast<pid_t>(*pid)) == pids.end()) {
                    pids.push_back(static_cast<pid_t>(*pid));
                }
            }
        }
    }
    return pids;
}

Result<void> Cgroup::killAll(std::chrono::milliseconds timeout) const {
    if (!valid()) {
        return {};
    }
    // v2 (Linux 5.14 on) kills a whole subtree in one write, forks in flight included.
    const std::string killFile = layout_.v2 ? layout_.unifiedMount + "/" + path_ + "/cgroup.kill" : std::string();
    const bool kernelKills = !killFile.empty() && ::access(killFile.c_str(), F_OK) == 0;
    // Otherwise the group is frozen first: a frozen task can neither fork a task we would miss
    // nor exit and leave its pid to another process before its signal arrives. It acts on
    // SIGKILL once thawed (v1 lets nothing through the freezer). Freezing may fail (a task
    // stuck in the kernel): the tasks are signalled anyway.
    bool thawPending = false;
    if (!kernelKills && layout_.has(CgroupController::Freezer) && !tasks().empty()) {
        (void)setFrozen(true, std::chrono::seconds(1));
        thawPending = true;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        // Read again each round: a task outside the freezer's hierarchy (v1 places each
        // hierarchy apart) may have forked meanwhile.
        const std::vector<pid_t> left = tasks();
        if (left.empty()) {
            break;
        }
        if (kernelKills) {
            CORRAL_TRY(writeKernelFile(killFile, "1"));
        } else {
            for (pid_t pid : left) {
                ::kill(pid, SIGKILL);
            }
        }
        if (thawPending) {
            (void)setFrozen(false);
            thawPending = false;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return fail(ErrorCode::OperationTimeout,
                        "cgroup '" + path_ + "' still holds processes (" + pidList(left) + ") after SIGKILL");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (thawPending) {
        (void)setFrozen(false);
    }
    return {};
}

}  // namespace corral::host
