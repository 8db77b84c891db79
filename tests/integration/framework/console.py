# SPDX-License-Identifier: LGPL-2.1-or-later
# Driving a guest's console as people do: a program (virsh console, corral console,
# virt-install) on a terminal of its own, and python3-libvirt's openConsole stream.
import os
import pty
import select
import threading
import time


class Terminal:
    """A program on a pseudo-terminal: what it prints is collected, keys are typed into it."""

    def __init__(self, argv, env=None):
        self.seen = b''
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            if env:
                os.environ.update(env)
            os.execvp(argv[0], argv)

    def read_until(self, marker, timeout=60):
        """True once `marker` (bytes) was printed; reads for at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while marker not in self.seen and time.monotonic() < deadline:
            if not select.select([self.fd], [], [], 0.5)[0]:
                continue
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.seen += chunk
        return marker in self.seen

    def type_until(self, keys, marker, timeout=60):
        """Types `keys` until `marker` is printed: a console client discards what is typed before
        it made its terminal raw, so the first keys may be lost."""
        deadline = time.monotonic() + timeout
        while marker not in self.seen and time.monotonic() < deadline:
            os.write(self.fd, keys)
            self.read_until(marker, min(3, max(0.1, deadline - time.monotonic())))
        return marker in self.seen

    def exited(self, timeout=60):
        """The exit status once the program ended within `timeout`, else None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.pid = 0
                return os.waitstatus_to_exitcode(status)
            self.read_until(b'\0never\0', 0.2)  # keep its terminal drained
        return None

    def close(self):
        if self.pid:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
            self.pid = 0
        os.close(self.fd)


class StreamConsole:
    """python3-libvirt's openConsole: a thread collects what the guest writes until the stream
    ends (`ended` is set, with `error` when it ended with one)."""

    def __init__(self, conn, dom, devname=None, flags=0):
        self.stream = conn.newStream(0)
        dom.openConsole(devname, self.stream, flags)
        self.received = bytearray()
        self.ended = threading.Event()
        self.error = None
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        try:
            while True:
                chunk = self.stream.recv(4096)
                if not chunk:
                    break
                with self._cond:
                    self.received.extend(chunk)
                    self._cond.notify_all()
        except Exception as e:  # noqa: BLE001 - the test reads why the stream ended
            self.error = e
        self.ended.set()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, marker, timeout=60):
        with self._cond:
            return self._cond.wait_for(lambda: marker in self.received or self.ended.is_set(), timeout) and \
                marker in self.received

    def type_until(self, keys, marker, timeout=60):
        deadline = time.monotonic() + timeout
        while marker not in self.received and not self.ended.is_set() and time.monotonic() < deadline:
            self.stream.send(keys)
            self.wait_for(marker, min(3, max(0.1, deadline - time.monotonic())))
        return marker in self.received

    def abort(self):
        try:
            self.stream.abort()
        except Exception:  # noqa: BLE001 - already ended
            pass
