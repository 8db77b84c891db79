# SPDX-License-Identifier: LGPL-2.1-or-later
# CorralDaemon: one real corrald on a private --root, started, killed and restarted by tests.
import os
import signal
import socket
import subprocess
import time


class CorralDaemon:
    def __init__(self, bin_dir, root, max_files=None):
        self.max_files = max_files
        self.bin_dir = bin_dir
        self.root = root
        self.proc = None
        self.stderr_path = os.path.join(root, 'corrald.stderr')

    @property
    def socket(self):
        return os.path.join(self.root, 'run', 'corral', 'corral-sock')

    @property
    def socket_ro(self):
        return self.socket + '-ro'

    def uri(self, driver='test', readonly=False):
        path = {'test': '/default', 'qemu': '/system', 'lxc': '/'}[driver]
        sock = self.socket_ro if readonly else self.socket
        return f'{driver}+unix://{path}?socket={sock}'

    def write_config(self, text):
        conf_dir = os.path.join(self.root, 'etc', 'corral')
        os.makedirs(conf_dir, exist_ok=True)
        with open(os.path.join(conf_dir, 'corrald.conf'), 'w') as f:
            f.write(text)

    def start(self, wait=True):
        assert self.proc is None or self.proc.poll() is not None, 'daemon already running'
        os.makedirs(self.root, exist_ok=True)
        self._stderr = open(self.stderr_path, 'a')
        preexec = None
        if self.max_files:
            import resource
            limit = self.max_files
            preexec = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))  # noqa: E731
        self.proc = subprocess.Popen([os.path.join(self.bin_dir, 'corrald'), '--root', self.root],
                                     stdout=subprocess.DEVNULL, stderr=self._stderr, preexec_fn=preexec)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f'corrald exited with {self.proc.returncode}: {self.stderr()}')
            if os.path.exists(self.socket):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(self.socket)
                    return
                except OSError:
                    pass
                finally:
                    s.close()
            time.sleep(0.02)
        raise RuntimeError('corrald did not become ready: ' + self.stderr())

    def stderr(self):
        try:
            with open(self.stderr_path) as f:
                return f.read()
        except OSError:
            return ''

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def fd_count(self):
        return len(os.listdir(f'/proc/{self.pid}/fd'))

    def cpu_seconds(self):
        with open(f'/proc/{self.pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def rss_kib(self):
        with open(f'/proc/{self.pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
        return 0
