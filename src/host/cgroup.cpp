// SPDX-License-Identifier: LGPL-2.1-or-later
#include "host/cgroup.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <thread>

#include "host/cgroup_device_program.hpp"
#include "util/files.hpp"
#include "util/name_escape.hpp"
#include "util/strings.hpp"

namespace corral::host {

namespace {

// v1 reports "no limit" as the largest page-aligned counter value; anything this large is it.
constexpr std::uint64_t kV1Unlimited = std::uint64_t{1} << 62;

constexpr CgroupController kAllControllers[] = {
    CgroupController::Cpu,     CgroupController::Cpuacct, CgroupController::Cpuset,  CgroupController::Memory,
    CgroupController::Blkio,   CgroupController::Pids,    CgroupController::Devices, CgroupController::Freezer,
};

std::optional<CgroupController> controllerFromName(std::string_view name, bool v2) {
    for (CgroupController c : kAllControllers) {
        if (cgroupControllerName(c, v2) == name) {
            return c;
        }
    }
    return std::nullopt;
}

std::string trimmed(const std::string& text) { return std::string(trimString(text)); }

/// The value after `key ` in a flat-keyed file (memory.events, cpu.stat, memory.oom_control).
std::optional<std::uint64_t> keyedValue(const std::string& text, std::string_view key) {
    for (const auto& line : splitString(text, '\n')) {
        auto fields = splitString(line, ' ');
        if (fields.size() == 2 && fields[0] == key) {
            return parseUnsigned(fields[1]);
        }
    }
    return std::nullopt;
}

Result<void> removeTree(const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        return errno == ENOENT ? Result<void>{} : failErrno(errno, "cannot open cgroup '" + dir + "'");
    }
    std::vector<std::string> children;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (e->d_type == DT_DIR && name != "." && name != "..") {
            children.push_back(dir + "/" + name);
        }
    }
    ::closedir(d);
    for (const auto& child : children) {
        CORRAL_TRY(removeTree(child));
    }
    // A process that just exited may still be counted until the kernel finishes tearing it
    // down; give it a moment before calling the group busy.
    for (int attempt = 0;; ++attempt) {
        if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) {
            return {};
        }
        if (errno != EBUSY || attempt == 50) {
            return failErrno(errno, "cannot remove cgroup '" + dir + "'");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

bool fileExists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

/// Delegates the layout's controllers from `dir` to its children (only cpu, cpuset and pids,
/// the threaded ones, for a threaded subtree). A refusal only narrows what the children can set;
/// each setting then reports its own missing file, naming it.
void enableV2Controllers(const CgroupLayout& layout, const std::string& dir, bool threadedOnly) {
    std::string enable;
    for (CgroupController c : layout.v2Controllers) {
        if (threadedOnly && c != CgroupController::Cpu && c != CgroupController::Cpuset && c != CgroupController::Pids) {
            continue;
        }
        enable += (enable.empty() ? "+" : " +") + std::string(cgroupControllerName(c, true));
    }
    if (!enable.empty()) {
        (void)writeKernelFile(dir + "/cgroup.subtree_control", enable);
    }
}

}  // namespace

std::string_view cgroupControllerName(CgroupController controller, bool v2) {
    switch (controller) {
        case CgroupController::Cpu: return "cpu";
        case CgroupController::Cpuacct: return v2 ? "cpu" : "cpuacct";
        case CgroupController::Cpuset: return "cpuset";
        case CgroupController::Memory: return "memory";
        case CgroupController::Blkio: return v2 ? "io" : "blkio";
        case CgroupController::Pids: return "pids";
        case CgroupController::Devices: return "devices";
        case CgroupController::Freezer: return "freezer";
    }
    return "?";
}

bool CgroupLayout::has(CgroupController controller) const {
    if (v2) {
        if (controller == CgroupController::Freezer) {
            return true;  // cgroup.freeze exists in every v2 group
        }
        if (controller == CgroupController::Cpuacct) {
            controller = CgroupController::Cpu;
        }
        return std::find(v2Controllers.begin(), v2Controllers.end(), controller) != v2Controllers.end();
    }
    return std::any_of(v1.begin(), v1.end(), [&](const Hierarchy& h) { return h.controller == controller; });
}

std::string CgroupLayout::mountOf(CgroupController controller) const {
    if (v2) {
        return unifiedMount;
    }
    for (const auto& h : v1) {
        if (h.controller == controller) {
            return h.mount;
        }
    }
    return {};
}

Result<CgroupLayout> parseCgroupLayout(std::string_view mountinfo, std::string_view rootControllers) {
    CgroupLayout layout;
    for (const auto& line : splitString(mountinfo, '\n')) {
        // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS"
        auto fields = splitString(line, ' ');
        auto dash = std::find(fields.begin(), fields.end(), "-");
        if (fields.size() < 5 || dash == fields.end() || std::distance(dash, fields.end()) < 4) {
            continue;
        }
        const std::string& mount = fields[4];
        const std::string& fsType = *(dash + 1);
        if (fsType == "cgroup2") {
            layout.unifiedMount = mount;
        } else if (fsType == "cgroup") {
            for (const auto& option : splitString(*(dash + 3), ',')) {
                if (auto c = controllerFromName(option, false)) {
                    layout.v1.push_back({*c, mount});
                }
            }
        }
    }
    if (!layout.v1.empty()) {
        return layout;
    }
    if (layout.unifiedMount.empty()) {
        return fail(ErrorCode::OperationUnsupported, "no cgroup file system is mounted on this host");
    }
    layout.v2 = true;
    for (const auto& name : splitString(trimString(rootControllers), ' ')) {
        if (auto c = controllerFromName(name, true)) {
            layout.v2Controllers.push_back(*c);
        }
    }
    return layout;
}

Result<CgroupLayout> hostCgroupLayout() {
    static std::once_flag once;
    static Result<CgroupLayout> cached = fail(ErrorCode::InternalError, "cgroup layout not read");
    std::call_once(once, [] {
        auto mountinfo = readTextFile("/proc/self/mountinfo");
        if (!mountinfo) {
            cached = unexpected(std::move(mountinfo).error());
            return;
        }
        auto firstPass = parseCgroupLayout(*mountinfo, "");
        std::string controllers;
        if (firstPass && firstPass->v2) {
            auto text = readTextFile(firstPass->unifiedMount + "/cgroup.controllers");
            controllers = text ? *text : "";
        }
        cached = parseCgroupLayout(*mountinfo, controllers);
    });
    return cached;
}

Cgroup::Cgroup(CgroupLayout layout, std::string path)
    : layout_(std::move(layout)), path_(isPlainRelativePath(path) ? std::move(path) : std::string()) {}

bool Cgroup::exists() const {
    const auto mounts = distinctMounts(layout_);
    return valid() && !mounts.empty() && fileExists(mounts.front() + "/" + path_);
}

std::string guestGroupPath(const std::string& parent, std::string_view name) {
    return parent + "/" + escapeCgroupComponent(name);
}

Cgroup runningGuestGroup(const CgroupLayout& layout, const std::string& parent, std::string_view name) {
    Cgroup group(layout, guestGroupPath(parent, name));
    if (auto legacy = legacyCgroupComponent(name); legacy && !group.exists()) {
        Cgroup older(layout, parent + "/" + *legacy);
        if (older.exists()) {
            return older;
        }
    }
    return group;
}

Result<Cgroup> Cgroup::create(const CgroupLayout& layout, const std::string& path, bool threaded) {
    if (!isPlainRelativePath(path)) {
        // A name that reached here unescaped ("..", ".") would put its limits on the partition.
        return fail(ErrorCode::InternalError, "cgroup path '" + path + "' has an empty, '.' or '..' component");
    }
    Cgroup group(layout, path);
    for (const auto& mount : distinctMounts(layout)) {
        std::string dir = mount + "/" + path;
        if (fileExists(dir)) {
            auto procs = readTextFile(dir + "/cgroup.procs");
            if (procs && !trimString(*procs).empty()) {
                return fail(ErrorCode::OperationFailed,
                            "cgroup '" + dir + "' still holds processes (" + trimmed(*procs) +
                                "): another guest of that name is running outside this daemon's control");
            }
            CORRAL_TRY(removeTree(dir));
        }
        // Each level is created on its own so that v1 cpuset groups inherit their parent's CPUs
        // and memory nodes (they start empty) and v2 parents delegate their controllers.
        std::string current = mount;
        auto components = splitString(path, '/');
        components.erase(std::remove(components.begin(), components.end(), ""), components.end());
        for (std::size_t i = 0; i < components.size(); ++i) {
            const std::string& component = components[i];
            // The parent of a threaded group becomes a threaded domain: the child must turn
            // threaded before the parent (which holds QEMU) delegates, and then only the
            // threaded controllers. Any other parent delegates everything before the mkdir.
            const bool threadedChild = layout.v2 && threaded && i + 1 == components.size();
            if (layout.v2 && !threadedChild) {
                enableV2Controllers(layout, current, false);
            }
            std::string next = current + "/" + component;
            if (::mkdir(next.c_str(), 0755) != 0 && errno != EEXIST) {
                return failErrno(errno, "cannot create cgroup '" + next + "'");
            }
            if (threadedChild) {
                CORRAL_TRY(writeKernelFile(next + "/cgroup.type", "threaded"));
                enableV2Controllers(layout, current, true);
            }
            if (!layout.v2 && fileExists(next + "/cpuset.cpus")) {
                for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
                    auto mine = readTextFile(next + "/" + file);
                    if (mine && trimString(*mine).empty()) {
                        CORRAL_ASSIGN_OR_RETURN(std::string parent, readTextFile(current + "/" + file));
                        CORRAL_TRY(writeKernelFile(next + "/" + file, trimmed(parent)));
                    }
                }
            }
            current = next;
        }
    }
    return group;
}

