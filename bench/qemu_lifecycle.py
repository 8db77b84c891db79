#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""QEMU lifecycle, Corral next to Debian's libvirt in one run: start (call to running), destroy,
suspend, resume, save and restore of the same 128 MiB TCG guest with no disk, through the same
clients (python3-libvirt in process, and one fresh `virsh` per command). Prints medians and
ratios and writes bench/results/qemu_lifecycle.{json,md}.

    sudo bash bench/setup.sh && /usr/bin/python3 bench/qemu_lifecycle.py [--runs N]
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

GUEST = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
</domain>"""

# Issue 4's targets, printed beside the figures.
TARGETS = {
    'start': 'within 2x of the QMP floor (about 54 ms here), at least 4x faster than libvirt',
    'destroy': 'under 20 ms',
}


def qmp_floor(runs):
    """QEMU alone: exec until qmp_capabilities is answered (the anchor's floor)."""
    import socket
    samples = []
    for _ in range(runs):
        d = tempfile.mkdtemp(prefix='corral-bench-qmp-')
        sock = os.path.join(d, 'qmp')
        t0 = time.perf_counter_ns()
        p = subprocess.Popen(['qemu-system-x86_64', '-nodefaults', '-no-user-config', '-display', 'none',
                              '-machine', 'pc', '-accel', 'tcg', '-m', '128', '-S',
                              '-qmp', f'unix:{sock},server=on,wait=off'],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        s = socket.socket(socket.AF_UNIX)
        while True:
            try:
                s.connect(sock)
                break
            except OSError:
                time.sleep(0.0005)
        f = s.makefile('rwb')
        f.readline()
        f.write(b'{"execute":"qmp_capabilities"}\n')
        f.flush()
        f.readline()
        samples.append(time.perf_counter_ns() - t0)
        p.kill()
        p.wait()
        s.close()
        shutil.rmtree(d, ignore_errors=True)
    return samples


def measure(uri, runs, workdir, tag):
    """Per operation: API samples (python3-libvirt) and virsh samples, in ns."""
    conn = libvirt.open(uri)
    name = f'bench-{tag}'
    for old in [d for d in conn.listAllDomains() if d.name() == name]:
        if old.isActive():
            old.destroy()
        old.undefine()
    dom = conn.defineXML(GUEST.format(name=name))
    api = {k: [] for k in ('start', 'suspend', 'resume', 'save', 'restore', 'destroy')}
    cli = {k: [] for k in ('start', 'destroy')}
    image = os.path.join(workdir, f'{tag}.save')
    try:
        # One warm-up cycle each, not counted (first exec, page cache).
        dom.create()
        dom.destroy()
        for _ in range(runs):
            api['start'].append(timed(dom.create))
            api['suspend'].append(timed(dom.suspend))
            api['resume'].append(timed(dom.resume))
            api['save'].append(timed(lambda: dom.save(image)))
            api['restore'].append(timed(lambda: conn.restore(image)))
            os.unlink(image)
            api['destroy'].append(timed(dom.destroy))
            cli['start'].append(virsh_timed(uri, 'start', name))
            cli['destroy'].append(virsh_timed(uri, 'destroy', name))
        size = None
        dom.create()
        dom.save(image)
        size = os.path.getsize(image)
        os.unlink(image)
    finally:
        if dom.isActive():
            dom.destroy()
        dom.undefine()
        conn.close()
    return api, cli, size


def rss_kib(pids):
    total = 0
    for pid in pids:
        with open(f'/proc/{pid}/status') as f:
            total += next(int(l.split()[1]) for l in f if l.startswith('VmRSS:'))
    return total


def per_guest_kib(uri, pids_of, tag, guests=8):
    """What the management daemon (and its helpers) hold per running guest: their RSS with
    `guests` guests running, less their RSS before, divided by `guests`. QEMU's own memory is
    the same on both sides and not counted."""
    conn = libvirt.open(uri)
    doms = [conn.defineXML(GUEST.format(name=f'bench-{tag}-pg{i}')) for i in range(guests)]
    try:
        time.sleep(1)
        before = rss_kib(pids_of())
        for d in doms:
            d.create()
        time.sleep(2)
        after = rss_kib(pids_of())
    finally:
        for d in doms:
            if d.isActive():
                d.destroy()
            d.undefine()
        conn.close()
    return (after - before) / guests


def libvirt_pids():
    """libvirtd and virtlogd (which holds every guest's log for it)."""
    out = []
    for name in ('libvirtd', 'virtlogd'):
        r = subprocess.run(['pgrep', '-x', name], capture_output=True, text=True)
        out += [int(p) for p in r.stdout.split()]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--runs', type=int, default=15)
    args = ap.parse_args()
    if not shutil.which('virsh') or not os.path.exists(os.path.join(ROOT, 'build', 'bin', 'corrald')):
        sys.exit('build Corral first (bash scripts/test.sh or cmake --build build) and run bench/setup.sh')
    workdir = tempfile.mkdtemp(prefix='corral-bench-')
    os.chmod(workdir, 0o755)  # libvirt's QEMU runs as libvirt-qemu and writes the save image
    with libvirtd():
        daemon, corral_uri = corral_daemon(workdir)
        try:
            def run_all():
                floor = qmp_floor(args.runs)
                # Alternate the systems so drifting noise hits both alike.
                c_api, c_cli, c_size = measure(corral_uri, args.runs, workdir, 'corral')
                l_api, l_cli, l_size = measure('qemu:///system', args.runs, workdir, 'libvirt')
                c_guest = per_guest_kib(corral_uri, lambda: [daemon.pid], 'corral')
                l_guest = per_guest_kib('qemu:///system', libvirt_pids, 'libvirt')
                return floor, (c_api, c_cli, c_size, c_guest), (l_api, l_cli, l_size, l_guest)
            (floor, corral, libvirt_), steal = steal_percent(run_all)
        finally:
            daemon.terminate()
            daemon.wait()
            shutil.rmtree(workdir, ignore_errors=True)

    rows = []
    for op in ('start', 'destroy', 'suspend', 'resume', 'save', 'restore'):
        c = statistics.median(corral[0][op])
        lv = statistics.median(libvirt_[0][op])
        rows.append({'operation': f'{op} (API)', 'corral_ms': round(ms(c), 2), 'libvirt_ms': round(ms(lv), 2),
                     'libvirt_over_corral': round(lv / c, 1), 'target': TARGETS.get(op, '')})
    for op in ('start', 'destroy'):
        c = statistics.median(corral[1][op])
        lv = statistics.median(libvirt_[1][op])
        rows.append({'operation': f'virsh {op}', 'corral_ms': round(ms(c), 2), 'libvirt_ms': round(ms(lv), 2),
                     'libvirt_over_corral': round(lv / c, 1), 'target': ''})
    floor_ms = ms(statistics.median(floor))
    start_ms = rows[0]['corral_ms']
    result = {
        'bench': 'qemu_lifecycle', 'runs': args.runs, 'steal_percent': round(steal, 1),
        'qmp_floor_ms': round(floor_ms, 2), 'corral_start_over_floor': round(start_ms / floor_ms, 2),
        'save_image_bytes': {'corral': corral[2], 'libvirt': libvirt_[2]},
        'daemon_kib_per_running_guest': {'corral': round(corral[3], 1), 'libvirt': round(libvirt_[3], 1)},
        'rows': rows,
        'date': time.strftime('%Y-%m-%d %H:%M:%S'),
    }
    os.makedirs(os.path.join(HERE, 'results'), exist_ok=True)
    with open(os.path.join(HERE, 'results', 'qemu_lifecycle.json'), 'w') as f:
        json.dump(result, f, indent=2)
    lines = [f"# QEMU lifecycle: Corral and libvirt {result['date']}", '',
             f"{args.runs} runs each, medians; steal {result['steal_percent']} %; QEMU's own QMP floor "
             f"{result['qmp_floor_ms']} ms (Corral start = {result['corral_start_over_floor']}x floor).", '',
             '| operation | Corral ms | libvirt ms | libvirt / Corral | target |', '|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['operation']} | {r['corral_ms']} | {r['libvirt_ms']} | {r['libvirt_over_corral']}x | "
                     f"{r['target']} |")
    lines.append('')
    lines.append(f"Save image: Corral {corral[2]} bytes, libvirt {libvirt_[2]} bytes.")
    lines.append('')
    lines.append(f"Per running guest, the management side's RSS (8 guests running, less none): corrald "
                 f"{round(corral[3])} KiB, libvirtd + virtlogd {round(libvirt_[3])} KiB.")
    md = '\n'.join(lines) + '\n'
    with open(os.path.join(HERE, 'results', 'qemu_lifecycle.md'), 'w') as f:
        f.write(md)
    print(md)


if __name__ == '__main__':
    main()
