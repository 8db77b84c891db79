// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainObj: one domain known to a driver, its definitions, runtime state and job slot.
//
// Locking (docs/internals/locking.md): `mutex()` guards every field below except the summary
// atomics, which list() reads without locking. Never hold the mutex across a hypervisor call or
// a sleep: take a job (beginJob) to mutate, drop the lock around slow work, re-check state after
// re-locking. Every call that changes the domain's lifecycle or definitions takes the job,
// define and undefine included, so none of them can act while another has dropped the lock.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "objects/domain_state.hpp"
#include "util/result.hpp"
#include "util/uuid.hpp"

namespace corral::conf {
struct DomainDef;
}

namespace corral::objects {

class DomainObj {
public:
    DomainObj(Uuid uuid, std::string name) : uuid_(uuid), name_(std::move(name)) {}

    // Identity: immutable for the object's lifetime.
    [[nodiscard]] const Uuid& uuid() const { return uuid_; }
    [[nodiscard]] const std::string& name() const { return name_; }

    std::mutex& mutex() const { return mutex_; }

    /// Waits (with `lock` held on mutex()) until no other modifying job runs, then claims the
    /// slot for `what`. Fails with OperationTimeout naming the job in the way after `timeout`.
    Result<void> beginJob(std::unique_lock<std::mutex>& lock, std::string what,
                          std::chrono::milliseconds timeout = kJobWaitTimeout);
    /// Releases the job slot; call with the mutex held.
    void endJob();
    [[nodiscard]] bool hasJob() const { return !job_.empty(); }
    /// How many calls wait in beginJob now (readable without the mutex): what a test of the
    /// job rules waits on to know a call is queued behind the job in flight.
    [[nodiscard]] int callsWaitingForJob() const { return jobWaiters_.load(); }

    // Summary readable without the mutex (list, lookups). Written with the mutex held.
    [[nodiscard]] DomainState state() const { return state_.load(); }
    [[nodiscard]] int reason() const { return reason_.load(); }
    [[nodiscard]] int id() const { return id_.load(); }
    [[nodiscard]] bool isActive() const { return id_.load() >= 0; }
    [[nodiscard]] bool persistent() const { return persistent_.load(); }
    [[nodiscard]] bool autostart() const { return autostart_.load(); }
    [[nodiscard]] bool hasManagedSave() const { return managedSave_.load(); }

    void setState(DomainState s, int reason) {
        state_ = s;
        reason_ = reason;
    }
    void setId(int id) { id_ = id; }
    void setPersistent(bool p) { persistent_ = p; }
    void setAutostart(bool a) { autostart_ = a; }
    void setManagedSave(bool m) { managedSave_ = m; }

    /// The definition in force: the live one while running, the persistent one otherwise.
    std::shared_ptr<conf::DomainDef> def;
    /// While running, a persistent definition redefined since start (libvirt's newDef); applied
    /// when the domain stops.
    std::shared_ptr<conf::DomainDef> newDef;
    /// Driver-private runtime data (pid, sockets...).
    std::shared_ptr<void> privateData;
    /// When the domain was started (for CPU time in drivers that do not measure it).
    std::chrono::steady_clock::time_point startedAt{};
    /// Set, with the mutex held, when the domain leaves the registry (undefined, or a transient
    /// one stopped): a call still holding the object then fails to take its job.
    bool removed = false;

    static constexpr std::chrono::milliseconds kJobWaitTimeout{30000};

private:
    const Uuid uuid_;
    const std::string name_;
    mutable std::mutex mutex_;
    std::condition_variable jobDone_;
    std::string job_;
    std::atomic<int> jobWaiters_{0};

    std::atomic<DomainState> state_{DomainState::Shutoff};
    std::atomic<int> reason_{0};
    std::atomic<int> id_{-1};
    std::atomic<bool> persistent_{false};
    std::atomic<bool> autostart_{false};
    std::atomic<bool> managedSave_{false};
};

/// Ends the job taken with beginJob when it goes out of scope; the domain's mutex must be
/// held by then (as endJob asks).
class JobGuard {
public:
    explicit JobGuard(DomainObj& dom) : dom_(dom) {}
    ~JobGuard() { dom_.endJob(); }
    JobGuard(const JobGuard&) = delete;
    JobGuard& operator=(const JobGuard&) = delete;

private:
    DomainObj& dom_;
};

using DomainObjPtr = std::shared_ptr<DomainObj>;

}  // namespace corral::objects
