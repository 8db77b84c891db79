// SPDX-License-Identifier: LGPL-2.1-or-later
// Block file systems for `fs` storage pools: what a device holds (libblkid), loop devices for
// image files (the kernel's loop interface), mount(2) and umount2(2), and the mount table as
// /proc/self/mountinfo tells it.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::host {

/// The file system type libblkid finds on `device` (a block device or an image file): "" when
/// it finds none. Errors: the device cannot be opened or probed, or holds a partition table
/// or RAID member (something, but no file system: never "empty").
Result<std::string> probeFileSystem(const std::string& device);

/// A loop device bound to an image file, with autoclear set: the kernel releases it when its
/// last user goes (the mount made over it is unmounted, or no mount happened and `fd` closes).
struct LoopDevice {
    std::string path;  ///< /dev/loopN
    UniqueFd fd;       ///< holds the device until the mount has taken it
};

/// Binds a free loop device to `imageFile` (LOOP_CTL_GET_FREE, LOOP_CONFIGURE).
Result<LoopDevice> attachLoopDevice(const std::string& imageFile);

/// The image file (its device and inode) behind loop device `rdev`; nullopt when it is not a
/// bound loop device.
struct LoopBacking {
    dev_t device = 0;
    ino_t inode = 0;
};
std::optional<LoopBacking> loopBackingOf(dev_t rdev);

/// One line of /proc/self/mountinfo.
struct MountEntry {
    dev_t device = 0;        ///< the file system's st_dev (major:minor)
    std::string mountPoint;  ///< unescaped
    std::string fsType;
    std::string source;
};
Result<std::vector<MountEntry>> readMountTable();

/// mount(2) of `device` (type `fsType`) over the directory open as `targetFd` (an O_PATH
/// descriptor: the mount lands on that directory even if its path is swapped meanwhile), with
/// nosuid and nodev always.
Result<void> mountBlockFileSystem(const std::string& device, const std::string& fsType, int targetFd,
                                  const std::string& targetPath);

/// umount2(2) of `target` without following a final symbolic link. EBUSY (a file still open in
/// it) is an error, never a lazy detach.
Result<void> unmountFileSystem(const std::string& target);

/// Runs mkfs -t `fsType` on `device`, forcing it over what it holds (the caller decided).
Result<void> makeFileSystem(const std::string& device, const std::string& fsType);

}  // namespace corral::host