Cgroup Cgroup::child(const std::string& name) const { return Cgroup(layout_, path_ + "/" + name); }

std::string Cgroup::directory(CgroupController controller) const { return layout_.mountOf(controller) + "/" + path_; }

Result<void> Cgroup::require(CgroupController controller) const {
    if (!layout_.has(controller)) {
        return fail(ErrorCode::OperationUnsupported, "the cgroup controller '" +
                                                         std::string(cgroupControllerName(controller, layout_.v2)) +
                                                         "' is not mounted on this host");
    }
    return {};
}

Result<void> Cgroup::write(CgroupController controller, const std::string& file, std::string_view value) const {
    CORRAL_TRY(require(controller));
    return writeKernelFile(directory(controller) + "/" + file, value);
}

Result<std::string> Cgroup::read(CgroupController controller, const std::string& file) const {
    CORRAL_TRY(require(controller));
    CORRAL_ASSIGN_OR_RETURN(std::string text, readTextFile(directory(controller) + "/" + file));
    return trimmed(text);
}

std::vector<std::string> Cgroup::distinctMounts(const CgroupLayout& layout) {
    if (layout.v2) {
        return {layout.unifiedMount};
    }
    std::vector<std::string> mounts;
    for (const auto& h : layout.v1) {
        if (std::find(mounts.begin(), mounts.end(), h.mount) == mounts.end()) {
            mounts.push_back(h.mount);
        }
    }
    return mounts;
}

