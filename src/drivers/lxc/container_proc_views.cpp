// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/lxc/container_proc_views.hpp"

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "drivers/lxc/container_meminfo.hpp"
#include "util/files.hpp"
#include "util/strings.hpp"

namespace corral::drivers::lxc {

namespace {

/// A cgroup number file: nullopt for "max" (v2's unlimited) or a missing file.
std::optional<std::uint64_t> readNumber(const std::string& path) {
    auto text = readTextFile(path);
    if (!text) {
        return std::nullopt;
    }
    auto value = parseUnsigned(trimString(*text));
    return value ? std::optional<std::uint64_t>(*value) : std::nullopt;
}

Result<ContainerMemory> readContainerMemory(const std::string& dir, bool v2) {
    ContainerMemory m;
    CORRAL_ASSIGN_OR_RETURN(m.stat, readTextFile(dir + "/memory.stat"));
    if (v2) {
        m.limitBytes = readNumber(dir + "/memory.max");
        m.usageBytes = readNumber(dir + "/memory.current").value_or(0);
        auto swapMax = readNumber(dir + "/memory.swap.max");
        auto swapNow = readNumber(dir + "/memory.swap.current");
        if (m.limitBytes && swapMax) {
            m.memswLimitBytes = *m.limitBytes + *swapMax;
        }
        if (swapNow) {
            m.memswUsageBytes = m.usageBytes + *swapNow;
        }
    } else {
        m.limitBytes = readNumber(dir + "/memory.limit_in_bytes");
        m.usageBytes = readNumber(dir + "/memory.usage_in_bytes").value_or(0);
        m.memswLimitBytes = readNumber(dir + "/memory.memsw.limit_in_bytes");
        m.memswUsageBytes = readNumber(dir + "/memory.memsw.usage_in_bytes");
    }
    return m;
}

}  // namespace

Result<std::unique_ptr<host::FuseFiles>> mountProcViews(const ContainerPlan& plan, const std::atomic<pid_t>& init) {
    CORRAL_TRY(makeDirectories(plan.procViewsDir, 0755));
    std::vector<host::FuseFile> files;
    files.push_back({"meminfo", 0444, [dir = plan.memoryCgroupDir, v2 = plan.cgroupV2]() -> Result<std::string> {
                         CORRAL_ASSIGN_OR_RETURN(std::string host, readTextFile("/proc/meminfo"));
                         CORRAL_ASSIGN_OR_RETURN(ContainerMemory memory, readContainerMemory(dir, v2));
                         return containerMeminfo(host, memory);
                     }});
    files.push_back({"uptime", 0444, [&init]() -> Result<std::string> {
                         CORRAL_ASSIGN_OR_RETURN(std::string host, readTextFile("/proc/uptime"));
                         CORRAL_ASSIGN_OR_RETURN(std::string stat,
                                                 readTextFile("/proc/" + std::to_string(init.load()) + "/stat"));
                         auto started = processStartSeconds(stat, ::sysconf(_SC_CLK_TCK));
                         if (!started) {
                             return fail(ErrorCode::InternalError, "cannot read when the container's init started");
                         }
                         return containerUptime(host, *started);
                     }});
    return host::FuseFiles::mount(plan.procViewsDir, std::move(files));
}

}  // namespace corral::drivers::lxc
