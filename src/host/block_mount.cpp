// SPDX-License-Identifier: LGPL-2.1-or-later
// Block file systems: libblkid probes, loop devices, mount(2), the mount table.
#include "host/block_mount.hpp"

#include <blkid/blkid.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "util/files.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

namespace corral::host {

namespace {

Unexpected storageErrno(int err, std::string message) {
    Error e = failErrno(err, std::move(message)).error;
    e.domain = ErrorDomain::Storage;
    return unexpected(std::move(e));
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescapeMountField(std::string_view field) {
    std::string out;
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size()) {
            const std::string_view oct = field.substr(i + 1, 3);
            if (oct.size() == 3 && oct.find_first_not_of("01234567") == std::string_view::npos) {
                out += static_cast<char>(((oct[0] - '0') << 6) | ((oct[1] - '0') << 3) | (oct[2] - '0'));
                i += 3;
                continue;
            }
        }
        out += field[i];
    }
    return out;
}

}  // namespace

Result<std::string> probeFileSystem(const std::string& device) {
    blkid_probe probe = blkid_new_probe_from_filename(device.c_str());
    if (probe == nullptr) {
        return storageErrno(errno != 0 ? errno : EIO, "cannot probe device '" + device + "'");
    }
    blkid_probe_enable_superblocks(probe, 1);
    blkid_probe_set_superblocks_flags(probe, BLKID_SUBLKS_TYPE);
    blkid_probe_enable_partitions(probe, 1);
    const int rc = blkid_do_fullprobe(probe);
    std::string type;
    std::string table;
    if (rc == 0) {
        const char* value = nullptr;
        if (blkid_probe_lookup_value(probe, "TYPE", &value, nullptr) == 0 && value != nullptr) {
            type = value;
        } else if (blkid_probe_lookup_value(probe, "PTTYPE", &value, nullptr) == 0 && value != nullptr) {
            table = value;
        }
    }
    blkid_free_probe(probe);
    if (rc < 0) {
        return fail(ErrorCode::OperationFailed, "cannot probe device '" + device + "' for a file system",
                    ErrorDomain::Storage);
    }
    if (!table.empty()) {
        // Never "empty": a partition table says the device is in use.
        return fail(ErrorCode::OperationInvalid,
                    "device '" + device + "' holds a partition table ('" + table + "'), not a file system",
                    ErrorDomain::Storage);
    }
    return type;
}