std::vector<std::string> Cgroup::procsFiles() const {
    std::vector<std::string> files;
    for (const auto& mount : distinctMounts(layout_)) {
        files.push_back(mount + "/" + path_ + "/cgroup.procs");
    }
    return files;
}

std::vector<std::string> Cgroup::selfJoinFiles() const {
    std::vector<std::string> files;
    for (const auto& mount : distinctMounts(layout_)) {
        files.push_back(mount + "/" + path_ + (layout_.v2 ? "/cgroup.procs" : "/tasks"));
    }
    return files;
}

Result<void> Cgroup::addProcess(pid_t pid) const {
    for (const auto& file : procsFiles()) {
        CORRAL_TRY(writeKernelFile(file, std::to_string(pid)));
    }
    return {};
}

Result<void> Cgroup::addThread(pid_t tid) const {
    if (layout_.v2) {
        return writeKernelFile(layout_.unifiedMount + "/" + path_ + "/cgroup.threads", std::to_string(tid));
    }
    // Only the per-thread controllers: memory, pids and blkio account the whole process.
    for (CgroupController c : {CgroupController::Cpu, CgroupController::Cpuacct, CgroupController::Cpuset}) {
        if (layout_.has(c)) {
            CORRAL_TRY(writeKernelFile(directory(c) + "/tasks", std::to_string(tid)));
        }
    }
    return {};
}

