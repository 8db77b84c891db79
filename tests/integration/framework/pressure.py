# SPDX-License-Identifier: LGPL-2.1-or-later
# Measuring a daemon under attack: a privileged client's latency on the read-write socket
# throughout, the daemon's resident memory, and floods of connections from unprivileged uids.
import os
import resource
import socket
import struct
import subprocess
import sys
import threading
import time

from framework.rawclient import RawClient, xdr_string

FLOOD = os.path.join(os.path.dirname(__file__), 'flood_unix.py')


class LatencyProbe:
    """Root's client on the read-write socket, in a thread: a new connection each round, then
    CONNECT_OPEN and DOMAIN_LOOKUP_BY_NAME('test'). A refused connection or a missing answer
    counts as a failure; every round's duration is kept."""

    def __init__(self, daemon):
        self.socket = daemon.socket
        self.durations = []
        self.failures = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=60)

    def _round(self):
        start = time.monotonic()
        c = RawClient(self.socket, timeout=10)
        try:
            opened = c.open()
            found = c.call(23, xdr_string('test'))
            if opened is None or found is None or found[0][5] != 0:
                raise RuntimeError(f'no answer: {opened!r} {found!r}')
        finally:
            c.close()
        return time.monotonic() - start

    def _run(self):
        while not self._stop.is_set():
            try:
                self.durations.append(self._round())
            except (OSError, RuntimeError) as e:
                self.failures.append(repr(e))
            self._stop.wait(0.01)  # pacing, not synchronisation: about 100 rounds a second at most

    def wait_rounds(self, n, timeout=60):
        """Waits until `n` more rounds have finished (the probe ran during what came before)."""
        target = len(self.durations) + len(self.failures) + n
        deadline = time.monotonic() + timeout
        while len(self.durations) + len(self.failures) < target:
            assert time.monotonic() < deadline, 'the latency probe made no progress'
            time.sleep(0.01)

    def assert_served(self, bound):
        assert not self.failures, self.failures[:5]
        assert self.durations, 'the probe never finished a round'
        assert max(self.durations) < bound, f'slowest of {len(self.durations)} rounds: {max(self.durations):.2f} s'

    def figures(self):
        d = sorted(self.durations)
        return f'{len(d)} rounds, median {d[len(d) // 2] * 1000:.1f} ms, max {d[-1] * 1000:.1f} ms'


def rss_mib(daemon):
    return daemon.rss_kib() / 1024


def wait_until(predicate, timeout=60, what='condition'):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f'timed out waiting for {what}'
        time.sleep(0.05)


class UnixFlood:
    """`count` connections to `path` held by a child process running as `uid`; each sends
    AUTH_LIST, and `held` is how many the daemon answered (the others it closed)."""

    def __init__(self, path, count, uid):
        def demote():
            resource.setrlimit(resource.RLIMIT_NOFILE, (count + 64, count + 64))
            os.setgid(uid)
            os.setuid(uid)
        with open(FLOOD) as f:
            code = f.read()  # as -c: the uid may not be able to read the test tree
        self.proc = subprocess.Popen([sys.executable, '-c', code, path, str(count)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, preexec_fn=demote)
        line = self.proc.stdout.readline()  # the child's signal: every connection was tried
        assert line.startswith('held '), line
        self.held, self.refused = int(line.split()[1]), int(line.split()[3])

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def connect_from(source, port, host='127.0.0.1'):
    """A TCP connection to host:port from the loopback address `source` (any of 127/8)."""
    s = socket.socket()
    s.bind((source, 0))
    s.connect((host, port))
    return s


def is_closed_by_peer(s):
    """Whether the other end closed `s` (without waiting)."""
    s.setblocking(False)
    try:
        return s.recv(1, socket.MSG_PEEK) == b''
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    finally:
        s.setblocking(True)


def auth_list_packet(serial=0):
    body = struct.pack('>IIiIII', 0x20008086, 1, 66, 0, serial, 0)
    return struct.pack('>I', len(body) + 4) + body
