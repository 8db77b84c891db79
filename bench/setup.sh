#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What the side-by-side benches need besides the project's own packages: Debian's libvirtd with
# its QEMU driver, tini (a child subreaper), and the fixes these machines need before stock
# libvirt runs at its real speed (see ../shared/LIBVIRT-ANCHOR-RESULTS.md):
#   - the libvirt-qemu user and groups that libvirt-daemon-system's postinst would create;
#   - /dev/kvm 0660 root:kvm, udev's mode (without it libvirt re-probes QEMU on every call).
# Idempotent; run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

missing=()
for p in libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-driver-lxc libvirt-clients python3-libvirt tini; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

getent group libvirt >/dev/null || groupadd --system libvirt
getent group kvm >/dev/null || groupadd --system kvm
getent group libvirt-qemu >/dev/null || groupadd --system --gid 64055 libvirt-qemu
if ! getent passwd libvirt-qemu >/dev/null; then
    useradd --system --uid 64055 --gid kvm --home-dir /var/lib/libvirt --no-create-home \
        --shell /usr/sbin/nologin libvirt-qemu
    usermod -a -G libvirt-qemu libvirt-qemu
fi
if [ -e /dev/kvm ]; then
    chgrp kvm /dev/kvm
    chmod 0660 /dev/kvm
fi