Result<void> Cgroup::remove() const {
    if (!valid()) {
        return {};  // never the mount's root
    }
    for (const auto& mount : distinctMounts(layout_)) {
        CORRAL_TRY(removeTree(mount + "/" + path_));
        // The partition levels above go too once empty (a test daemon's corral-HASH/qemu); a
        // level still in use refuses, which ends the walk.
        for (std::string dir = path_; dir.find('/') != std::string::npos;) {
            dir = dir.substr(0, dir.rfind('/'));
            if (::rmdir((mount + "/" + dir).c_str()) != 0) {
                break;
            }
        }
    }
    return {};
}

Result<void> Cgroup::setCpuShares(std::uint64_t shares) const {
    if (layout_.v2) {
        if (shares < 1 || shares > 10000) {
            return fail(ErrorCode::InvalidArg, "cpu_shares " + std::to_string(shares) +
                                                   " is out of range: cgroup v2 accepts 1 to 10000");
        }
        return write(CgroupController::Cpu, "cpu.weight", std::to_string(shares));
    }
    if (shares < 2 || shares > 262144) {
        return fail(ErrorCode::InvalidArg,
                    "cpu_shares " + std::to_string(shares) + " is out of range: cgroup v1 accepts 2 to 262144");
    }
    return write(CgroupController::Cpu, "cpu.shares", std::to_string(shares));
}

Result<std::uint64_t> Cgroup::cpuShares() const {
    CORRAL_ASSIGN_OR_RETURN(std::string text, read(CgroupController::Cpu, layout_.v2 ? "cpu.weight" : "cpu.shares"));
    return parseUnsigned(text).value_or(0);
}

Result<void> Cgroup::setCpuBandwidth(std::uint64_t periodUs, std::int64_t quotaUs) const {
    if (periodUs < 1000 || periodUs > 1000000) {
        return fail(ErrorCode::InvalidArg,
                    "CPU period " + std::to_string(periodUs) + " is out of range: 1000 to 1000000 microseconds");
    }
    if (quotaUs >= 0 && (quotaUs < 1000 || quotaUs > 17592186044415)) {
        return fail(ErrorCode::InvalidArg,
                    "CPU quota " + std::to_string(quotaUs) + " is out of range: 1000 to 17592186044415 microseconds");
    }
    if (layout_.v2) {
        std::string quota = quotaUs < 0 ? "max" : std::to_string(quotaUs);
        return write(CgroupController::Cpu, "cpu.max", quota + " " + std::to_string(periodUs));
    }
    // The quota is checked against the period, so order the writes to keep every step valid.
    CORRAL_TRY(write(CgroupController::Cpu, "cpu.cfs_quota_us", "-1"));
    CORRAL_TRY(write(CgroupController::Cpu, "cpu.cfs_period_us", std::to_string(periodUs)));
    return write(CgroupController::Cpu, "cpu.cfs_quota_us", std::to_string(quotaUs < 0 ? -1 : quotaUs));
}

Result<std::uint64_t> Cgroup::cpuPeriod() const {
    if (layout_.v2) {
        CORRAL_ASSIGN_OR_RETURN(std::string text, read(CgroupController::Cpu, "cpu.max"));
        auto fields = splitString(text, ' ');
        return fields.size() == 2 ? parseUnsigned(fields[1]).value_or(0) : 0;
    }
    CORRAL_ASSIGN_OR_RETURN(std::string text, read(CgroupController::Cpu, "cpu.cfs_period_us"));
    return parseUnsigned(text).value_or(0);
}