Result<LoopDevice> attachLoopDevice(const std::string& imageFile) {
    UniqueFd file(::open(imageFile.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
    if (!file) {
        return storageErrno(errno, "cannot open image file '" + imageFile + "'");
    }
    UniqueFd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
    if (!control) {
        return storageErrno(errno, "cannot open '/dev/loop-control'");
    }
    // Another process may take the free device between GET_FREE and CONFIGURE (EBUSY): ask again.
    for (int attempt = 0; attempt < 16; ++attempt) {
        const int number = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
        if (number < 0) {
            return storageErrno(errno, "cannot get a free loop device");
        }
        LoopDevice loop;
        loop.path = "/dev/loop" + std::to_string(number);
        loop.fd = UniqueFd(::open(loop.path.c_str(), O_RDWR | O_CLOEXEC));
        if (!loop.fd) {
            return storageErrno(errno, "cannot open loop device '" + loop.path + "'");
        }
        loop_config config{};
        config.fd = static_cast<__u32>(file.get());
        config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
        std::strncpy(reinterpret_cast<char*>(config.info.lo_file_name), imageFile.c_str(), LO_NAME_SIZE - 1);
        if (::ioctl(loop.fd.get(), LOOP_CONFIGURE, &config) == 0) {
            return loop;
        }
        if (errno != EBUSY) {
            return storageErrno(errno, "cannot bind '" + imageFile + "' to loop device '" + loop.path + "'");
        }
    }
    return fail(ErrorCode::OperationFailed, "no free loop device for '" + imageFile + "'", ErrorDomain::Storage);
}

std::optional<LoopBacking> loopBackingOf(dev_t rdev) {
    // The device node's name comes from sysfs (DEVNAME), not from a guess at /dev/loopN.
    const std::string sys = "/sys/dev/block/" + std::to_string(major(rdev)) + ":" + std::to_string(minor(rdev));
    auto uevent = readTextFile(sys + "/uevent");
    if (!uevent) {
        return std::nullopt;
    }
    std::string devName;
    std::istringstream lines(*uevent);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("DEVNAME=", 0) == 0) {
            devName = line.substr(8);
        }
    }
    if (devName.empty() || devName.find('/') != std::string::npos || devName.rfind("loop", 0) != 0) {
        return std::nullopt;
    }
    UniqueFd fd(::open(("/dev/" + devName).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISBLK(st.st_mode) || st.st_rdev != rdev) {
        return std::nullopt;
    }
    loop_info64 info{};
    if (::ioctl(fd.get(), LOOP_GET_STATUS64, &info) != 0) {
        return std::nullopt;  // ENXIO: not bound
    }
    // lo_device is the kernel's new_encode_dev; decode it to major/minor before comparing.
    const auto enc = static_cast<unsigned>(info.lo_device);
    const unsigned maj = (enc & 0xfff00) >> 8;
    const unsigned min = (enc & 0xff) | ((enc >> 12) & 0xfff00);
    return LoopBacking{makedev(maj, min), static_cast<ino_t>(info.lo_inode)};
}

Result<std::vector<MountEntry>> readMountTable() {
    CORRAL_ASSIGN_OR_RETURN(std::string text, readTextFile("/proc/self/mountinfo"));
    std::vector<MountEntry> out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        // id parent major:minor root mountpoint options [optional...] - fstype source superopts
        std::istringstream fields(line);
        std::string id, parent, majmin, root, point;
        fields >> id >> parent >> majmin >> root >> point;
        std::string field;
        while (fields >> field && field != "-") {
        }
        MountEntry entry;
        fields >> entry.fsType >> entry.source;
        unsigned maj = 0, min = 0;
        if (std::sscanf(majmin.c_str(), "%u:%u", &maj, &min) != 2) {
            continue;
        }
        entry.device = makedev(maj, min);
        entry.mountPoint = unescapeMountField(point);
        entry.source = unescapeMountField(entry.source);
        out.push_back(std::move(entry));
    }
    return out;
}

Result<void> mountBlockFileSystem(const std::string& device, const std::string& fsType, int targetFd,
                                  const std::string& targetPath) {
    // The magic link /proc/self/fd/N resolves to the very directory the descriptor holds.
    const std::string through = "/proc/self/fd/" + std::to_string(targetFd);
    if (::mount(device.c_str(), through.c_str(), fsType.c_str(), MS_NOSUID | MS_NODEV, nullptr) != 0) {
        return storageErrno(errno, "cannot mount '" + device + "' (" + fsType + ") on '" + targetPath + "'");
    }
    return {};
}

Result<void> unmountFileSystem(const std::string& target) {
    if (::umount2(target.c_str(), UMOUNT_NOFOLLOW) != 0) {
        return storageErrno(errno, "cannot unmount '" + target + "'");
    }
    return {};
}

Result<void> makeFileSystem(const std::string& device, const std::string& fsType) {
    std::vector<std::string> argv = {"mkfs", "-t", fsType};
    // Each mkfs asks before it writes over something unless forced; the caller has decided.
    if (fsType == "xfs") {
        argv.emplace_back("-f");
    } else if (fsType == "ext2" || fsType == "ext3" || fsType == "ext4") {
        argv.emplace_back("-F");
    }
    argv.push_back(device);
    CORRAL_ASSIGN_OR_RETURN(CommandResult r, runCommand(argv));
    if (r.exitStatus != 0) {
        return fail(ErrorCode::OperationFailed,
                    "cannot make a '" + fsType + "' file system on '" + device + "': " +
                        std::string(trimString(r.output)),
                    ErrorDomain::Storage);
    }
    return {};
}

}  // namespace corral::host
