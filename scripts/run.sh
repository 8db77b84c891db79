#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job: builds Corral, starts corrald on a scratch --root and drives a first domain with
# the corral CLI (and the real virsh when installed), then stops the daemon.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cmake --preset ci >/dev/null
cmake --build build -j "$(nproc)"

root=$(mktemp -d /tmp/corral-run.XXXXXX)
sock="$root/run/corral/corral-sock"
./build/bin/corrald --root "$root" &
daemon=$!
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done

corral() { echo "+ corral $*"; ./build/bin/corral "$@"; }
qemu="qemu+unix:///system?socket=$sock"
test="test+unix:///default?socket=$sock"

cat >"$root/first.xml" <<XML
<domain type='qemu'>
  <name>first</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <interface type='network'><source network='default'/></interface>
    <console type='pty'/>
  </devices>
</domain>
XML
sed -e "s/type='qemu'/type='test'/" -e 's/first/demo/' "$root/first.xml" >"$root/demo.xml"

echo "== corrald is serving $sock (root $root)"
corral -c "$qemu" version
corral -c "$qemu" define "$root/first.xml"
corral -c "$qemu" autostart first
corral -c "$qemu" list --all
corral -c "$qemu" dumpxml first
echo "== the test driver runs guests as pure state:"
corral -c "$test" define "$root/demo.xml"
corral -c "$test" start demo
corral -c "$test" list --all
corral -c "$test" dominfo demo
if command -v virsh >/dev/null; then
    echo "== the real virsh sees the same daemon:"
    virsh -c "$qemu" list --all
    virsh -c "$test" domstate demo --reason
fi
echo "== the definition of 'first' survives a kill -9 of the daemon:"
kill -9 $daemon; wait $daemon 2>/dev/null || true
./build/bin/corrald --root "$root" &
daemon=$!
for _ in $(seq 100); do [ -S "$sock" ] && ./build/bin/corral -c "$qemu" uri >/dev/null 2>&1 && break; sleep 0.05; done
corral -c "$qemu" list --all --autostart
