// SPDX-License-Identifier: LGPL-2.1-or-later
// sealedMemfd: the bytes read back through /proc/self/fd (as QEMU reads its secret), mode 0400,
// and every seal in place (nothing can change what the child reads, nor lift the seals).
#include "host/sealed_memfd.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace corral::host {
namespace {

TEST(SealedMemfd, HoldsTheBytesSealedAndOwnerReadOnly) {
    const std::string value("pass\0phrase\n", 12);
    auto fd = sealedMemfd("corral-secret-test", {reinterpret_cast<const std::uint8_t*>(value.data()), value.size()});
    ASSERT_TRUE(fd.has_value()) << fd.error().message;

    std::ifstream in("/proc/self/fd/" + std::to_string(fd->get()), std::ios::binary);
    std::stringstream read;
    read << in.rdbuf();
    EXPECT_EQ(read.str(), value);

    struct stat st {};
    ASSERT_EQ(::fstat(fd->get(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0400u);
    EXPECT_EQ(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);  // only where it is passed on

    const int seals = ::fcntl(fd->get(), F_GET_SEALS);
    for (int seal : {F_SEAL_WRITE, F_SEAL_GROW, F_SEAL_SHRINK, F_SEAL_SEAL}) {
        EXPECT_EQ(seals & seal, seal) << seal;
    }
    // An attacker holding the descriptor (it is opened read-write) still cannot change it.
    EXPECT_EQ(::pwrite(fd->get(), "x", 1, 0), -1);
    EXPECT_EQ(::ftruncate(fd->get(), 0), -1);
    EXPECT_EQ(::fcntl(fd->get(), F_ADD_SEALS, 0), -1);
}

}  // namespace
}  // namespace corral::host
