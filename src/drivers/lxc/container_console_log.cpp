// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/lxc/container_console_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace corral::drivers::lxc {

namespace {
UniqueFd openForAppend(const std::string& path) {
    return UniqueFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
}
}  // namespace

Result<ConsoleLog> ConsoleLog::open(std::string path, std::size_t maxBytes) {
    UniqueFd fd = openForAppend(path);
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0) {
        return failErrno(errno, "cannot open the console log '" + path + "'");
    }
    return ConsoleLog(std::move(path), std::max<std::size_t>(maxBytes, 1), std::move(fd),
                      static_cast<std::size_t>(st.st_size));
}

bool ConsoleLog::rotate() {
    // rename() replaces the previous copy in one step; the new file starts empty.
    if (::rename(path_.c_str(), (path_ + ".0").c_str()) != 0) {
        return false;
    }
    UniqueFd fd = openForAppend(path_);
    if (!fd) {
        return false;
    }
    fd_ = std::move(fd);
    size_ = 0;
    return true;
}

void ConsoleLog::write(std::string_view data) {
    while (!data.empty()) {
        if (size_ >= maxBytes_ && !rotate()) {
            return;  // nowhere to put it within the bound: dropped
        }
        std::size_t room = maxBytes_ - size_;
        std::size_t take = std::min(room, data.size());
        ssize_t n = ::write(fd_.get(), data.data(), take);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;  // a full disk: the console goes on without its copy
        }
        size_ += static_cast<std::size_t>(n);
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

}  // namespace corral::drivers::lxc
