// SPDX-License-Identifier: LGPL-2.1-or-later
// Per-guest AppArmor profile text (see apparmor_profile.hpp).
#include "security/apparmor_profile.hpp"

#include <set>
#include <string_view>

namespace corral::security {

namespace {

bool isProfileNameChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

// Why `path` cannot go into a rule, or empty when it can. Globs are refused rather than escaped:
// a disk path is one file, and a stray '*' or '{a,b}' in a user-supplied path must never widen
// the grant to other guests' images. Quotes, backslashes and control characters would end or
// bend the quoted string, letting a path smuggle in rules of its own.
std::string pathProblem(std::string_view path) {
    if (path.empty() || path.front() != '/') {
        return "it is not an absolute path";
    }
    for (char c : path) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            return "it contains a control character";
        }
        if (std::string_view("\"\\*?[]{}^").find(c) != std::string_view::npos) {
            return std::string("it contains '") + c + "'";
        }
    }
    return {};
}

}  // namespace

std::string apparmorProfileName(const Uuid& uuid) {
    return "libvirt-" + uuid.toString();
}

Result<std::string> apparmorProfile(const std::string& profileName,
                                    const AppArmorGuestFiles& files) {
    if (profileName.empty()) {
        return fail(ErrorCode::InvalidArg, "empty AppArmor profile name", ErrorDomain::Security);
    }
    for (char c : profileName) {
        if (!isProfileNameChar(c)) {
            return fail(ErrorCode::InvalidArg,
                        "invalid AppArmor profile name '" + profileName + "'",
                        ErrorDomain::Security);
        }
    }
    std::set<std::string> writable(files.readWrite.begin(), files.readWrite.end());
    for (const std::string* single : {&files.monitorSocket, &files.pidFile}) {
        if (!single->empty()) {
            writable.insert(*single);
        }
    }
    std::set<std::string> readable;
    for (const std::string& path : files.readOnly) {
        if (writable.count(path) == 0) {
            readable.insert(path);
        }
    }
    for (const auto* group : {&writable, &readable}) {
        for (const std::string& path : *group) {
            if (std::string why = pathProblem(path); !why.empty()) {
                return fail(ErrorCode::ConfigUnsupported,
                            "cannot grant path '" + path + "' in AppArmor profile '" + profileName +
                                "': " + why,
                            ErrorDomain::Security);
            }
        }
    }
    // tunables/global defines the variables (@{PROC}, @{HOME}, ...) the abstraction uses.
    // attach_disconnected: files whose path is not reachable from QEMU's mount namespace root
    // (descriptors passed in by the daemon, a private /dev) are still matched, not denied.
    std::string out = "#include <tunables/global>\n\n";
    out += "profile " + profileName + " flags=(attach_disconnected) {\n";
    out += "  #include <abstractions/libvirt-qemu>\n";
    if (!writable.empty() || !readable.empty()) {
        out += "\n";
    }
    for (const std::string& path : writable) {
        out += "  \"" + path + "\" rwk,\n";
    }
    for (const std::string& path : readable) {
        out += "  \"" + path + "\" r,\n";
    }
    out += "}\n";
    return out;
}

}  // namespace corral::security
