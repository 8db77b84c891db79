#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job: builds Corral, starts corrald on a scratch --root and runs a first VM (real QEMU,
# a tiny busybox guest) with the corral CLI and the real virsh: start, stats, daemon kill -9 and
# takeover, save and restore, destroy; then stops the daemon.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cmake --preset ci >/dev/null
cmake --build build -j "$(nproc)"

root=$(mktemp -d /tmp/corral-run.XXXXXX)
# The guest runs under its own uid (docs/security.md): it must be able to reach its files here.
chmod 711 "$root"
sock="$root/run/corral/corral-sock"
./build/bin/corrald --root "$root" &
daemon=$!
# On any exit: stop the daemon, and any guest it left (their command lines name the root).
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null || true; pkill -f "pidfile $root/" || true' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done

corral() { echo "+ corral $*"; ./build/bin/corral "$@"; }
qemu="qemu+unix:///system?socket=$sock"
test="test+unix:///default?socket=$sock"

# The first VM: Debian's kernel and a busybox initramfs built by the test framework (it prints
# "counter N" on its serial port once a second). TCG here; type 'kvm' uses KVM on real hosts.
read -r kernel initrd < <(/usr/bin/python3 -c "
import sys; sys.path.insert(0, 'tests/integration')
from framework.guest import build_guest
import os; print(*build_guest(os.path.abspath('build/test-guest')))")
cat >"$root/first.xml" <<XML
<domain type='qemu'>
  <name>first</name>
  <memory unit='MiB'>192</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$kernel</kernel><initrd>$initrd</initrd><cmdline>console=ttyS0 quiet</cmdline></os>
  <features><acpi/></features>
  <devices>
    <serial type='file'><source path='$root/first.serial' append='on'/></serial>
    <graphics type='vnc' autoport='yes'/>
  </devices>
</domain>
XML
sed -e "s/type='qemu'/type='test'/" -e 's/first/demo/' -e '/serial/d' "$root/first.xml" >"$root/demo.xml"

echo "== corrald is serving $sock (root $root)"
corral -c "$qemu" version
corral -c "$qemu" define "$root/first.xml"
corral -c "$qemu" autostart first
corral -c "$qemu" start first
for _ in $(seq 150); do grep -q 'counter 2' "$root/first.serial" 2>/dev/null && break; sleep 0.2; done
echo "== the guest's serial console:"
cat "$root/first.serial"
corral -c "$qemu" list --all
corral -c "$qemu" dominfo first
corral -c "$qemu" domstats first --state --cpu-total --balloon --vcpu
echo "== the test driver runs guests as pure state:"
corral -c "$test" define "$root/demo.xml"
corral -c "$test" start demo
corral -c "$test" list --all
if command -v virsh >/dev/null; then
    echo "== the real virsh sees the same daemon:"
    virsh -c "$qemu" list --all
    virsh -c "$qemu" vncdisplay first
    virsh -c "$test" domstate demo --reason
fi
echo "== kill -9 of the daemon: the guest keeps running and the new daemon takes it over:"
kill -9 $daemon; wait $daemon 2>/dev/null || true
./build/bin/corrald --root "$root" &
daemon=$!
for _ in $(seq 100); do [ -S "$sock" ] && ./build/bin/corral -c "$qemu" uri >/dev/null 2>&1 && break; sleep 0.05; done
corral -c "$qemu" list --all --autostart
echo "== save to a file and restore: the guest's counter goes on:"
corral -c "$qemu" save first "$root/first.save"
corral -c "$qemu" restore "$root/first.save"
sleep 2
tail -n 3 "$root/first.serial"
corral -c "$qemu" domstate first --reason
corral -c "$qemu" destroy first
