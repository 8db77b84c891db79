// SPDX-License-Identifier: LGPL-2.1-or-later
#include "host/mount_tree.hpp"

#include <fcntl.h>
#include <sys/mount.h>

#include <cerrno>

namespace corral::host {

Result<UniqueFd> cloneMountTree(const std::string& path, bool recursive) {
    UniqueFd tree(::open_tree(AT_FDCWD, path.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0)));
    if (!tree) {
        return failErrno(errno, "cannot copy the mounts at '" + path + "'");
    }
    return tree;
}

Result<void> setMountTreeAttributes(int tree, const MountTreeAttributes& attrs) {
    mount_attr attr{};
    if (attrs.readonly) {
        attr.attr_set |= MOUNT_ATTR_RDONLY;
    }
    if (attrs.idmapUserNs >= 0) {
        attr.attr_set |= MOUNT_ATTR_IDMAP;
        attr.userns_fd = static_cast<std::uint64_t>(attrs.idmapUserNs);
    }
    if (attr.attr_set == 0) {
        return {};
    }
    if (::mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) {
        int err = errno;
        if (attrs.idmapUserNs >= 0 && err == EINVAL) {
            return fail(ErrorCode::OperationUnsupported,
                        "its file system (or one mounted below it) does not support id-mapped mounts");
        }
        return failErrno(err, attrs.idmapUserNs >= 0 ? "cannot id-map the mounts" : "cannot make the mounts read-only");
    }
    return {};
}

Result<void> attachMountTree(int tree, const std::string& target) {
    if (::move_mount(tree, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
        return failErrno(errno, "cannot mount on '" + target + "'");
    }
    return {};
}

}  // namespace corral::host
