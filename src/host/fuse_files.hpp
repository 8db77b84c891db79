// SPDX-License-Identifier: LGPL-2.1-or-later
// A read-only FUSE file system of a few generated files (a container's /proc/meminfo, /proc/uptime),
// spoken over /dev/fuse with the kernel's own protocol, so no libfuse and no extra thread: the
// owner polls fd() and calls handleRequest() when it is readable.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::host {

/// One file in the root directory of the mount.
struct FuseFile {
    std::string name;  ///< a plain name, no '/'
    mode_t mode = 0444;  ///< permission bits; the mount is read-only whatever they say
    /// Called once per open(2) of the file; the reader sees that text until it closes the file,
    /// so a reader that reads in pieces never sees two generations mixed. A failure makes the
    /// open fail with EIO (the callback is where to log it: this class reports nothing).
    std::function<Result<std::string>()> content;
};

/// What one handleRequest() call did.
enum class FuseEvent {
    Handled,    ///< one request was read and answered (or needed no answer)
    NoRequest,  ///< nothing to read after all (a spurious wake-up, an interrupted read)
    Unmounted,  ///< the mount is gone (unmounted by anyone, or aborted): stop polling
};

/// A mounted FUSE file system; owns the /dev/fuse descriptor and the mount.
/// Not thread-safe: one thread polls fd() and calls handleRequest(). That thread (and the whole
/// process, if it is single-threaded) must never access the mount itself: the kernel would wait
/// for an answer only that thread can give.
class FuseFiles {
public:
    /// Files open at once through the mount: each holds the text generated at its open, so a
    /// reader that opens and never closes would otherwise grow the server without bound. Past
    /// it an open fails with ENFILE (the file table is full) until one is closed.
    static constexpr std::size_t kMaxOpenFiles = 1024;

    /// Opens /dev/fuse (non-blocking, close-on-exec) and mounts it read-only, nosuid, nodev,
    /// noexec on `directory`, which must exist, as fstype "fuse" with allow_other and
    /// default_permissions (the kernel checks the modes; any user of the mount, including a
    /// container's, may read). Needs CAP_SYS_ADMIN in the mount's user namespace. The kernel's
    /// INIT request arrives at once and is answered by the first handleRequest(); any access to
    /// the mount waits until then. Errors: /dev/fuse missing (OperationUnsupported), mount(2)
    /// refused (SystemError naming the directory).
    static Result<std::unique_ptr<FuseFiles>> mount(const std::string& directory, std::vector<FuseFile> files);

    /// Serves requests read from `connection` instead of a mount, for the fuzz target and tests:
    /// one end of a SOCK_SEQPACKET pair gives one request per read, as /dev/fuse does, and
    /// takes each reply in one write. unmount() does nothing.
    static std::unique_ptr<FuseFiles> serve(UniqueFd connection, std::vector<FuseFile> files);

    FuseFiles(const FuseFiles&) = delete;
    FuseFiles& operator=(const FuseFiles&) = delete;
    /// Unmounts (if still mounted) and closes the descriptor.
    ~FuseFiles();

    /// The descriptor to poll for POLLIN. POLLERR also means "call handleRequest()": that is how
    /// the kernel says the mount is gone.
    [[nodiscard]] int fd() const { return fd_.get(); }
    [[nodiscard]] const std::string& directory() const { return directory_; }

    /// Reads at most one request and answers it. Never blocks. Errors: a read or write on
    /// /dev/fuse failed for another reason than the ones FuseEvent names (SystemError), or the
    /// kernel sent a request shorter than its header says (InternalError).
    Result<FuseEvent> handleRequest();

    /// Detaches the mount (umount2 MNT_DETACH): new accesses fail at once; files still open keep
    /// it alive until closed, and handleRequest() keeps answering them until it reports
    /// Unmounted. Safe to call twice. Errors: umount2 refused (SystemError naming the directory).
    Result<void> unmount();

private:
    FuseFiles(UniqueFd fd, std::string directory, std::vector<FuseFile> files, bool mounted);

    void dispatch(std::uint32_t opcode, std::uint64_t unique, std::uint64_t nodeid, const char* arg,
                  std::size_t argSize);
    void reply(std::uint64_t unique, const void* data, std::size_t size);
    void replyError(std::uint64_t unique, int err);

    /// The file of a node id (2..N+1), or nullptr for the root and unknown ids.
    [[nodiscard]] const FuseFile* fileOf(std::uint64_t nodeid) const;

    UniqueFd fd_;
    std::string directory_;
    std::vector<FuseFile> files_;
    std::uint64_t born_;  ///< the time every node reports (seconds since the epoch)
    bool mounted_;
    std::vector<char> buffer_;  ///< one request; sized as the kernel demands of a reader
    std::map<std::uint64_t, std::string> open_;  ///< file handle -> the content generated at open
    std::uint64_t nextHandle_ = 1;
    /// The first write failure (other than ENOENT: the request was interrupted); handleRequest
    /// returns it.
    int replyErrno_ = 0;
};

}  // namespace corral::host
