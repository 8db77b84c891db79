// SPDX-License-Identifier: LGPL-2.1-or-later
#include "util/files.hpp"

#include <sys/stat.h>

#include <cerrno>

namespace corral {

Result<void> makeDirectories(const std::string& path, mode_t mode) {
    for (std::size_t pos = 1; pos <= path.size(); ++pos) {
        if (pos != path.size() && path[pos] != '/') {
            continue;
        }
        std::string part = path.substr(0, pos);
        if (::mkdir(part.c_str(), mode) != 0 && errno != EEXIST) {
            return failErrno(errno, "cannot create directory '" + part + "'");
        }
    }
    return {};
}

}  // namespace corral
