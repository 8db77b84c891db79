// SPDX-License-Identifier: LGPL-2.1-or-later
// stageTlsCredentials, handTlsCredentials, removeTlsCredentials.
#include "drivers/qemu/qemu_graphics_tls.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "drivers/qemu/qemu_config.hpp"
#include "util/files.hpp"

namespace corral::drivers::qemu {

namespace {
/// Optional files QEMU's tls-creds-x509 uses where they exist.
const char* const kOptional[] = {"ca-crl.pem", "dh-params.pem"};

Result<void> copyInto(const std::string& from, int dirFd, const char* name) {
    CORRAL_ASSIGN_OR_RETURN(std::string content, readTextFile(from));
    UniqueFd out(::openat(dirFd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400));
    if (!out) {
        return failErrno(errno, std::string("cannot create the guest's copy of '") + name + "'");
    }
    std::size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(out.get(), content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return failErrno(errno, std::string("cannot write the guest's copy of '") + name + "'");
        }
        done += static_cast<std::size_t>(n);
    }
    return {};
}
}  // namespace

Result<UniqueFd> stageTlsCredentials(const std::string& sourceDir, const std::string& stageDir,
                                     std::string_view setting) {
    removeTlsCredentials(stageDir);  // a copy a crashed daemon left, possibly another guest's owner
    if (::mkdir(stageDir.c_str(), 0711) != 0) {
        return failErrno(errno, "cannot create '" + stageDir + "'");
    }
    UniqueFd dir(::open(stageDir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) {
        return failErrno(errno, "cannot open '" + stageDir + "'");
    }
    for (const auto& name : serverTlsFiles()) {
        const std::string from = sourceDir + "/" + name;
        if (auto copied = copyInto(from, dir.get(), name.c_str()); !copied) {
            removeTlsCredentials(stageDir);
            return unexpected(std::move(copied).withContext(std::string(setting) + ": '" + from + "'").error());
        }
    }
    for (const char* name : kOptional) {
        const std::string from = sourceDir + "/" + name;
        if (::access(from.c_str(), F_OK) == 0) {
            if (auto copied = copyInto(from, dir.get(), name); !copied) {
                removeTlsCredentials(stageDir);
                return unexpected(std::move(copied).withContext(std::string(setting) + ": '" + from + "'").error());
            }
        }
    }
    return dir;
}

Result<void> handTlsCredentials(const std::string& stageDir, uid_t uid, gid_t gid) {
    UniqueFd dir(::open(stageDir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) {
        return failErrno(errno, "cannot open '" + stageDir + "'");
    }
    std::vector<std::string> names = serverTlsFiles();
    names.insert(names.end(), std::begin(kOptional), std::end(kOptional));
    for (const auto& name : names) {
        if (::fchownat(dir.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0 && errno != ENOENT) {
            return failErrno(errno, "cannot give '" + stageDir + "/" + name + "' to the guest");
        }
    }
    return {};
}

void removeTlsCredentials(const std::string& stageDir) {
    if (DIR* d = ::opendir(stageDir.c_str())) {
        while (const dirent* e = ::readdir(d)) {
            std::string name = e->d_name;
            if (name != "." && name != "..") {
                ::unlinkat(::dirfd(d), name.c_str(), 0);
            }
        }
        ::closedir(d);
    }
    ::rmdir(stageDir.c_str());
}

}  // namespace corral::drivers::qemu
