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


def socket_round_trip_ns(seconds=1.0):
    """The machine's floor for one call: a 40-byte message to another process over a unix socket
    and back, the two processes on different CPUs (where the scheduler puts a client and a daemon
    when a CPU is idle), median of 10-call batches. Every daemon pays at least this per call; on a
    VM most of it is waking an idle vCPU, twice."""
    import socket
    cpus = sorted(os.sched_getaffinity(0))
    a, b = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        a.close()
        os.sched_setaffinity(0, {cpus[0]})
        while True:
            d = b.recv(64)
            if not d:
                os._exit(0)
            b.send(d)
    b.close()
    os.sched_setaffinity(0, {cpus[-1]})
    samples = []
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            t0 = time.perf_counter_ns()
            for _ in range(10):
                a.send(b'x' * 40)
                a.recv(64)
            samples.append((time.perf_counter_ns() - t0) / 10)
    finally:
        os.sched_setaffinity(0, cpus)
        a.close()
        os.waitpid(pid, 0)
    samples.sort()
    return samples[len(samples) // 2]


def disk_flush_ns(directory, samples=200):
    """The disk's floor for one durable write in `directory`: append 4 KiB to a file and
    fdatasync it (what one SQLite WAL commit costs at least), median of `samples`."""
    path = os.path.join(directory, '.corral-bench-flush')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    block = b'\0' * 4096
    times = []
    try:
        for _ in range(samples):
            t0 = time.perf_counter_ns()
            os.write(fd, block)
            os.fdatasync(fd)
            times.append(time.perf_counter_ns() - t0)
    finally:
        os.close(fd)
        os.unlink(path)
    times.sort()
    return times[len(times) // 2]


class RawRemoteClient:
    """The remote protocol with no client library: CONNECT_OPEN, then calls by number with
    ready-made XDR arguments. Times what a daemon does for a call without python3-libvirt's own
    work (for listAllDomains, building one Python object per domain)."""
    PROGRAM = 0x20008086

    def __init__(self, socket_path, uri):
        import socket
        import struct
        self.struct = struct
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(socket_path)
        self.serial = 0
        name = uri.encode()
        pad = b'\0' * ((4 - len(name) % 4) % 4)
        self.call(66)  # AUTH_LIST, as every libvirt client asks first
        # remote_connect_open_args: optional string (present=1, length, bytes, padding), flags.
        self.call(1, struct.pack('>II', 1, len(name)) + name + pad + struct.pack('>I', 0))

    def call(self, proc, payload=b''):
        s = self.struct
        self.serial += 1
        header = s.pack('>IIiiII', self.PROGRAM, 1, proc, 0, self.serial, 0)
        self.sock.sendall(s.pack('>I', 4 + len(header) + len(payload)) + header + payload)
        length = s.unpack('>I', self._read(4))[0]
        reply = self._read(length - 4)
        if s.unpack('>I', reply[20:24])[0] != 0:
            raise RuntimeError(f'procedure {proc} failed')
        return reply[24:]

    def _read(self, n):
        import socket
        data = self.sock.recv(n, socket.MSG_WAITALL)
        if len(data) != n:
            raise RuntimeError('daemon closed the connection')
        return data

    def close(self):
        self.sock.close()
