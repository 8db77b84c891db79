#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Storage volumes, Corral next to Debian's libvirt in one run: vol-create-as of N qcow2 volumes
(16 MiB each) in a `dir` pool, then listing them (the floor, Corral and libvirt in turn, one
volume each, so a load that comes and goes on the machine falls on all three alike), through python3-libvirt in process (and one
`virsh vol-list` each), on corrald and libvirtd side by side. The machine's floor is `qemu-img
create` run directly N times (both daemons run it once per qcow2 volume). Prints the times, the
ratios and the floor and writes bench/results/storage_volumes.{json,md}.

    sudo bash bench/setup.sh && /usr/bin/python3 bench/storage_volumes.py [--count N]
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

from benchlib import HERE, ROOT, corral_daemon, ms, steal_percent, timed, virsh_timed

VOLUME = """<volume><name>{name}</name><capacity unit='MiB'>16</capacity>
  <target><format type='qcow2'/></target></volume>"""


class system_libvirtd:
    """`with system_libvirtd():` Debian's libvirtd on qemu:///system for the block, started the way
    bench/libvirtd.sh starts it (tini -s, a private mount namespace without the cgroup2 mount)
    unless one answers there already. Only the one started here is stopped, by its pid: other
    libvirtd processes on the machine (a test's session daemon) are left alone."""

    def __enter__(self):
        self.proc = None
        if subprocess.run(['virsh', '-c', 'qemu:///system', 'uri'], capture_output=True).returncode == 0:
            return self
        self.log = open('/tmp/corral-bench-libvirtd.log', 'w')
        self.proc = subprocess.Popen(['unshare', '--mount', '--propagation', 'slave', 'sh', '-c',
                                      'umount /sys/fs/cgroup/unified 2>/dev/null || true; exec tini -s -- libvirtd'],
                                     stdout=self.log, stderr=self.log)
        for _ in range(400):
            if subprocess.run(['virsh', '-c', 'qemu:///system', 'uri'], capture_output=True).returncode == 0:
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)  # libvirtd has no readiness signal to wait on here
        self.__exit__()
        raise RuntimeError('libvirtd did not come up; see /tmp/corral-bench-libvirtd.log')

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # tini passes it on to libvirtd
            self.proc.wait(timeout=30)
        return False


class Side:
    """One daemon's dir pool for the bench, defined, built and started (removed by close())."""

    def __init__(self, uri, target, tag):
        self.uri = uri
        self.conn = libvirt.open(uri)
        self.name = f'bench-vols-{tag}-{os.getpid()}'
        self.pool = self.conn.storagePoolDefineXML(f"<pool type='dir'><name>{self.name}</name>"
                                                   f"<target><path>{target}</path></target></pool>", 0)
        self.pool.build(0)
        self.pool.create(0)
        # One volume made and removed first, not counted (first exec, page cache).
        self.pool.createXML(VOLUME.format(name='warm.qcow2'), 0).delete(0)

    def create(self, i):
        return timed(lambda: self.pool.createXML(VOLUME.format(name=f'v{i:04d}.qcow2'), 0))

    def list_all(self, count):
        vols = []
        t = timed(lambda: vols.extend(self.pool.listAllVolumes(0)))
        assert len(vols) == count, (self.name, len(vols))
        return t

    def close(self):
        if self.pool.isActive():
            for v in self.pool.listAllVolumes(0):
                v.delete(0)
            self.pool.destroy()
        self.pool.delete(0)
        self.pool.undefine()
        self.conn.close()


def floor_create(directory, i):
    """qemu-img create -f qcow2 of one file, run directly: what each daemon runs per volume."""
    path = os.path.join(directory, f'floor-{i:04d}.qcow2')
    t0 = time.perf_counter_ns()
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-o', 'compat=1.1', path, '16M'], check=True)
    return time.perf_counter_ns() - t0


def measure(workdir, corral_uri, count):
    """The floor, Corral and libvirt, one volume each in turn, so that a load that comes and goes
    on the machine (other work on its two CPUs) falls on all three alike. Then the listings,
    alternated too. Returns {'floor'|'corral'|'libvirt': {'create': [...], 'list': [...],
    'virsh': [...]}} in ns."""
    floor_dir = os.path.join(workdir, 'floor')
    os.mkdir(floor_dir)
    sides = {'corral': Side(corral_uri, os.path.join(workdir, 'corral-pool'), 'corral'),
             'libvirt': Side('qemu:///system', os.path.join(workdir, 'libvirt-pool'), 'libvirt')}
    out = {k: {'create': [], 'list': [], 'virsh': []} for k in ('floor', 'corral', 'libvirt')}
    try:
        for i in range(count):
            out['floor']['create'].append(floor_create(floor_dir, i))
            for k, side in sides.items():
                out[k]['create'].append(side.create(i))
        for _ in range(10):
            for k, side in sides.items():
                out[k]['list'].append(side.list_all(count))
        for _ in range(5):
            for k, side in sides.items():
                out[k]['virsh'].append(virsh_timed(side.uri, 'vol-list', side.name))
    finally:
        for side in sides.values():
            side.close()
        shutil.rmtree(floor_dir, ignore_errors=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--count', type=int, default=1000)
    args = ap.parse_args()
    if not shutil.which('virsh') or not os.path.exists(os.path.join(ROOT, 'build', 'bin', 'corrald')):
        sys.exit('build Corral first (bash scripts/test.sh or cmake --build build) and run bench/setup.sh')
    workdir = tempfile.mkdtemp(prefix='corral-bench-vols-')
    os.chmod(workdir, 0o755)
    with system_libvirtd():
        daemon, corral_uri = corral_daemon(workdir)
        try:
            res, steal = steal_percent(lambda: measure(workdir, corral_uri, args.count))
        finally:
            daemon.terminate()
            daemon.wait()
            shutil.rmtree(workdir, ignore_errors=True)

    floor, corral, libvirt_ = res['floor'], res['corral'], res['libvirt']
    floor_ms = ms(statistics.median(floor['create']))
    floor_total_s = sum(floor['create']) / 1e9

    def row(op, c_ns, l_ns, unit='ms'):
        c, lv = (ms(c_ns), ms(l_ns)) if unit == 'ms' else (c_ns / 1e9, l_ns / 1e9)
        return {'operation': op, 'unit': unit, 'corral': round(c, 2), 'libvirt': round(lv, 2),
                'libvirt_over_corral': round(lv / c, 1)}

    rows = [
        row(f'vol-create-as x{args.count} (sum)', sum(corral['create']), sum(libvirt_['create']), unit='s'),
        row('one vol-create-as (median)', statistics.median(corral['create']),
            statistics.median(libvirt_['create'])),
        row(f'listAllVolumes of {args.count} (median of 10)', statistics.median(corral['list']),
            statistics.median(libvirt_['list'])),
        row(f'virsh vol-list of {args.count} (median of 5)', statistics.median(corral['virsh']),
            statistics.median(libvirt_['virsh'])),
    ]
    result = {
        'bench': 'storage_volumes', 'count': args.count, 'steal_percent': round(steal, 1),
        'qemu_img_floor_ms': round(floor_ms, 2), 'qemu_img_floor_total_s': round(floor_total_s, 2),
        'corral_create_over_floor': round(ms(statistics.median(corral['create'])) / floor_ms, 2),
        'libvirt_create_over_floor': round(ms(statistics.median(libvirt_['create'])) / floor_ms, 2),
        'load_average_1min': os.getloadavg()[0],
        'rows': rows,
        'date': time.strftime('%Y-%m-%d %H:%M:%S'),
    }
    os.makedirs(os.path.join(HERE, 'results'), exist_ok=True)
    with open(os.path.join(HERE, 'results', 'storage_volumes.json'), 'w') as f:
        json.dump(result, f, indent=2)
    lines = [f"# Storage volumes: Corral and libvirt {result['date']}", '',
             f"{args.count} qcow2 volumes (16 MiB) in a dir pool through python3-libvirt; steal "
             f"{result['steal_percent']} %. The floor: `qemu-img create` run directly, "
             f"{result['qemu_img_floor_ms']} ms each (median), {result['qemu_img_floor_total_s']} s for "
             f"{args.count}; vol-create-as = {result['corral_create_over_floor']}x floor on Corral, "
             f"{result['libvirt_create_over_floor']}x on libvirt. The three run in turn, one volume each, "
             f"so a passing load falls on all alike (1-minute load average at the end: "
             f"{result['load_average_1min']:.1f}, {os.cpu_count()} CPUs).", '',
             '| operation | Corral | libvirt | libvirt / Corral |', '|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['operation']} | {r['corral']} {r['unit']} | {r['libvirt']} {r['unit']} | "
                     f"{r['libvirt_over_corral']}x |")
    md = '\n'.join(lines) + '\n'
    with open(os.path.join(HERE, 'results', 'storage_volumes.md'), 'w') as f:
        f.write(md)
    print(md)


if __name__ == '__main__':
    main()
