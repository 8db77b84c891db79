#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The whole side-by-side suite in one command: installs Debian's libvirt and prepares this
# machine for it (bench/setup.sh), builds Corral, then runs every bench against corrald and
# libvirtd through the same clients (the real virsh and python3-libvirt). Each bench prints its
# table and writes bench/results/NAME.{json,md}; bench/results/summary.md gathers the tables.
#   sudo bash bench/run.sh [--quick]     (--quick: fewer runs and 200 domains, to try it out)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1

bash bench/setup.sh
cmake --preset dev >/dev/null
cmake --build build -j "$(nproc)" --target corrald corral corral-lxc

runs=15
domains=1000
if [ "$quick" = 1 ]; then
    runs=3
    domains=200
fi
/usr/bin/python3 bench/lxc_lifecycle.py --runs "$runs"
/usr/bin/python3 bench/qemu_lifecycle.py --runs "$runs"
/usr/bin/python3 bench/scale.py --domains "$domains" --runs "$(( runs < 7 ? runs : 7 ))"
/usr/bin/python3 bench/storage_volumes.py --count "$domains"

{
    echo "# Corral and libvirt side by side"
    echo
    echo "Written by bench/run.sh on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs."
    for b in lxc_lifecycle qemu_lifecycle scale storage_volumes; do
        echo
        sed 's/^# /## /' "bench/results/$b.md"
    done
} > bench/results/summary.md
echo "bench/results/summary.md written"
