// SPDX-License-Identifier: LGPL-2.1-or-later
// WorkerPool: a fixed set of threads running queued calls, so no driver call blocks the I/O thread.
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
    /// Starts `threads` workers named `name` (visible in top/ps as thread names).
    WorkerPool(std::string name, unsigned threads);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    /// Queues `job`; it runs on some worker in FIFO order. Never blocks.
    void submit(std::function<void()> job);
    /// Finishes queued jobs, then joins the workers.
    void stop();

private:
    void run();

    std::string name_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> jobs_;
    std::vector<std::thread> threads_;
    bool stopping_ = false;
};

}  // namespace corral::daemon
