# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the side-by-side benches share: timing, a Corral daemon on a scratch root, Debian's
libvirtd started the way it runs at full speed here (bench/libvirtd.sh), steal time."""
import os
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def ms(ns):
    return ns / 1e6


def timed(fn):
    t0 = time.perf_counter_ns()
    fn()
    return time.perf_counter_ns() - t0


def virsh_timed(uri, *args):
    t0 = time.perf_counter_ns()
    r = subprocess.run(['virsh', '-c', uri, *args], capture_output=True, text=True)
    dt = time.perf_counter_ns() - t0
    if r.returncode != 0:
        raise RuntimeError(f'virsh {" ".join(args)}: {r.stderr.strip()}')
    return dt


def corral_daemon(workdir, driver='qemu'):
    """corrald --root WORKDIR/corral-root; returns (process, URI of `driver`)."""
    root = os.path.join(workdir, 'corral-root')
    os.makedirs(root)
    proc = subprocess.Popen([os.path.join(ROOT, 'build', 'bin', 'corrald'), '--root', root],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, 'corrald.log'), 'w'))
    sock = os.path.join(root, 'run', 'corral', 'corral-sock')
    path = {'qemu': '/system', 'lxc': '/'}[driver]
    uri = f'{driver}+unix://{path}?socket={sock}'
    for _ in range(400):
        if os.path.exists(sock) and subprocess.run(['virsh', '-c', uri, 'uri'], capture_output=True).returncode == 0:
            return proc, uri
        time.sleep(0.025)
    proc.kill()
    raise RuntimeError('corrald did not start')


class libvirtd:
    """`with libvirtd():` Debian's libvirtd up for the block (stopped after if it was not running)."""

    def __enter__(self):
        self.was_running = subprocess.run(['pgrep', '-x', 'libvirtd'], capture_output=True).returncode == 0
        subprocess.run(['bash', os.path.join(HERE, 'libvirtd.sh'), 'start'], check=True)
        return self

    def __exit__(self, *exc):
        if not self.was_running:
            subprocess.run(['bash', os.path.join(HERE, 'libvirtd.sh'), 'stop'])
        return False


def steal_percent(fn):
    """Runs fn; returns (its result, the hypervisor's steal time in % of CPU time meanwhile)."""
    def read():
        with open('/proc/stat') as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return v[7] if len(v) > 7 else 0, sum(v)
    s0, t0 = read()
    out = fn()
    s1, t1 = read()
    return out, 100.0 * (s1 - s0) / max(1, t1 - t0)
