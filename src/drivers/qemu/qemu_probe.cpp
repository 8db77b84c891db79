// SPDX-License-Identifier: LGPL-2.1-or-later
// The QEMU binary probe: one short QEMU run per binary and mtime.
#include "drivers/qemu/qemu_probe.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "util/json_value.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

namespace corral::drivers::qemu {

namespace {

Unexpected probeError(const std::string& what) {
    return fail(ErrorCode::InternalError, "probing QEMU: " + what, ErrorDomain::Qemu);
}

}  // namespace

Result<QemuBinaryCaps> parseQemuProbe(std::string_view transcript) {
    QemuBinaryCaps caps;
    std::vector<JsonValue> replies;
    bool greeted = false;
    for (const auto& line : splitString(transcript, '\n')) {
        std::string_view text = trimString(line);
        if (text.empty() || text.front() != '{') {
            continue;  // QEMU's warnings on stderr share the stream
        }
        CORRAL_ASSIGN_OR_RETURN(JsonValue v, JsonValue::parse(text));
        if (v.has("QMP")) {
            const JsonValue& q = v["QMP"]["version"]["qemu"];
            caps.version = q["major"].asUnsigned() * 1000000 + q["minor"].asUnsigned() * 1000 + q["micro"].asUnsigned();
            greeted = true;
        } else if (v.has("error")) {
            return probeError("QEMU answered '" + v["error"]["desc"].asString() + "'");
        } else if (v.has("return")) {
            replies.push_back(std::move(v));
        }
    }
    if (!greeted) {
        return probeError("no QMP greeting");
    }
    // qmp_capabilities, query-machines, query-cpu-definitions (then quit's empty reply).
    if (replies.size() < 3 || !replies[1]["return"].isArray() || !replies[2]["return"].isArray()) {
        return probeError("QEMU did not answer query-machines and query-cpu-definitions");
    }
    for (const auto& m : replies[1]["return"].items()) {
        QemuMachine machine;
        machine.name = m["name"].asString();
        machine.alias = m["alias"].asString();
        machine.maxCpus = static_cast<unsigned>(m["cpu-max"].asUnsigned());
        machine.isDefault = m["is-default"].asBool();
        machine.deprecated = m["deprecated"].asBool();
        if (!machine.name.empty()) {
            caps.machines.push_back(std::move(machine));
        }
    }
    for (const auto& c : replies[2]["return"].items()) {
        QemuCpuModel model{c["name"].asString(), c["deprecated"].asBool()};
        if (!model.name.empty()) {
            caps.cpuModels.push_back(std::move(model));
        }
    }
    if (caps.machines.empty()) {
        return probeError("QEMU reported no machine types");
    }
    return caps;
}

const QemuMachine* findMachine(const QemuBinaryCaps& caps, std::string_view name) {
    for (const auto& m : caps.machines) {
        if (m.name == name || (!m.alias.empty() && m.alias == name)) {
            return &m;
        }
    }
    return nullptr;
}

Result<std::string> resolveEmulator(const std::string& program) {
    if (program.find('/') != std::string::npos) {
        return program;
    }
    const char* path = std::getenv("PATH");
    for (const auto& dir : splitString(path != nullptr ? path : "/usr/bin:/bin", ':')) {
        if (dir.empty()) {
            continue;
        }
        std::string candidate = dir + "/" + program;
        if (::access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
    }
    return fail(ErrorCode::NoSupport, "Cannot find '" + program + "' in path", ErrorDomain::Qemu);
}

Result<QemuBinaryCaps> probeQemuBinary(const std::string& emulator, std::chrono::seconds limit) {
    // No guest: machine "none" has no devices and no RAM. QEMU's own seccomp filter keeps the
    // probe from spawning or gaining privileges while it answers. coreutils' timeout bounds the
    // run (the cache's lock is held meanwhile, so a hung binary must not hang every caller); it
    // signals its whole process group.
    std::vector<std::string> argv{"timeout", "--kill-after=5", std::to_string(limit.count()),
                                  emulator, "-no-user-config", "-nodefaults", "-display", "none",
                                  "-machine", "none",       "-sandbox",
                                  "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
                                  "-qmp", "stdio"};
    const std::string input =
        "{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"query-machines\"}\n"
        "{\"execute\":\"query-cpu-definitions\"}\n{\"execute\":\"quit\"}\n";
    CORRAL_ASSIGN_OR_RETURN(CommandResult run, runCommand(argv, input));
    auto caps = parseQemuProbe(run.output);
    if (!caps) {
        return std::move(caps).withContext("'" + emulator + "' (exit status " + std::to_string(run.exitStatus) + ")");
    }
    caps->emulator = emulator;
    return caps;
}

Result<std::shared_ptr<const QemuBinaryCaps>> QemuCapsCache::get(const std::string& program) {
    CORRAL_ASSIGN_OR_RETURN(std::string path, resolveEmulator(program));
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return fail(ErrorCode::NoSupport, "Cannot find '" + path + "' in path", ErrorDomain::Qemu);
    }
    const std::int64_t mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    std::lock_guard lock(mutex_);
    auto it = entries_.find(path);
    if (it != entries_.end() && it->second.mtimeNs == mtime) {
        return it->second.caps;
    }
    // Probed under the lock: two first callers would otherwise start two QEMUs for one answer.
    CORRAL_ASSIGN_OR_RETURN(QemuBinaryCaps caps, probeQemuBinary(path, probeLimit_));
    auto shared = std::make_shared<const QemuBinaryCaps>(std::move(caps));
    entries_[path] = Entry{mtime, shared};
    return shared;
}

}  // namespace corral::drivers::qemu
