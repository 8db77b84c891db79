# SPDX-License-Identifier: LGPL-2.1-or-later
# CorralDaemon: one real corrald on a private --root, started, killed and restarted by tests.
# Every exit is accounted for: finish() (run by the fixtures at teardown) reports a daemon that
# died on its own, one that did not exit 0 on SIGTERM, and crash reports or error lines in its log.
import os
import re
import signal
import socket
import subprocess
import time

# A log line at error level ("<date> <time>: <pid>: error : <message>", src/util/logging.cpp).
LOG_ERROR = re.compile(r'^\S+ \S+: \d+: error : (.*)$', re.M)
# What a crash leaves on stderr: a failed CORRAL_CHECK, the sanitizers, libstdc++, glibc.
CRASH = re.compile(r'corral: fatal: check|AddressSanitizer|LeakSanitizer|runtime error:|terminate called|'
                   r'stack smashing detected|double free|free\(\): invalid')


def process_cpu_seconds(pid):
    """utime + stime of a whole process (all its threads), from /proc/PID/stat."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def socket_inodes(pid):
    """The inodes (as /proc/net/* prints them) of the sockets process `pid` holds."""
    inodes = set()
    for fd in os.listdir(f'/proc/{pid}/fd'):
        try:
            target = os.readlink(f'/proc/{pid}/fd/{fd}')
        except OSError:
            continue
        if target.startswith('socket:['):
            inodes.add(target[len('socket:['):-1])
    return inodes


class CorralDaemon:
    instances = []  # every daemon this test process made, for the fixtures' teardown checks

    def __init__(self, bin_dir, root, max_files=None):
        self.max_files = max_files
        self.bin_dir = bin_dir
        self.root = root
        self.proc = None
        self.stderr_path = os.path.join(root, 'corrald.stderr')
        self.problems = []           # what finish() reports
        self.allowed_errors = []     # patterns of error lines the test provokes on purpose
        self._exit_seen = True       # the last exit was asked for (stop, kill9) or seen by the test
        self._log_shown = []         # (begin, end) of the log a failed start showed the test
        self._log_begin = 0          # where the log of the current run begins
        self.finished = False
        CorralDaemon.instances.append(self)

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
        self._note_unseen_exit()
        os.makedirs(self.root, exist_ok=True)
        self._stderr = open(self.stderr_path, 'a')
        self._log_begin = len(self.stderr())
        preexec = None
        if self.max_files:
            import resource
            limit = self.max_files
            preexec = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))  # noqa: E731
        self.proc = subprocess.Popen([os.path.join(self.bin_dir, 'corrald'), '--root', self.root],
                                     stdout=subprocess.DEVNULL, stderr=self._stderr, preexec_fn=preexec)
        self._exit_seen = False
        if wait:
            self.wait_ready()
            if self._test_state_wanted:
                self._open_test_state_hold()
        return self

    # test:///default goes back to its fixtures when its last connection closes (as libvirt's).
    # A test whose virsh calls build on each other holds one connection open, across restarts.
    _test_state_wanted = False
    _test_state_conn = None

    def hold_test_state(self):
        self._test_state_wanted = True
        self._open_test_state_hold()

    def release_test_state(self):
        self._test_state_wanted = False
        self._close_test_state_hold()

    def _open_test_state_hold(self):
        import libvirt
        self._close_test_state_hold()
        self._test_state_conn = libvirt.open(self.uri('test'))

    def _close_test_state_hold(self):
        import libvirt
        conn, self._test_state_conn = self._test_state_conn, None
        if conn is not None:
            try:
                conn.close()
            except libvirt.libvirtError:
                pass  # the daemon went first

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                # The test sees this failure (and what the daemon printed about it).
                self._exit_seen = True
                self._log_shown.append((self._log_begin, len(self.stderr())))
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
        """SIGTERM and the exit status; anything but 0 is also reported by finish()."""
        if self.proc is None or self.proc.poll() is not None:
            self._note_unseen_exit()
            return self.proc.returncode if self.proc else None
        self._close_test_state_hold()
        self.proc.send_signal(signal.SIGTERM)
        self._exit_seen = True
        try:
            rc = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.problems.append('corrald did not exit within 60 s of SIGTERM')
            raise
        if rc != 0:
            self.problems.append(f'corrald exited with {rc} on SIGTERM')
        return rc

    def kill9(self):
        self._exit_seen = True
        self.proc.kill()
        self.proc.wait()
        self._close_test_state_hold()

    def allow_log_errors(self, *patterns):
        """Error lines matching these regular expressions are what the test provokes."""
        self.allowed_errors.extend(re.compile(p) for p in patterns)

    def _note_unseen_exit(self):
        if self.proc is not None and self.proc.poll() is not None and not self._exit_seen:
            self.problems.append(f'corrald exited on its own with {self.proc.returncode}')
            self._exit_seen = True

    def finish(self):
        """Stops the daemon if it runs and returns what went wrong in its life: exits nobody asked
        for, a SIGTERM that did not end in exit status 0, crash reports and error lines in its log
        (but those a failed start showed the test, and those allowed by allow_log_errors)."""
        if self.finished:
            return []
        self.finished = True
        if self.alive():
            try:
                self.stop()
            except subprocess.TimeoutExpired:
                pass
        self._note_unseen_exit()
        log = self.stderr()
        for begin, end in reversed(self._log_shown):
            log = log[:begin] + log[end:]
        problems = list(self.problems)
        problems += [f'crash report in the log: {line}' for line in log.splitlines() if CRASH.search(line)]
        for message in LOG_ERROR.findall(log):
            if not any(p.search(message) for p in self.allowed_errors):
                problems.append(f'error logged: {message}')
        return problems

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def fd_count(self):
        return len(os.listdir(f'/proc/{self.pid}/fd'))

    def client_connections(self):
        """Client connections the daemon holds open on its unix sockets: its descriptors that are
        connected sockets bound to its socket paths (/proc/net/unix: accepted sockets carry the
        listener's path, state 03 = connected)."""
        inodes = socket_inodes(self.pid)
        count = 0
        with open('/proc/net/unix') as f:
            next(f)
            for line in f:
                fields = line.split()
                if len(fields) >= 8 and fields[6] in inodes and fields[5] == '03' and \
                        fields[7] in (self.socket, self.socket_ro):
                    count += 1
        return count

    def cpu_seconds(self):
        return process_cpu_seconds(self.pid)

    def rss_kib(self):
        with open(f'/proc/{self.pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
        return 0
