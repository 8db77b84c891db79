# SPDX-License-Identifier: LGPL-2.1-or-later
# pytest fixtures: a fresh corrald per test on a private root, and file helpers.
import os
import shutil
import signal
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from framework.daemon import CorralDaemon  # noqa: E402


def pytest_addoption(parser):
    parser.addoption('--corral-bin', default=os.environ.get('CORRAL_BIN', '/work/main/build/bin'),
                     help='directory holding corrald and corral')


@pytest.fixture(scope='session')
def bin_dir(request):
    d = os.path.abspath(request.config.getoption('--corral-bin'))
    for prog in ('corrald', 'corral'):
        if not os.access(os.path.join(d, prog), os.X_OK):
            pytest.exit(f'{prog} not found in {d}: build first', returncode=1)
    return d


def kill_processes_under(path):
    """Kills what a failed test left running from its private root (guests, daemons)."""
    for pid in os.listdir('/proc'):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                cmdline = f.read()
        except OSError:
            continue
        if path.encode() in cmdline:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass


@pytest.fixture
def tmpdir_path():
    d = tempfile.mkdtemp(prefix='corral-it-')
    # Guests run under their own uid (DAC): their images must be reachable through this directory.
    os.chmod(d, 0o711)
    yield d
    kill_processes_under(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def daemon(bin_dir, tmpdir_path):
    root = os.path.join(tmpdir_path, 'root')
    os.makedirs(root)
    d = CorralDaemon(bin_dir, root)
    d.start()
    yield d
    if d.alive():
        d.stop()


@pytest.fixture
def write_file(tmpdir_path):
    def write(name, text):
        path = os.path.join(tmpdir_path, name)
        with open(path, 'w') as f:
            f.write(text)
        return path
    return write
