// SPDX-License-Identifier: LGPL-2.1-or-later
// Object names (domains, networks) as they appear on the host: one component of a file, socket
// or cgroup path, escaped so that no name can climb out of its directory or share another's.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace corral {

/// `name` as one component of a host path (run/corral/qemu/NAME.pid, a log, a save image),
/// escaped in systemd-escape's way: every byte outside [A-Za-z0-9:_.-] becomes "\xNN" (lower-case
/// hex), and so does a leading '.'. Unlike systemd, '-' stays as it is: systemd escapes it only
/// because it writes '/' as '-', and a name never reaches here with a '/'.
/// The mapping is injective ('\' itself is escaped, so every "\x" comes from an escape), and the
/// result is never "", "." or "..", never contains '/' and never starts with '.'. Names made of
/// letters, digits and "_.-:" (not starting with '.') are unchanged.
std::string escapePathComponent(std::string_view name);

/// `name` as a cgroup directory below a partition: escapePathComponent, with '_' put in front
/// when the result could be taken for one of the cgroup file system's own files
/// ("cgroup.procs", "memory.max", "tasks": text before a first '.' made of [a-z_] only) or
/// starts with '_' already (libvirt's rule for its partitions). Still injective.
std::string escapeCgroupComponent(std::string_view name);

/// The component earlier versions of Corral used for `name` (the bare name), when it was a
/// safe one (not empty, ".", "..", no '/', no NUL, no '\') and differs from
/// escapePathComponent(name); nullopt otherwise. Only for finding what an older daemon left
/// (a guest it started, a save image): without a '\', a bare name can never equal another
/// name's escaped form, so looking there cannot find someone else's file.
std::optional<std::string> legacyPathComponent(std::string_view name);

/// The same for a cgroup directory (the bare name where escapeCgroupComponent differs), and
/// never for a name starting with '_' (the prefix escapeCgroupComponent adds), for the same
/// reason: a bare name found there cannot be another name's escaped group.
std::optional<std::string> legacyCgroupComponent(std::string_view name);

/// Whether `path` is relative and made of plain components: none empty, "." or "..". What may be
/// joined below a directory without leaving it (symbolic links aside).
bool isPlainRelativePath(std::string_view path);

/// DIR/ESCAPED-NAME+SUFFIX: the path of the file `suffix` (".pid", ".log") of `name` in `dir`.
std::string pathForName(std::string_view dir, std::string_view name, std::string_view suffix);

/// The longest escaped name a new definition may have: a file name (at most 255 bytes) still
/// fits with the longest suffix the daemon adds (".controller.log").
constexpr std::size_t kMaxEscapedNameLength = 200;

}  // namespace corral
