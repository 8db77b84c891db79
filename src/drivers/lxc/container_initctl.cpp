// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/lxc/container_initctl.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "util/unique_fd.hpp"

namespace corral::drivers::lxc {

namespace {

/// sysvinit's request record (initreq.h): 384 bytes, the fields in host byte order.
struct InitRequest {
    std::int32_t magic;
    std::int32_t command;
    std::int32_t runlevel;
    std::int32_t sleepTime;
    char data[368];
};
static_assert(sizeof(InitRequest) == 384);
constexpr std::int32_t kInitMagic = 0x03091969;
constexpr std::int32_t kCommandRunlevel = 1;

}  // namespace

Result<bool> requestRunlevel(pid_t init, char runlevel) {
    std::string rootPath = "/proc/" + std::to_string(init) + "/root";
    UniqueFd root(::open(rootPath.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) {
        return failErrno(errno, "cannot reach the root of the container's init (pid " + std::to_string(init) + ")");
    }
    // The container owns these paths: a symlink there must resolve inside its root, never
    // against the daemon's (RESOLVE_IN_ROOT), or a container could make us write host files.
    // Found without opening (O_PATH): a device node the container put there must not be opened
    // by the daemon, outside the container's device list. Only a FIFO is then opened for writing.
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    for (const char* fifo : {"run/initctl", "dev/initctl"}) {
        UniqueFd path(static_cast<int>(::syscall(SYS_openat2, root.get(), fifo, &how, sizeof how)));
        struct stat st {};
        if (!path || ::fstat(path.get(), &st) != 0 || !S_ISFIFO(st.st_mode)) {
            continue;
        }
        std::string reopen = "/proc/self/fd/" + std::to_string(path.get());
        UniqueFd fd(::open(reopen.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
        if (!fd) {
            continue;  // a FIFO nobody reads (ENXIO)
        }
        InitRequest request{};
        request.magic = kInitMagic;
        request.command = kCommandRunlevel;
        request.runlevel = runlevel;
        ssize_t n = ::write(fd.get(), &request, sizeof request);
        if (n == static_cast<ssize_t>(sizeof request)) {
            return true;
        }
        return failErrno(n < 0 ? errno : EIO, std::string("cannot write to the container's /") + fifo);
    }
    return false;
}

}  // namespace corral::drivers::lxc
