// SPDX-License-Identifier: LGPL-2.1-or-later
// sealedMemfd.
#include "host/sealed_memfd.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace corral::host {

Result<UniqueFd> sealedMemfd(const std::string& name, std::span<const std::uint8_t> bytes) {
    UniqueFd fd(::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd) {
        return failErrno(errno, "cannot create the memory file '" + name + "'");
    }
    // The mode first: a memfd starts 0777 (0666 without exec), which would let any process that
    // reaches /proc/PID/fd/N open it again.
    if (::fchmod(fd.get(), 0400) != 0) {
        return failErrno(errno, "cannot restrict the memory file '" + name + "'");
    }
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return failErrno(errno, "cannot write the memory file '" + name + "'");
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
        return failErrno(errno, "cannot seal the memory file '" + name + "'");
    }
    // A reader opening /proc/self/fd/N starts at offset 0 anyway; one reading the inherited
    // descriptor itself must too.
    if (::lseek(fd.get(), 0, SEEK_SET) != 0) {
        return failErrno(errno, "cannot rewind the memory file '" + name + "'");
    }
    return fd;
}

}  // namespace corral::host
