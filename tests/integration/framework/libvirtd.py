# SPDX-License-Identifier: LGPL-2.1-or-later
# Debian's real libvirtd as the reference corrald is compared with: a session daemon run as
# nobody on a private runtime directory, so it touches nothing of the host's own libvirt.
import os
import shutil
import subprocess
import tempfile
import time

import pytest

LIBVIRTD = '/usr/sbin/libvirtd'


def start_libvirtd():
    """Starts libvirtd; returns (process, socket path, base directory)."""
    # Short: libvirtd's unix sockets (a guest's agent channel, under
    # $XDG_CONFIG_HOME/libvirt/qemu/channel/target/domain-N-NAME/) must fit in 107 bytes.
    base = tempfile.mkdtemp(prefix='crl-lv-')
    os.chmod(base, 0o777)
    env = {'HOME': base, 'XDG_RUNTIME_DIR': f'{base}/run', 'XDG_CONFIG_HOME': f'{base}/config',
           'XDG_CACHE_HOME': f'{base}/cache', 'PATH': '/usr/sbin:/usr/bin:/sbin:/bin'}
    log = open(os.path.join(base, 'libvirtd.log'), 'w')
    proc = subprocess.Popen(['runuser', '-u', 'nobody', '--', 'env'] + [f'{k}={v}' for k, v in env.items()] +
                            [LIBVIRTD], stdout=log, stderr=log)
    sock = f'{base}/run/libvirt/libvirt-sock'
    deadline = time.monotonic() + 30
    while not os.path.exists(sock):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError('libvirtd did not start: ' + open(os.path.join(base, 'libvirtd.log')).read()[-2000:])
        time.sleep(0.1)  # polling for the socket file: libvirtd has no readiness signal here
    return proc, sock, base


def stop_libvirtd(proc, base):
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope='module')
def libvirtd():
    if not os.access(LIBVIRTD, os.X_OK):
        pytest.skip('libvirtd is not installed (scripts/setup.sh installs libvirt-daemon)')
    if os.geteuid() != 0:
        pytest.skip('needs root to run libvirtd as nobody')
    try:
        proc, sock, base = start_libvirtd()
    except RuntimeError as e:
        pytest.fail(str(e))
    yield sock
    stop_libvirtd(proc, base)


def guest_files_for_libvirtd(sock, name, guest_files):
    """A directory of the libvirtd at `sock` owned by nobody, and in it readable copies of the
    tiny guest's kernel and initramfs: the session daemon's QEMU runs as nobody. Returns
    (directory, copies)."""
    base = os.path.dirname(os.path.dirname(os.path.dirname(sock)))
    work = os.path.join(base, name)
    os.makedirs(work)
    shutil.chown(work, 'nobody')
    copies = []
    for path in guest_files:
        copy = os.path.join(work, os.path.basename(path))
        shutil.copyfile(path, copy)
        os.chmod(copy, 0o444)
        copies.append(copy)
    return work, copies