Result<std::int64_t> Cgroup::cpuQuota() const {
    if (layout_.v2) {
        CORRAL_ASSIGN_OR_RETURN(std::string text, read(CgroupController::Cpu, "cpu.max"));
        auto fields = splitString(text, ' ');
        if (fields.empty() || fields[0] == "max") {
            return -1;
        }
        return parseSigned(fields[0]).value_or(-1);
    }
    CORRAL_ASSIGN_OR_RETURN(std::string text, read(CgroupController::Cpu, "cpu.cfs_quota_us"));
    return parseSigned(text).value_or(-1);
}

Result<std::uint64_t> Cgroup::cpuUsageNs() const {
    if (layout_.v2) {
        CORRAL_ASSIGN_OR_RETURN(std::string text, read(CgroupController::Cpu, "cpu.stat"));
        return keyedValue(text, "usage_usec").value_or(0) * 1000;
    }
    CORRAL_ASSIGN_OR_RETURN(std::string text, read(CgroupController::Cpuacct, "cpuacct.usage"));
    return parseUnsigned(text).value_or(0);
}

namespace {
std::string limitValue(std::optional<std::uint64_t> kib, bool v2) {
    if (!kib) {
        return v2 ? "max" : "-1";
    }
    return std::to_string(*kib * 1024);
}

std::vector<std::string> weightFiles(bool v2) {
    if (v2) {
        return {"io.weight", "io.bfq.weight"};
    }
    return {"blkio.weight", "blkio.bfq.weight"};
}

std::optional<std::uint64_t> parseLimit(const std::string& text) {
    if (text == "max") {
        return std::nullopt;
    }
    auto bytes = parseUnsigned(text);
    if (!bytes || *bytes >= kV1Unlimited) {
        return std::nullopt;
    }
    return *bytes / 1024;
}
}  // namespace

Result<void> Cgroup::setMemoryHardLimit(std::optional<std::uint64_t> kib) const {
    return write(CgroupController::Memory, layout_.v2 ? "memory.max" : "memory.limit_in_bytes",
                 limitValue(kib, layout_.v2));
}

Result<void> Cgroup::setMemorySoftLimit(std::optional<std::uint64_t> kib) const {
    return write(CgroupController::Memory, layout_.v2 ? "memory.high" : "memory.soft_limit_in_bytes",
                 limitValue(kib, layout_.v2));
}

Result<void> Cgroup::setMemorySwapHardLimit(std::optional<std::uint64_t> kib,
                                            std::optional<std::uint64_t> hardKib) const {
    if (layout_.v2) {
        // v2 limits swap alone; libvirt's value counts memory plus swap.
        std::optional<std::uint64_t> swapOnly;
        if (kib) {
            swapOnly = hardKib && *kib > *hardKib ? *kib - *hardKib : 0;
        }
        return write(CgroupController::Memory, "memory.swap.max", limitValue(swapOnly, true));
    }
    if (!fileExists(directory(CgroupController::Memory) + "/memory.memsw.limit_in_bytes")) {
        return fail(ErrorCode::OperationUnsupported,
                    "swap_hard_limit needs swap accounting, which this host's kernel has disabled (swapaccount=1)");
    }
    return write(CgroupController::Memory, "memory.memsw.limit_in_bytes", limitValue(kib, false));
}

Result<void> Cgroup::setMemoryLimits(std::optional<std::uint64_t> hardKib, std::optional<std::uint64_t> softKib,
                                     std::optional<std::uint64_t> swapKib) const {
    bool swapFirst = false;
    if (swapKib) {
        auto current = memorySwapHardLimit();
        swapFirst = !current || !*current || **current < *swapKib;
    }
    if (swapFirst) {
        CORRAL_TRY(setMemorySwapHardLimit(swapKib, hardKib));
    }
    CORRAL_TRY(setMemoryHardLimit(hardKib));
    CORRAL_TRY(setMemorySoftLimit(softKib));
    if (swapKib && !swapFirst) {
        CORRAL_TRY(setMemorySwapHardLimit(swapKib, hardKib));
    }
    return {};
}

Result<std::optional<std::uint64_t>> Cgroup::memoryHardLimit() const {
    CORRAL_ASSIGN_OR_RETURN(std::string text,
                            read(CgroupController::Memory, layout_.v2 ? "memory.max" : "memory.limit_in_bytes"));
    return parseLimit(text);
}

