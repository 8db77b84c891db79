// SPDX-License-Identifier: LGPL-2.1-or-later
// /dev/kvm probe in a child process with a deadline.
#include "host/kvm_probe.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "util/process.hpp"
#include "util/unique_fd.hpp"

namespace corral::host {

namespace {

/// KVM_GET_API_VERSION has answered 12 since Linux 2.6.22; anything else is not the API QEMU
/// speaks.
constexpr int kKvmStableApi = 12;

/// What the child writes back: three ints (open errno, api version, create-vm errno).
struct ChildReport {
    int openErrno = 0;
    int apiVersion = -1;
    int createVmErrno = 0;
};

/// Runs in the child: only system calls, no allocation (the parent may be threaded).
[[noreturn]] void probeInChild(const char* device, int reportFd) {
    ChildReport r;
    int fd = ::open(device, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        r.openErrno = errno;
    } else {
        r.apiVersion = ::ioctl(fd, KVM_GET_API_VERSION, 0);
        if (r.apiVersion == kKvmStableApi) {
            int vm = ::ioctl(fd, KVM_CREATE_VM, 0);
            r.createVmErrno = vm < 0 ? errno : 0;
        }
    }
    ssize_t n = ::write(reportFd, &r, sizeof r);
    ::_exit(n == static_cast<ssize_t>(sizeof r) ? 0 : 1);
}

}  // namespace

KvmVerdict decideKvm(const KvmProbeFacts& f) {
    if (!f.deviceExists) {
        return {false, "/dev/kvm does not exist"};
    }
    if (f.timedOut) {
        return {false, "the KVM probe did not finish in time (KVM_CREATE_VM hangs)"};
    }
    if (f.openErrno != 0) {
        return {false, std::string("cannot open /dev/kvm: ") + std::strerror(f.openErrno)};
    }
    if (f.apiVersion != kKvmStableApi) {
        return {false, "KVM_GET_API_VERSION answered " + std::to_string(f.apiVersion) + ", not " +
                           std::to_string(kKvmStableApi)};
    }
    if (!f.createVmDone || f.createVmErrno != 0) {
        return {false, std::string("KVM_CREATE_VM failed: ") +
                           (f.createVmErrno != 0 ? std::strerror(f.createVmErrno) : "no answer")};
    }
    return {true, ""};
}

KvmProbeFacts probeKvm(const std::string& device, std::chrono::milliseconds timeout) {
    KvmProbeFacts facts;
    struct stat st {};
    facts.deviceExists = ::stat(device.c_str(), &st) == 0 && S_ISCHR(st.st_mode);
    if (!facts.deviceExists) {
        return facts;
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        facts.openErrno = errno;
        return facts;
    }
    UniqueFd readEnd(fds[0]);
    UniqueFd writeEnd(fds[1]);
    pid_t pid = ::fork();
    if (pid < 0) {
        facts.openErrno = errno;
        return facts;
    }
    if (pid == 0) {
        probeInChild(device.c_str(), writeEnd.get());
    }
    writeEnd.reset();
    auto pidFd = openPidFd(pid);
    bool exited = pidFd && waitPidFd(pidFd->get(), timeout);
    if (!exited) {
        ::kill(pid, SIGKILL);
        facts.timedOut = true;
        // A child stuck in an uninterruptible ioctl dies only when the kernel lets it: a thread
        // of its own reaps it then, so nobody waits here and no zombie stays behind.
        std::thread([pid] { ::waitpid(pid, nullptr, 0); }).detach();
        return facts;
    }
    reapChild(pid);
    ChildReport r;
    if (::read(readEnd.get(), &r, sizeof r) != static_cast<ssize_t>(sizeof r)) {
        facts.timedOut = true;  // the child died before it could answer
        return facts;
    }
    facts.openErrno = r.openErrno;
    facts.apiVersion = r.apiVersion;
    facts.createVmErrno = r.createVmErrno;
    facts.createVmDone = r.apiVersion == kKvmStableApi;
    return facts;
}

}  // namespace corral::host
