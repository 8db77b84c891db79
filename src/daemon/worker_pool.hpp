// SPDX-License-Identifier: LGPL-2.1-or-later
// WorkerPool: threads running queued calls, so no driver call blocks the I/O thread. It starts
// with `minThreads` and grows, up to `maxThreads`, when a job arrives and every worker is busy
// (libvirt's min_workers / max_workers): an idle daemon keeps few threads, a busy one gets
// enough that one slow call does not hold up the rest.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace corral::daemon {

class WorkerPool {
public:
    /// Starts `minThreads` workers named `name` (visible in top/ps as thread names); at most
    /// `maxThreads` ever run (both at least 1; max is raised to min if lower).
    WorkerPool(std::string name, unsigned minThreads, unsigned maxThreads);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    /// Queues `job`; it runs on some worker in FIFO order. Never blocks.
    void submit(std::function<void()> job);
    /// Finishes queued jobs, then joins the workers.
    void stop();
    /// Workers started so far.
    [[nodiscard]] std::size_t threadCount() const;

private:
    void run();
    /// Starts one more worker; the caller holds mutex_.
    void spawnLocked();

    std::string name_;
    unsigned maxThreads_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> jobs_;
    std::vector<std::thread> threads_;
    unsigned idle_ = 0;  ///< workers waiting for a job
    bool stopping_ = false;
};

}  // namespace corral::daemon
