#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""LXC lifecycle, Corral next to Debian's libvirt LXC driver in one run, with the kernel's own
floor (`unshare` + `chroot` of the same root): start (call to running) and destroy of the same
busybox container through python3-libvirt and through a fresh `virsh` per command, and the
private memory of each per-container controller with 10 containers running. Prints medians and
ratios and writes bench/results/lxc_lifecycle.{json,md}.

    sudo bash bench/setup.sh && /usr/bin/python3 bench/lxc_lifecycle.py [--runs N]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import libvirt

from benchlib import HERE, ROOT, corral_daemon, libvirtd, ms, steal_percent, timed, virsh_timed

sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
from framework.container import build_rootfs  # noqa: E402

CONTAINER = """<domain type='lxc'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>exec sleep 100000</initarg></os>
  <devices>
    <filesystem type='mount'><source dir='{rootfs}'/><target dir='/'/></filesystem>
    <console type='pty'/>
  </devices>
</domain>"""

# Issue 3's targets, printed beside the figures.
TARGETS = {
    'start': 'within 3x of the unshare floor, at least 5x faster than libvirt',
    'controller': 'at most 2 MiB private',
}


def unshare_floor(rootfs, runs):
    """The kernel's part: new mount, uts, ipc, pid and net namespaces, chroot, exec, exit."""
    argv = ['unshare', '-m', '-u', '-i', '-p', '-n', '--fork', 'chroot', rootfs, '/bin/true']
    subprocess.run(argv, check=True)
    return [timed(lambda: subprocess.run(argv, check=True)) for _ in range(runs)]


def private_kib(pid):
    fields = {}
    with open(f'/proc/{pid}/smaps_rollup') as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(':'):
                fields[parts[0][:-1]] = int(parts[1])
    return fields.get('Private_Clean', 0) + fields.get('Private_Dirty', 0), fields.get('Rss', 0)


def controller_memory(conn, rootfs, tag, program):
    """Mean private and RSS KiB of the controllers of 10 running containers."""
    doms = [conn.createXML(CONTAINER.format(name=f'{tag}-mem{i}', rootfs=rootfs)) for i in range(10)]
    try:
        time.sleep(0.5)
        pids = subprocess.run(['pgrep', '-f', program], capture_output=True, text=True).stdout.split()
        samples = [private_kib(int(p)) for p in pids]
        samples = [s for s in samples if s[1] > 0]
        return (statistics.mean(s[0] for s in samples), statistics.mean(s[1] for s in samples), len(samples))
    finally:
        for d in doms:
            d.destroy()


def measure(uri, runs, rootfs, tag):
    conn = libvirt.open(uri)
    name = f'bench-{tag}'
    for old in [d for d in conn.listAllDomains() if d.name() == name]:
        if old.isActive():
            old.destroy()
        old.undefine()
    dom = conn.defineXML(CONTAINER.format(name=name, rootfs=rootfs))
    api = {'start': [], 'destroy': []}
    cli = {'start': [], 'destroy': []}
    try:
        dom.create()  # warm-up, not counted
        dom.destroy()
        for _ in range(runs):
            api['start'].append(timed(dom.create))
            api['destroy'].append(timed(dom.destroy))
            cli['start'].append(virsh_timed(uri, 'start', name))
            cli['destroy'].append(virsh_timed(uri, 'destroy', name))
    finally:
        if dom.isActive():
            dom.destroy()
        dom.undefine()
    program = 'corral-lxc' if tag == 'corral' else 'libvirt_lxc'
    memory = controller_memory(conn, rootfs, tag, program)
    conn.close()
    return api, cli, memory


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--runs', type=int, default=15)
    args = ap.parse_args()
    if not shutil.which('virsh') or not os.path.exists(os.path.join(ROOT, 'build', 'bin', 'corral-lxc')):
        sys.exit('build Corral first (bash scripts/test.sh or cmake --build build) and run bench/setup.sh')
    workdir = tempfile.mkdtemp(prefix='corral-bench-lxc-')
    os.chmod(workdir, 0o755)
    rootfs = build_rootfs(os.path.join(workdir, 'rootfs'))
    with libvirtd():
        daemon, corral_uri = corral_daemon(workdir, 'lxc')
        try:
            def run_all():
                floor = unshare_floor(rootfs, args.runs)
                corral = measure(corral_uri, args.runs, rootfs, 'corral')
                libvirt_ = measure('lxc:///system', args.runs, rootfs, 'libvirt')
                return floor, corral, libvirt_
            (floor, corral, libvirt_), steal = steal_percent(run_all)
        finally:
            daemon.terminate()
            daemon.wait()
            shutil.rmtree(workdir, ignore_errors=True)

    rows = []
    for kind, index, label in (('API', 0, '{op} (API)'), ('virsh', 1, 'virsh {op}')):
        for op in ('start', 'destroy'):
            c = statistics.median(corral[index][op])
            lv = statistics.median(libvirt_[index][op])
            rows.append({'operation': label.format(op=op), 'corral_ms': round(ms(c), 2),
                         'libvirt_ms': round(ms(lv), 2), 'libvirt_over_corral': round(lv / c, 1),
                         'target': TARGETS.get(op, '') if kind == 'API' else ''})
    floor_ms = ms(statistics.median(floor))
    start_ms = rows[0]['corral_ms']
    result = {
        'bench': 'lxc_lifecycle', 'runs': args.runs, 'steal_percent': round(steal, 1),
        'unshare_floor_ms': round(floor_ms, 2), 'corral_start_over_floor': round(start_ms / floor_ms, 2),
        'controller_kib': {
            'corral': {'private': round(corral[2][0]), 'rss': round(corral[2][1]), 'samples': corral[2][2]},
            'libvirt': {'private': round(libvirt_[2][0]), 'rss': round(libvirt_[2][1]), 'samples': libvirt_[2][2]},
        },
        'rows': rows, 'date': time.strftime('%Y-%m-%d %H:%M:%S'),
    }
    os.makedirs(os.path.join(HERE, 'results'), exist_ok=True)
    with open(os.path.join(HERE, 'results', 'lxc_lifecycle.json'), 'w') as f:
        json.dump(result, f, indent=2)
    mem = result['controller_kib']
    lines = [f"# LXC lifecycle: Corral and libvirt {result['date']}", '',
             f"{args.runs} runs each, medians; steal {result['steal_percent']} %; the kernel's floor (unshare of "
             f"mount, uts, ipc, pid and net namespaces + chroot + exec of /bin/true) {result['unshare_floor_ms']} ms "
             f"(Corral start = {result['corral_start_over_floor']}x floor).", '',
             '| operation | Corral ms | libvirt ms | libvirt / Corral | target |', '|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['operation']} | {r['corral_ms']} | {r['libvirt_ms']} | {r['libvirt_over_corral']}x | "
                     f"{r['target']} |")
    lines += ['', f"Per-container controller, mean of {mem['corral']['samples']} / {mem['libvirt']['samples']} "
              f"running: corral-lxc {mem['corral']['private']} KiB private ({mem['corral']['rss']} KiB RSS), "
              f"libvirt_lxc {mem['libvirt']['private']} KiB private ({mem['libvirt']['rss']} KiB RSS); target: "
              f"{TARGETS['controller']}."]
    md = '\n'.join(lines) + '\n'
    with open(os.path.join(HERE, 'results', 'lxc_lifecycle.md'), 'w') as f:
        f.write(md)
    print(md)


if __name__ == '__main__':
    main()
