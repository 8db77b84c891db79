// SPDX-License-Identifier: LGPL-2.1-or-later
// Unix stream sockets by path: the daemon's own sockets, the client's, QEMU's monitor.
#pragma once

#include <sys/un.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral {

/// The address of `path`; an error naming the path when it does not fit in sun_path.
Result<sockaddr_un> unixSocketAddress(const std::string& path);

/// A blocking, close-on-exec connection to the socket at `path`. The error carries libvirt's
/// wording ("Failed to connect socket to 'PATH': REASON") so clients read the same text.
Result<UniqueFd> connectUnixSocket(const std::string& path);

/// A close-on-exec socket listening at `path` (an old socket file there is replaced), with the
/// file's permissions set to `mode`. Errors name the path.
Result<UniqueFd> listenUnixSocket(const std::string& path, mode_t mode);

/// sendmsg() of `bytes` with `fd` attached (SCM_RIGHTS); EINTR retried. As sendmsg(2): bytes
/// sent or -1 with errno. `flags` adds to MSG_NOSIGNAL (MSG_DONTWAIT).
ssize_t sendWithDescriptor(int socket, std::span<const char> bytes, int fd, int flags = 0);

/// Sends `fd` as libvirt does: one sendmsg() carrying a single '\0' byte and the descriptor
/// (SCM_RIGHTS). Returns false with errno EAGAIN when the socket is full (nothing was sent).
Result<bool> sendDescriptor(int socket, int fd);

/// recv() that also accepts descriptors sent with SCM_RIGHTS (close-on-exec), appending them to
/// `fds`. Returns bytes read (0 = end of file) or -1 with errno set, as recv() does.
ssize_t receiveWithDescriptors(int socket, std::span<std::uint8_t> buffer, std::vector<UniqueFd>& fds);

}  // namespace corral
