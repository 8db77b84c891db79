// SPDX-License-Identifier: LGPL-2.1-or-later
// Detached mount trees (the new mount API, Linux 5.12+): a copy of a tree is taken with
// open_tree(2), given attributes with mount_setattr(2) while it is attached nowhere (an
// id-mapped mount can only be made that way), and attached with move_mount(2), possibly by
// another process in another mount namespace that received its descriptor.
#pragma once

#include <string>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::host {

/// A copy of the mount at `path` (a directory or a file) and, with `recursive`, every mount
/// below it, attached nowhere yet. Changing the copy's attributes never touches the original.
/// Errors: `path` is missing or not reachable.
Result<UniqueFd> cloneMountTree(const std::string& path, bool recursive = true);

/// What setMountTreeAttributes applies to every mount of a detached tree.
struct MountTreeAttributes {
    /// A user namespace's descriptor, or -1: file owners are shown through its id maps, and
    /// files created through the mount are stored with the ids the maps lead back to (an
    /// id-mapped mount: root of that namespace reads and writes as the owner 0 of the disk).
    int idmapUserNs = -1;
    bool readonly = false;
};

/// Sets `attrs` on every mount of the detached tree `tree`. Errors: a file system of the tree
/// cannot be id-mapped (EINVAL), or the tree is attached already.
Result<void> setMountTreeAttributes(int tree, const MountTreeAttributes& attrs);

/// Attaches the detached tree `tree` over `target` (a directory, or a file for a tree whose root
/// is a file) in the caller's mount namespace.
Result<void> attachMountTree(int tree, const std::string& target);

}  // namespace corral::host
