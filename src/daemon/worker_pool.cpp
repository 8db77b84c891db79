// SPDX-License-Identifier: LGPL-2.1-or-later
// WorkerPool implementation.
#include "daemon/worker_pool.hpp"

#include <pthread.h>

namespace corral::daemon {

WorkerPool::WorkerPool(std::string name, unsigned threads) : name_(std::move(name)) {
    if (threads == 0) {
        threads = 1;
    }
    for (unsigned i = 0; i < threads; ++i) {
        threads_.emplace_back([this] { run(); });
        std::string threadName = (name_ + "-" + std::to_string(i)).substr(0, 15);
        pthread_setname_np(threads_.back().native_handle(), threadName.c_str());
    }
}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::submit(std::function<void()> job) {
    {
        std::lock_guard lock(mutex_);
        jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
}

void WorkerPool::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && threads_.empty()) {
            return;
        }
        stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) {
        if (t.joinable()) {
            t.join();
        }
    }
    threads_.clear();
}

void WorkerPool::run() {
    while (true) {
        std::function<void()> job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
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
