// SPDX-License-Identifier: LGPL-2.1-or-later
// ConsoleLog: where a container's controller copies its console, bounded. A container writes
// to its console as fast as it likes; the copy must not take the host's disk with it. As
// virtlogd does for libvirt's guests, the file is rotated when it would pass its size: the full
// one becomes PATH.0 (replacing the previous copy) and writing goes on in a new PATH, so at
// most twice the size is kept, and the newest output is always there.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::drivers::lxc {

class ConsoleLog {
public:
    /// What a console log holds before it is rotated (virtlogd's max_size is 2 MiB).
    static constexpr std::size_t kDefaultMaxBytes = 2u << 20;

    /// Opens (or creates, mode 0600) `path` for appending.
    static Result<ConsoleLog> open(std::string path, std::size_t maxBytes = kDefaultMaxBytes);

    /// Appends `data`, rotating first when it would take the file past its size. A failure to
    /// rotate (the directory went away) keeps the file and drops what would not fit: the bound
    /// holds whatever happens.
    void write(std::string_view data);

    [[nodiscard]] int fd() const { return fd_.get(); }

private:
    ConsoleLog(std::string path, std::size_t maxBytes, UniqueFd fd, std::size_t size)
        : path_(std::move(path)), maxBytes_(maxBytes), fd_(std::move(fd)), size_(size) {}
    bool rotate();

    std::string path_;
    std::size_t maxBytes_;
    UniqueFd fd_;
    std::size_t size_;
};

}  // namespace corral::drivers::lxc
