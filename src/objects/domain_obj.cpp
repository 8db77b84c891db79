// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainObj job slot.
#include "objects/domain_obj.hpp"

namespace corral::objects {

Result<void> DomainObj::beginJob(std::unique_lock<std::mutex>& lock, std::string what,
                                 std::chrono::milliseconds timeout) {
    CORRAL_CHECK(lock.owns_lock() && lock.mutex() == &mutex_);
    ++jobWaiters_;
    const bool free = jobDone_.wait_for(lock, timeout, [this] { return job_.empty(); });
    --jobWaiters_;
    if (!free) {
        return fail(ErrorCode::OperationTimeout,
                    "domain '" + name_ + "' is busy with '" + job_ + "'", ErrorDomain::Domain);
    }
    if (removed) {
        return fail(ErrorCode::NoDomain, "no domain with matching uuid '" + uuid_.toString() + "' (" +
                                             name_ + ")",
                    ErrorDomain::Domain);
    }
    job_ = std::move(what);
    return {};
}

void DomainObj::endJob() {
    job_.clear();
    jobDone_.notify_all();
}

}  // namespace corral::objects
