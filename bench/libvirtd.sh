#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Starts or stops Debian's libvirtd for the side-by-side benches, the way it runs at its real
# speed on these machines: under tini -s (a subreaper, so QEMU's exit is reaped at once and
# libvirt's kill loop does not wait for PID 1) and in a private mount namespace without the
# cgroup2 mount (the hybrid layout here breaks libvirt's cgroup code otherwise).
#   bench/libvirtd.sh start | stop
set -euo pipefail
case "${1:-}" in
start)
    mkdir -p /var/log/libvirt
    pgrep -x virtlogd >/dev/null || virtlogd -d
    if pgrep -x libvirtd >/dev/null; then
        exit 0
    fi
    unshare --mount --propagation slave sh -c \
        'umount /sys/fs/cgroup/unified 2>/dev/null || true; exec tini -s -- libvirtd' \
        >/tmp/corral-bench-libvirtd.log 2>&1 &
    for _ in $(seq 200); do
        virsh -c qemu:///system uri >/dev/null 2>&1 && exit 0
        sleep 0.05
    done
    echo "libvirtd did not come up; see /tmp/corral-bench-libvirtd.log" >&2
    exit 1
    ;;
stop)
    pkill -x libvirtd || true
    for _ in $(seq 100); do pgrep -x libvirtd >/dev/null || break; sleep 0.05; done
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
