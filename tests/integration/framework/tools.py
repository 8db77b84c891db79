# SPDX-License-Identifier: LGPL-2.1-or-later
# Running the real virsh and the corral CLI and capturing what they print.
import contextlib
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass


@dataclass
class Run:
    rc: int
    out: str
    err: str


def run(argv, timeout=60, env=None, input=None, pass_fds=()):
    full_env = dict(os.environ)
    full_env.pop('LIBVIRT_DEFAULT_URI', None)
    full_env.pop('CORRAL_DEFAULT_URI', None)
    for key, value in (env or {}).items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=full_env, input=input,
                       pass_fds=pass_fds)
    return Run(p.returncode, p.stdout, p.stderr)


def virsh(uri, *args, readonly=False, **kw):
    argv = ['virsh', '-c', uri] + (['-r'] if readonly else []) + list(args)
    return run(argv, **kw)


def corral(bin_dir, uri, *args, readonly=False, **kw):
    argv = [os.path.join(bin_dir, 'corral'), '-c', uri] + (['-r'] if readonly else []) + list(args)
    return run(argv, **kw)


def domain_xml(name, dtype='test', uuid=None, memory_mib=128, extra_devices=''):
    uuid_el = f'<uuid>{uuid}</uuid>' if uuid else ''
    return (f"<domain type='{dtype}'><name>{name}</name>{uuid_el}"
            f"<memory unit='MiB'>{memory_mib}</memory><vcpu>1</vcpu>"
            f"<os><type>{'exe' if dtype == 'lxc' else 'hvm'}</type>"
            f"{'<init>/sbin/init</init>' if dtype == 'lxc' else ''}</os>"
            f"<devices>{extra_devices}</devices></domain>")


class Watch:
    """A long-running client (`virsh event --loop` ...) whose output is read as it comes, so a
    test can wait for a line instead of sleeping. terminate() or interrupt() it, then
    communicate() returns (stdout, stderr) as subprocess.Popen's does."""

    def __init__(self, argv):
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip('\n'))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def printed(self, text, after=0):
        with self._changed:
            return any(text in line for line in self.lines[after:])

    def wait_printed(self, text, timeout, after=0):
        """True once a line holding `text` came (after the first `after` lines); False after
        `timeout` seconds or when the client exited without printing it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(text in line for line in self.lines[after:]):
                left = deadline - time.monotonic()
                if left <= 0 or not self._reader.is_alive():
                    return False
                self._changed.wait(left)
            return True

    def terminate(self):
        self.proc.terminate()

    def interrupt(self):
        """^C: virsh and corral end their event loop and print how many events came."""
        self.proc.send_signal(signal.SIGINT)

    def communicate(self, timeout=30):
        self.proc.wait(timeout=timeout)
        self._reader.join(timeout)
        err = self.proc.stderr.read()
        self.proc.stderr.close()
        with self._changed:
            return ''.join(line + '\n' for line in self.lines), err


def watch(argv):
    return Watch(argv)


def until_printed(watchers, text, poke, timeout=60):
    """Calls poke() until every watcher printed a line holding `text`: the signal that each one
    is listening. The short wait between pokes only paces them; nothing is assumed about time."""
    deadline = time.monotonic() + timeout
    while True:
        poke()
        for w in watchers:
            w.wait_printed(text, 0.5)
        if all(w.printed(text) for w in watchers):
            return
        assert time.monotonic() < deadline, (f'{text!r} not printed by every watcher within {timeout} s',
                                             [(w.argv, w.lines) for w in watchers])
        assert all(w.proc.poll() is None for w in watchers), [(w.argv, w.communicate()) for w in watchers]


PROBE = 'corral-watch-probe'


def watch_events(uri, argvs, dtype='test'):
    """Starts each `event --loop --all` client in `argvs` and returns them (Watch) once every one
    has its callbacks registered. Signal: a probe domain is defined and its title changed until
    each client printed the metadata-change event. virsh and corral register event IDs in
    ascending order and metadata-change (23) comes after every event the tests watch, so those
    are registered too. The probe is undefined again; event_lines() leaves its lines out."""
    watchers = [watch(argv) for argv in argvs]
    if dtype == 'qemu':
        xml = (f"<domain type='qemu'><name>{PROBE}</name><memory unit='MiB'>64</memory>"
               "<os><type arch='x86_64' machine='pc'>hvm</type></os></domain>")
    else:
        xml = domain_xml(PROBE, dtype)
    r = virsh(uri, 'define', '/dev/stdin', input=xml)
    assert r.rc == 0, r.err
    titles = iter(range(1, 1000000))

    def poke():
        r = virsh(uri, 'desc', PROBE, '--config', '--title', f'probe {next(titles)}')
        assert r.rc == 0, r.err
    try:
        until_printed(watchers, f"event 'metadata-change' for domain '{PROBE}'", poke)
    finally:
        assert virsh(uri, 'undefine', PROBE).rc == 0
    return watchers


def event_lines(out, prefixes=("event '",)):
    """The lines of a watcher's output starting with one of `prefixes`, the probe's left out."""
    return [line for line in out.splitlines()
            if line.startswith(prefixes) and f"for domain '{PROBE}'" not in line]


def stop_watching(conn, callback_ids, watchers, last=None):
    """Deregisters `conn`'s event callbacks and closes it, ends the watch() clients and returns
    their standard outputs, in order. With `last`, each client must first have printed a line
    holding it (the last event the test caused), so none is stopped while events are in flight."""
    for i in callback_ids:
        conn.domainEventDeregisterAny(i)
    conn.close()
    if last is not None:
        for w in watchers:
            assert w.wait_printed(last, 60), (w.argv, w.lines)
    for w in watchers:
        w.terminate()
    return [w.communicate(timeout=30)[0] for w in watchers]


@contextlib.contextmanager
def image_on_full_filesystem(directory, name):
    """A 32 MiB sparse raw image on a 1 MiB tmpfs under `directory`: a guest's writes to it
    hit ENOSPC on the host (QEMU's I/O error with nospace)."""
    full = os.path.join(directory, 'full')
    os.makedirs(full)
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', full], check=True)
    try:
        image = os.path.join(full, name)
        subprocess.run(['truncate', '-s', '32M', image], check=True)
        yield image
    finally:
        subprocess.run(['umount', '-l', full])