Result<std::optional<std::uint64_t>> Cgroup::memorySoftLimit() const {
    CORRAL_ASSIGN_OR_RETURN(std::string text, read(CgroupController::Memory,
                                                   layout_.v2 ? "memory.high" : "memory.soft_limit_in_bytes"));
    return parseLimit(text);
}

Result<std::optional<std::uint64_t>> Cgroup::memorySwapHardLimit() const {
    if (layout_.v2) {
        CORRAL_ASSIGN_OR_RETURN(std::string swap, read(CgroupController::Memory, "memory.swap.max"));
        CORRAL_ASSIGN_OR_RETURN(auto hard, memoryHardLimit());
        auto swapOnly = parseLimit(swap);
        if (!swapOnly || !hard) {
            return std::optional<std::uint64_t>{};
        }
        return std::optional<std::uint64_t>(*swapOnly + *hard);
    }
    auto text = read(CgroupController::Memory, "memory.memsw.limit_in_bytes");
    if (!text) {
        return std::optional<std::uint64_t>{};  // no swap accounting: unlimited, as libvirt shows it
    }
    return parseLimit(*text);
}

Result<std::uint64_t> Cgroup::memoryUsageKiB() const {
    CORRAL_ASSIGN_OR_RETURN(std::string text,
                            read(CgroupController::Memory, layout_.v2 ? "memory.current" : "memory.usage_in_bytes"));
    return parseUnsigned(text).value_or(0) / 1024;
}

std::uint64_t Cgroup::oomKills() const {
    if (layout_.v2) {
        auto text = read(CgroupController::Memory, "memory.events");  // counts the subtree
        return text ? keyedValue(*text, "oom_kill").value_or(0) : 0;
    }
    // v1 counts a kill in the group of the killed task only (emulator below this one).
    std::uint64_t total = 0;
    for (const auto& dir : groupsUnder(directory(CgroupController::Memory))) {
        if (auto text = readTextFile(dir + "/memory.oom_control")) {
            total += keyedValue(*text, "oom_kill").value_or(0);
        }
    }
    return total;
}

Result<void> Cgroup::setBlkioWeight(unsigned weight) const {
    if (weight < 100 || weight > 1000) {
        return fail(ErrorCode::InvalidArg,
                    "blkio weight " + std::to_string(weight) + " is out of range: 100 to 1000");
    }
    CORRAL_TRY(require(CgroupController::Blkio));
    std::string dir = directory(CgroupController::Blkio);
    for (const std::string& file : weightFiles(layout_.v2)) {
        if (fileExists(dir + "/" + file)) {
            bool keyed = file == "io.weight";
            return writeKernelFile(dir + "/" + file, (keyed ? "default " : "") + std::to_string(weight));
        }
    }
    return fail(ErrorCode::OperationUnsupported,
                "blkio weight is not supported on this host: its I/O scheduler offers no weight file in '" + dir +
                    "' (it needs BFQ, or CFQ on old kernels)");
}

Result<unsigned> Cgroup::blkioWeight() const {
    CORRAL_TRY(require(CgroupController::Blkio));
    std::string dir = directory(CgroupController::Blkio);
    for (const std::string& file : weightFiles(layout_.v2)) {
        if (fileExists(dir + "/" + file)) {
            CORRAL_ASSIGN_OR_RETURN(std::string text, readTextFile(dir + "/" + file));
            auto value = keyedValue(trimmed(text), "default");
            return static_cast<unsigned>(value.value_or(parseUnsigned(trimString(text)).value_or(0)));
        }
    }
    return 0u;  // no weight file: libvirt reports 0 as well
}

