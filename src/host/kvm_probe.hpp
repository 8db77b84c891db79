// SPDX-License-Identifier: LGPL-2.1-or-later
// Whether this host can run KVM guests: /dev/kvm exists, answers KVM_GET_API_VERSION with the
// stable API (12) and lets us create a VM. Capabilities offer <domain type='kvm'> only then.
#pragma once

#include <chrono>
#include <string>

namespace corral::host {

/// What a probe of /dev/kvm saw, step by step. Errno values are 0 when the step succeeded or
/// was not reached.
struct KvmProbeFacts {
    bool deviceExists = false;
    int openErrno = 0;
    int apiVersion = -1;    ///< KVM_GET_API_VERSION's answer, -1 when not reached or failed
    int createVmErrno = 0;  ///< errno of KVM_CREATE_VM
    bool createVmDone = false;
    bool timedOut = false;  ///< the probe did not finish in time (nested KVM that hangs)
};

/// The verdict: `usable`, and when not, why (for the daemon's log and docs).
struct KvmVerdict {
    bool usable = false;
    std::string reason;
};

/// The decision alone, from recorded facts: usable only when the device opened, speaks API 12
/// and created a VM, all within the time limit.
KvmVerdict decideKvm(const KvmProbeFacts& facts);

/// Probes `device` (normally /dev/kvm) in a child process, which is killed after `timeout`: a
/// KVM_CREATE_VM that never returns (seen with broken nested KVM) must not hang the caller.
/// The VM created is closed with the child. Safe to call from a threaded process.
KvmProbeFacts probeKvm(const std::string& device = "/dev/kvm",
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace corral::host
