// SPDX-License-Identifier: LGPL-2.1-or-later
// loadQemuConfig.
#include "drivers/qemu/qemu_config.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <iterator>
#include <optional>
#include <set>
#include <tuple>

#include "util/conf_file.hpp"

namespace corral::drivers::qemu {

namespace {
// Keys this build reads or accepts (issue 6 acts on the security ones).
const std::set<std::string, std::less<>> kKnownKeys = {
    "user", "group", "dynamic_ownership", "remember_owner", "security_driver", "security_default_confined",
    "security_require_confined", "vnc_listen", "vnc_auto_unix_socket", "vnc_tls", "vnc_tls_x509_cert_dir",
    "vnc_tls_x509_verify", "vnc_password", "spice_listen", "spice_tls", "spice_tls_x509_cert_dir",
    "spice_password", "seccomp_sandbox", "cgroup_controllers", "cgroup_device_acl", "nvram",
    "max_processes", "max_files", "log_timestamp", "set_process_name", "emulator", "destroy_grace_seconds",
    "max_threads_per_process", "namespaces", "guest_id_min", "guest_id_count", "landlock",
    "default_tls_x509_cert_dir", "default_tls_x509_verify", "remote_display_port_min", "remote_display_port_max",
    "remote_websocket_port_min", "remote_websocket_port_max"};

/// The files QEMU's tls-creds-x509 object reads from its directory as a server; the others
/// (ca-crl.pem, dh-params.pem) are used where they exist.
const char* const kServerTlsRequired[] = {"ca-cert.pem", "server-cert.pem", "server-key.pem"};

/// Why a qemu.conf setting this driver knows but does not act on cannot take `v`; nullptr when
/// the value asks for nothing (off, empty, the default) or the key is acted on or descriptive.
const char* unenforcedSetting(const std::string& key, const ConfValue& v) {
    const bool set = (v.kind == ConfValue::Kind::Int && v.i != 0) ||
                     (v.kind == ConfValue::Kind::String && !v.s.empty()) ||
                     (v.kind == ConfValue::Kind::List && !v.list.empty());
    if (key == "spice_password") {
        return set ? "a default SPICE password is not supported yet: set passwd= on each <graphics>" : nullptr;
    }
    if (key == "vnc_auto_unix_socket") {
        return set ? "VNC on a unix socket is not supported yet" : nullptr;
    }
    if (key == "spice_listen") {
        return set ? "a default SPICE listen address is not supported yet: set listen= on each <graphics>" : nullptr;
    }
    if (key == "nvram") {
        return set ? "UEFI firmware is not supported yet" : nullptr;
    }
    if (key == "max_processes" || key == "max_files") {
        return set ? "per-guest rlimits are not supported yet (max_threads_per_process limits tasks)" : nullptr;
    }
    if (key == "security_default_confined") {
        // Every guest is confined here; 0 would ask for unconfined guests by default.
        return v.kind == ConfValue::Kind::Int && v.i == 0 ? "guests are always confined (1)" : nullptr;
    }
    if (key == "security_require_confined") {
        return set ? "refusing unconfined guests (<seclabel type='none'>) is not supported yet" : nullptr;
    }
    if (key == "cgroup_device_acl") {
        return set ? "QEMU's devices are limited by its private /dev, not a device list" : nullptr;
    }
    // log_timestamp, set_process_name: how QEMU's log and process name look (docs/qemu.md lists them).
    return nullptr;
}

/// A console's certificate directory: the one qemu.conf names, else the service's own where it
/// exists, else default_tls_x509_cert_dir (libvirt's order).
std::string serviceCertDir(const std::string& named, const char* serviceDir, const std::string& defaultDir) {
    if (!named.empty()) {
        return named;
    }
    struct stat st {};
    return ::stat(serviceDir, &st) == 0 && S_ISDIR(st.st_mode) ? serviceDir : defaultDir;
}

/// Found missing at the first start, a guest would fail; found now, the daemon does.
Result<void> requireServerTlsFiles(const ConfFile& file, const char* setting, const std::string& dir) {
    for (const char* name : kServerTlsRequired) {
        const std::string needed = dir + "/" + name;
        if (::access(needed.c_str(), R_OK) != 0) {
            return failErrno(errno, file.path + ": " + setting + " = 1 needs '" + needed + "'");
        }
    }
    return {};
}

Unexpected badValue(const ConfFile& file, const std::string& key, const ConfValue& v, const std::string& want) {
    return fail(ErrorCode::ConfSyntax,
                file.path + ":" + std::to_string(v.line) + ": " + key + ": expected " + want, ErrorDomain::Config);
}
}  // namespace

Result<QemuDriverConfig> loadQemuConfig(const std::string& path) {
    CORRAL_ASSIGN_OR_RETURN(ConfFile file, readConfFile(path));
    QemuDriverConfig cfg;
    std::optional<bool> vncVerify, defaultVerify;
    std::string vncDir, spiceDir, defaultDir = "/etc/pki/qemu";
    for (const auto& [key, v] : file.entries) {
        if (!kKnownKeys.contains(key)) {
            return fail(ErrorCode::ConfSyntax,
                        file.path + ":" + std::to_string(v.line) + ": unknown setting '" + key + "'", ErrorDomain::Config);
        }
        if (key == "vnc_tls" || key == "vnc_tls_x509_verify" || key == "default_tls_x509_verify" || key == "spice_tls") {
            if (v.kind != ConfValue::Kind::Int || (v.i != 0 && v.i != 1)) {
                return badValue(file, key, v, "0 or 1");
            }
            if (key == "vnc_tls" || key == "spice_tls") {
                (key == "vnc_tls" ? cfg.vncTls : cfg.spiceTls) = v.i == 1;
            } else if (key == "vnc_tls_x509_verify") {
                vncVerify = v.i == 1;
            } else {
                defaultVerify = v.i == 1;
            }
        } else if (key == "vnc_tls_x509_cert_dir" || key == "default_tls_x509_cert_dir" ||
                   key == "spice_tls_x509_cert_dir") {
            if (v.kind != ConfValue::Kind::String || !v.s.starts_with("/")) {
                return badValue(file, key, v, "a quoted absolute directory");
            }
            (key == "vnc_tls_x509_cert_dir" ? vncDir : key == "spice_tls_x509_cert_dir" ? spiceDir : defaultDir) = v.s;
        } else if (key == "vnc_password") {
            if (v.kind != ConfValue::Kind::String) {
                return badValue(file, key, v, "a quoted password");
            }
            cfg.vncPassword = v.s;
        } else if (key == "vnc_listen") {
            if (v.kind != ConfValue::Kind::String) {
                return badValue(file, key, v, "a quoted address");
            }
            cfg.vncListen = v.s;
        } else if (key == "seccomp_sandbox") {
            if (v.kind != ConfValue::Kind::Int || (v.i != 0 && v.i != 1)) {
                return badValue(file, key, v, "0 or 1");
            }
            cfg.seccompSandbox = v.i == 1;
        } else if (key == "emulator") {
            if (v.kind != ConfValue::Kind::String || v.s.empty()) {
                return badValue(file, key, v, "a quoted program path");
            }
            cfg.emulator = v.s;
        } else if (key == "cgroup_controllers") {
            if (v.kind != ConfValue::Kind::List) {
                return badValue(file, key, v, "a list of controller names");
            }
            static const std::set<std::string, std::less<>> kControllers = {
                "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "net_cls", "perf_event", "name=systemd"};
            for (const auto& c : v.list) {
                if (!kControllers.contains(c)) {
                    return badValue(file, key, v, "controller names (cpu, cpuacct, cpuset, memory, blkio, ...), not '" + c + "'");
                }
            }
            cfg.cgroupControllers = v.list;
            cfg.cgroups = !v.list.empty();
        } else if (key == "max_threads_per_process") {
            if (v.kind != ConfValue::Kind::Int || v.i < 0) {
                return badValue(file, key, v, "a number of threads (0 = no limit)");
            }
            if (v.i > 0) {
                cfg.maxThreadsPerProcess = static_cast<std::uint64_t>(v.i);
            }
        } else if (key == "user" || key == "group") {
            if (v.kind != ConfValue::Kind::String || v.s.empty()) {
                return badValue(file, key, v, "a quoted user or group name, or +UID / +GID");
            }
            (key == "user" ? cfg.user : cfg.group) = v.s;
        } else if (key == "dynamic_ownership" || key == "remember_owner" || key == "landlock") {
            if (v.kind != ConfValue::Kind::Int || (v.i != 0 && v.i != 1)) {
                return badValue(file, key, v, "0 or 1");
            }
            (key == "dynamic_ownership" ? cfg.dynamicOwnership : key == "remember_owner" ? cfg.rememberOwner : cfg.landlock) =
                v.i == 1;
        } else if (key == "guest_id_min" || key == "guest_id_count") {
            if (v.kind != ConfValue::Kind::Int || v.i < 1 || v.i > 4294967294LL) {
                return badValue(file, key, v, "a positive id");
            }
            (key == "guest_id_min" ? cfg.guestIdMin : cfg.guestIdCount) = static_cast<std::uint32_t>(v.i);
        } else if (key == "security_driver") {
            if (v.kind == ConfValue::Kind::String) {
                cfg.securityDrivers = {v.s};
            } else if (v.kind == ConfValue::Kind::List) {
                cfg.securityDrivers = v.list;
            } else {
                return badValue(file, key, v, "a driver name or a list of them");
            }
            for (const auto& d : cfg.securityDrivers) {
                if (d != "selinux" && d != "apparmor" && d != "dac" && d != "landlock" && d != "none") {
                    return badValue(file, key, v, "selinux, apparmor, dac, landlock or none, not '" + d + "'");
                }
            }
        } else if (key == "namespaces") {
            if (v.kind != ConfValue::Kind::List || (v.list.size() > 1) || (v.list.size() == 1 && v.list[0] != "mount")) {
                return badValue(file, key, v, "[ \"mount\" ] or [ ]");
            }
            cfg.privateDevices = !v.list.empty();
        } else if (const char* why = unenforcedSetting(key, v)) {
            // Known to libvirt, not acted on here: a value other than the harmless default
            // would be a setting the administrator believes in and the guests do not get.
            return fail(ErrorCode::ConfigUnsupported,
                        file.path + ":" + std::to_string(v.line) + ": " + key + ": " + why, ErrorDomain::Config);
        } else if (key == "remote_display_port_min" || key == "remote_display_port_max") {
            // libvirt's bounds: a display is VNC display N at 5900 + N, so nothing below 5900.
            if (v.kind != ConfValue::Kind::Int || v.i < 5900 || v.i > 65535) {
                return badValue(file, key, v, "a port from 5900 to 65535");
            }
            (key == "remote_display_port_min" ? cfg.displayPortMin : cfg.displayPortMax) = static_cast<int>(v.i);
        } else if (key == "remote_websocket_port_min" || key == "remote_websocket_port_max") {
            if (v.kind != ConfValue::Kind::Int || v.i < 5700 || v.i > 65535) {
                return badValue(file, key, v, "a port from 5700 to 65535");
            }
            (key == "remote_websocket_port_min" ? cfg.websocketPortMin : cfg.websocketPortMax) = static_cast<int>(v.i);
        } else if (key == "destroy_grace_seconds") {
            if (v.kind != ConfValue::Kind::Int || v.i < 0 || v.i > 600) {
                return badValue(file, key, v, "a number of seconds (0-600)");
            }
            cfg.destroyGraceSeconds = static_cast<unsigned>(v.i);
        }
    }
    for (const auto& [range, low, high] : {std::tuple{"display", cfg.displayPortMin, cfg.displayPortMax},
                                           std::tuple{"websocket", cfg.websocketPortMin, cfg.websocketPortMax}}) {
        if (low > high) {
            const std::string key = std::string("remote_") + range + "_port_";
            return fail(ErrorCode::ConfSyntax,
                        file.path + ": " + key + "min (" + std::to_string(low) + ") must not be greater than " +
                            key + "max (" + std::to_string(high) + ")",
                        ErrorDomain::Config);
        }
    }
    cfg.vncTlsVerify = vncVerify.value_or(defaultVerify.value_or(true));
    cfg.vncTlsCertDir = serviceCertDir(vncDir, "/etc/pki/libvirt-vnc", defaultDir);
    cfg.spiceTlsCertDir = serviceCertDir(spiceDir, "/etc/pki/libvirt-spice", defaultDir);
    if (cfg.vncTls) {
        CORRAL_TRY(requireServerTlsFiles(file, "vnc_tls", cfg.vncTlsCertDir));
    }
    if (cfg.spiceTls) {
        CORRAL_TRY(requireServerTlsFiles(file, "spice_tls", cfg.spiceTlsCertDir));
    }
    return cfg;
}

std::vector<std::string> serverTlsFiles() { return {std::begin(kServerTlsRequired), std::end(kServerTlsRequired)}; }

}  // namespace corral::drivers::qemu