Result<void> Cgroup::setBlkioThrottle(const DeviceThrottle& t) const {
    if (layout_.v2) {
        auto v = [](std::uint64_t n) { return n == 0 ? std::string("max") : std::to_string(n); };
        return write(CgroupController::Blkio, "io.max",
                     t.device + " rbps=" + v(t.readBps) + " wbps=" + v(t.writeBps) + " riops=" + v(t.readIops) +
                         " wiops=" + v(t.writeIops));
    }
    CORRAL_TRY(write(CgroupController::Blkio, "blkio.throttle.read_bps_device", t.device + " " + std::to_string(t.readBps)));
    CORRAL_TRY(write(CgroupController::Blkio, "blkio.throttle.write_bps_device", t.device + " " + std::to_string(t.writeBps)));
    CORRAL_TRY(write(CgroupController::Blkio, "blkio.throttle.read_iops_device", t.device + " " + std::to_string(t.readIops)));
    return write(CgroupController::Blkio, "blkio.throttle.write_iops_device", t.device + " " + std::to_string(t.writeIops));
}

Result<void> Cgroup::setPidsMax(std::optional<std::uint64_t> max) const {
    return write(CgroupController::Pids, "pids.max", max ? std::to_string(*max) : "max");
}

Result<std::optional<std::uint64_t>> Cgroup::pidsMax() const {
    CORRAL_ASSIGN_OR_RETURN(std::string text, read(CgroupController::Pids, "pids.max"));
    if (text == "max") {
        return std::optional<std::uint64_t>{};
    }
    return parseUnsigned(text);
}

Result<void> Cgroup::setCpusetCpus(const std::string& cpus) const {
    return write(CgroupController::Cpuset, "cpuset.cpus", cpus);
}

Result<void> Cgroup::allowOnlyDevices(const std::vector<std::string>& rules) const {
    if (layout_.v2) {
        // v2 has no devices files: the kernel asks a BPF program attached to the group.
        return allowOnlyDevicesV2(directory(CgroupController::Devices), rules)
            .withContext("restricting the devices of cgroup '" + path_ + "'");
    }
    CORRAL_TRY(write(CgroupController::Devices, "devices.deny", "a"));
    for (const auto& rule : rules) {
        CORRAL_TRY(write(CgroupController::Devices, "devices.allow", rule));
    }
    return {};
}

Result<std::string> Cgroup::cpusetCpus() const { return read(CgroupController::Cpuset, "cpuset.cpus"); }

Result<void> joinCgroupsOf(const CgroupLayout& layout, pid_t pid) {
    CORRAL_ASSIGN_OR_RETURN(std::string membership, readTextFile("/proc/" + std::to_string(pid) + "/cgroup"));
    static constexpr CgroupController kAll[] = {CgroupController::Cpu,    CgroupController::Cpuacct,
                                                CgroupController::Cpuset, CgroupController::Memory,
                                                CgroupController::Blkio,  CgroupController::Pids,
                                                CgroupController::Devices, CgroupController::Freezer};
    std::vector<std::string> joined;  // v1 cpu and cpuacct may share one mount
    for (std::string_view line : splitString(membership, '\n')) {
        // "ID:CONTROLLERS:PATH"; v2's line has no controllers.
        auto first = line.find(':');
        auto second = first == std::string_view::npos ? first : line.find(':', first + 1);
        if (second == std::string_view::npos) {
            continue;
        }
        std::string_view controllers = line.substr(first + 1, second - first - 1);
        std::string path(line.substr(second + 1));
        std::string mount;
        if (controllers.empty()) {
            mount = layout.v2 ? layout.unifiedMount : "";
        } else if (!layout.v2) {
            for (std::string_view name : splitString(controllers, ',')) {
                for (CgroupController c : kAll) {
                    if (name == cgroupControllerName(c, false) && layout.has(c)) {
                        mount = layout.mountOf(c);
                    }
                }
            }
        }
        if (mount.empty() || std::find(joined.begin(), joined.end(), mount) != joined.end()) {
            continue;
        }
        joined.push_back(mount);
        CORRAL_TRY(writeKernelFile(mount + path + "/cgroup.procs", "0"));
    }
    return {};
}

Result<std::string> blockDeviceNumber(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return failErrno(errno, "cannot find the block device '" + path + "'");
    }
    if (!S_ISBLK(st.st_mode)) {
        return fail(ErrorCode::InvalidArg, "'" + path + "' is not a block device");
    }
    return std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
}

}  // namespace corral::host
