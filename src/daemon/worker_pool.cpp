// SPDX-License-Identifier: LGPL-2.1-or-later
// WorkerPool implementation.
#include "daemon/worker_pool.hpp"

#include <pthread.h>

#include <algorithm>
#include <system_error>

#include "util/logging.hpp"

namespace corral::daemon {

WorkerPool::WorkerPool(std::string name, unsigned minThreads, unsigned maxThreads)
    : name_(std::move(name)), maxThreads_(std::max({1u, minThreads, maxThreads})) {
    std::lock_guard lock(mutex_);
    for (unsigned i = 0; i < std::max(1u, minThreads); ++i) {
        spawnLocked();
    }
}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::spawnLocked() {
    threads_.emplace_back([this] { run(); });
    std::string threadName = (name_ + "-" + std::to_string(threads_.size() - 1)).substr(0, 15);
    pthread_setname_np(threads_.back().native_handle(), threadName.c_str());
}

void WorkerPool::submit(std::function<void()> job) {
    {
        std::lock_guard lock(mutex_);
        jobs_.push_back(std::move(job));
        // Every worker busy (or already claimed by a queued job): one more, if allowed.
        if (jobs_.size() > idle_ && threads_.size() < maxThreads_ && !stopping_) {
            try {
                spawnLocked();
            } catch (const std::system_error& e) {
                // Out of threads (a TasksMax limit, say): the job waits for the workers there are.
                logWarning(name_ + ": cannot start another worker: " + e.what());
            }
        }
    }
    wake_.notify_one();
}

std::size_t WorkerPool::threadCount() const {
    std::lock_guard lock(mutex_);
    return threads_.size();
}

void WorkerPool::stop() {
    std::vector<std::thread> threads;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        threads.swap(threads_);
    }
    wake_.notify_all();
    for (auto& t : threads) {
        if (t.joinable()) {
            t.join();
        }
    }
}

void WorkerPool::run() {
    while (true) {
        std::function<void()> job;
        {
            std::unique_lock lock(mutex_);
            ++idle_;
            wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            --idle_;
            if (jobs_.empty()) {
                return;  // stopping and drained
            }
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        job();
    }
}

}  // namespace corral::daemon
