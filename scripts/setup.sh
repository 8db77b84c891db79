#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs every Debian 12 package the build and the tests need. Idempotent: run it as often as you like.
set -euo pipefail

packages=(
    # build
    cmake ninja-build g++ pkg-config git
    libfmt-dev libsqlite3-dev
    # containers: the seccomp filter and the capability sets of their init
    libseccomp-dev libcap-ng-dev
    # node devices: PCI vendor and product names from pci.ids, as libvirt's nodedev driver reads them
    libpciaccess-dev pci.ids
    # fs storage pools: what a device holds before mkfs or mount (libblkid, as libvirt probes)
    libblkid-dev
    libgtest-dev libgmock-dev
    # libFuzzer targets (clang's runtime)
    clang libclang-rt-14-dev
    # integration tests: the real clients
    libvirt-clients python3-libvirt python3-pytest
    # an RFB client of the tests answers VNC password challenges (DES): test_graphics_tls.py
    python3-cryptography
    # virt-install, as people define guests with it (test_virt_install.py)
    virtinst
    # libvirtd itself, as the reference the integration tests compare corrald with
    libvirt-daemon
    # virt-install, which reads the capabilities and domain capabilities (test_host_caps.py)
    virtinst
    # Sys::Virt, the Perl binding (its list_networks uses the old list calls)
    libsys-virt-perl
    # ansible with community.libvirt (virt, virt_net, virt_pool; the last two need lxml):
    # test_ansible.py drives every command they offer
    ansible python3-lxml
    # libvirt-dbus on a private bus (dbus-daemon), driven through GDBus (python3-gi):
    # test_libvirt_dbus.py
    libvirt-dbus dbus-daemon python3-gi
    # a guest's screen in a browser: noVNC in a headless chromium, driven by chromedriver
    # (test_graphics_novnc.py)
    novnc chromium chromium-driver python3-selenium
    # the QEMU driver's tests: real QEMU (TCG), qemu-img, and the tiny guest they build from
    # Debian's kernel and a static busybox; iproute2 for the bridge the tap test uses
    qemu-system-x86 qemu-guest-agent qemu-utils busybox-static linux-image-amd64 iproute2
    # the cgroup v2 host (test_cgroup_v2.py): the container's ext4 root (mke2fs -d) and the
    # guest's modprobe, both from this host's /usr
    e2fsprogs kmod
    # virtual networks: NAT rules and DHCP/DNS
    nftables dnsmasq-base
    # code generator
    python3
    # remote management: TLS (GnuTLS; certtool for tools/corral-pki), SASL (Cyrus, with the SCRAM
    # and DIGEST-MD5 plugins and saslpasswd2), a real sshd for the ssh transport's tests, and
    # netcat for virsh's ssh fallback
    libgnutls28-dev gnutls-bin
    libsasl2-dev libsasl2-modules libsasl2-modules-db sasl2-bin
    openssh-server openssh-client netcat-openbsd
    # secrets: stored values sealed with AES-256-GCM (nettle)
    nettle-dev
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "setup: all ${#packages[@]} packages already installed"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages: ${missing[*]}; run this script as root" >&2
    exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Packages must not start services on the machine (openssh-server would start an sshd on port
# 22): the tests run their own daemons. policy-rc.d says no for the duration of the install.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    own_policy=1
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" || { [ "$own_policy" = 1 ] && rm -f "$policy"; exit 1; }
if [ "$own_policy" = 1 ]; then
    rm -f "$policy"
fi
