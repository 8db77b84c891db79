// SPDX-License-Identifier: LGPL-2.1-or-later
// The KVM decision: every way /dev/kvm can fail to run guests makes it unusable, and the probe
// reports what it saw on devices that are not KVM.
#include "host/kvm_probe.hpp"

#include <gtest/gtest.h>

namespace corral::host {
namespace {

KvmProbeFacts working() {
    KvmProbeFacts f;
    f.deviceExists = true;
    f.apiVersion = 12;
    f.createVmDone = true;
    return f;
}

TEST(KvmDecision, UsableOnlyWhenEveryStepWorked) {
    EXPECT_TRUE(decideKvm(working()).usable);

    KvmProbeFacts absent;
    EXPECT_FALSE(decideKvm(absent).usable);
    EXPECT_EQ(decideKvm(absent).reason, "/dev/kvm does not exist");

    auto denied = working();
    denied.openErrno = EACCES;
    EXPECT_FALSE(decideKvm(denied).usable);

    auto oldApi = working();
    oldApi.apiVersion = 11;
    EXPECT_FALSE(decideKvm(oldApi).usable);

    auto noVm = working();
    noVm.createVmErrno = ENODEV;  // nested KVM the outer hypervisor does not allow
    EXPECT_FALSE(decideKvm(noVm).usable);

    // A KVM_CREATE_VM that never answers (this project's CI host): the probe was killed.
    auto hung = working();
    hung.timedOut = true;
    hung.createVmDone = false;
    EXPECT_FALSE(decideKvm(hung).usable);
    EXPECT_NE(decideKvm(hung).reason.find("did not finish"), std::string::npos);
}

TEST(KvmProbe, MissingDeviceAndADeviceThatIsNotKvm) {
    auto missing = probeKvm("/nonexistent/kvm");
    EXPECT_FALSE(missing.deviceExists);
    EXPECT_FALSE(decideKvm(missing).usable);

    // /dev/null opens but knows no KVM ioctl: the API version step fails.
    auto null = probeKvm("/dev/null");
    EXPECT_TRUE(null.deviceExists);
    EXPECT_FALSE(null.timedOut);
    EXPECT_EQ(null.openErrno, 0);
    EXPECT_EQ(null.apiVersion, -1);
    EXPECT_FALSE(decideKvm(null).usable);
}

}  // namespace
}  // namespace corral::host
