// SPDX-License-Identifier: LGPL-2.1-or-later
// What the QEMU binary on this host offers (machine types, CPU models), asked of QEMU itself
// over QMP (query-machines, query-cpu-definitions) and cached per binary path and mtime, as
// libvirt's capabilities cache does. Nothing here is a hard-coded list.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace corral::drivers::qemu {

/// One machine type as query-machines reports it.
struct QemuMachine {
    std::string name;   ///< canonical name, "pc-q35-7.2"
    std::string alias;  ///< "q35", or empty
    unsigned maxCpus = 0;
    bool isDefault = false;
    bool deprecated = false;
};

/// One CPU model as query-cpu-definitions reports it.
struct QemuCpuModel {
    std::string name;
    bool deprecated = false;
};

/// The answers of one QEMU binary.
struct QemuBinaryCaps {
    std::string emulator;     ///< absolute path
    std::uint64_t version = 0;  ///< major * 1,000,000 + minor * 1,000 + micro
    std::vector<QemuMachine> machines;  ///< in QEMU's order
    std::vector<QemuCpuModel> cpuModels;  ///< in QEMU's order
};

/// Parses the QMP transcript of a probe: the greeting, then one reply per line for
/// qmp_capabilities, query-machines and query-cpu-definitions (events are skipped). Errors:
/// InternalError naming the reply that is missing or an error QEMU answered.
Result<QemuBinaryCaps> parseQemuProbe(std::string_view transcript);

/// The machine types of `caps` with the name QEMU resolves each alias to.
/// nullptr when `name` is neither a machine nor an alias.
const QemuMachine* findMachine(const QemuBinaryCaps& caps, std::string_view name);

/// `program` as an absolute path: itself when it contains '/', else the first executable of
/// that name in PATH. Errors: NoSupport "Cannot find 'NAME' in path" (libvirt's words).
Result<std::string> resolveEmulator(const std::string& program);

/// Runs `emulator` with -machine none and its QMP monitor on stdin/stdout, under QEMU's own
/// seccomp sandbox, and parses what it answers. A binary that has not answered and quit within
/// `limit` is killed (with everything it started) and the probe fails.
Result<QemuBinaryCaps> probeQemuBinary(const std::string& emulator,
                                       std::chrono::seconds limit = std::chrono::seconds(30));

/// probeQemuBinary() results kept per absolute path and modification time: a new binary
/// (package upgrade) is probed again on the next call. Thread-safe.
class QemuCapsCache {
public:
    explicit QemuCapsCache(std::chrono::seconds probeLimit = std::chrono::seconds(30)) : probeLimit_(probeLimit) {}
    Result<std::shared_ptr<const QemuBinaryCaps>> get(const std::string& program);

private:
    struct Entry {
        std::int64_t mtimeNs = 0;
        std::shared_ptr<const QemuBinaryCaps> caps;
    };
    std::chrono::seconds probeLimit_;  // immutable after construction
    std::mutex mutex_;
    std::map<std::string, Entry> entries_;  // guarded by mutex_
};

}  // namespace corral::drivers::qemu
