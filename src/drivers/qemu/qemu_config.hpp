// SPDX-License-Identifier: LGPL-2.1-or-later
// qemu.conf: the QEMU driver's settings, in libvirt's file format and key names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace corral::drivers::qemu {

struct QemuDriverConfig {
    std::string vncListen = "127.0.0.1";
    // VNC over TLS (docs/graphics.md): QEMU gets the certificates of `vncTlsCertDir` (copied for
    // each guest, the key readable by that guest's QEMU only) and, with `vncTlsVerify`, refuses
    // clients without a certificate signed by its CA. The directory is resolved when the file
    // is read: vnc_tls_x509_cert_dir, else /etc/pki/libvirt-vnc where it exists, else
    // default_tls_x509_cert_dir (/etc/pki/qemu), as libvirt does.
    bool vncTls = false;
    std::string vncTlsCertDir;
    bool vncTlsVerify = true;  ///< vnc_tls_x509_verify, else default_tls_x509_verify, else on
    /// qemu.conf vnc_password: the password of every VNC display whose <graphics> sets none.
    std::string vncPassword;
    /// remote_display_port_min/max: the ports autoport gives VNC and SPICE displays.
    int displayPortMin = 5900;
    int displayPortMax = 65535;
    /// remote_websocket_port_min/max: the ports websocket='-1' gives VNC's websocket.
    int websocketPortMin = 5700;
    int websocketPortMax = 65535;
    // SPICE over TLS: spice_tls and spice_tls_x509_cert_dir (else /etc/pki/libvirt-spice where
    // it exists, else default_tls_x509_cert_dir). SPICE asks no client certificate.
    bool spiceTls = false;
    std::string spiceTlsCertDir;
    bool seccompSandbox = true;
    std::string emulator = "qemu-system-x86_64";  ///< used when a definition names no <emulator>
    /// Seconds a destroy waits after SIGTERM before SIGKILL.
    unsigned destroyGraceSeconds = 10;

    // Resource control. Guests live in the cgroup PARTITION/qemu/NAME of every controller.
    bool cgroups = true;  ///< cgroup_controllers = [] turns them off
    std::vector<std::string> cgroupControllers;  ///< empty = every controller the host has
    std::string cgroupPartition = "corral";
    std::optional<std::uint64_t> maxThreadsPerProcess;  ///< pids.max of each guest

    // Identity and confinement (docs/security.md).
    std::string user;   ///< qemu.conf user: "" = a per-guest uid from the range below
    std::string group;  ///< qemu.conf group: "" = the per-guest gid
    bool dynamicOwnership = true;
    bool rememberOwner = true;
    std::uint32_t guestIdMin = 200000;  ///< per-guest uids/gids come from [min, min + count)
    std::uint32_t guestIdCount = 65536;
    std::vector<std::string> securityDrivers;  ///< security_driver: empty = automatic
    bool landlock = true;
    bool privateDevices = true;  ///< namespaces = ["mount"]: a private /dev per guest
};

/// Reads `path` (a missing file gives the defaults). Every documented qemu.conf key is
/// accepted; an unknown key or a bad value is an error naming the file, line and key.
Result<QemuDriverConfig> loadQemuConfig(const std::string& path);

/// The files a console's TLS certificate directory must hold (ca-cert.pem, server-cert.pem,
/// server-key.pem), for VNC and SPICE alike.
std::vector<std::string> serverTlsFiles();

}  // namespace corral::drivers::qemu
