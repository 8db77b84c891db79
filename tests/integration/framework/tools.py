# SPDX-License-Identifier: LGPL-2.1-or-later
# Running the real virsh and the corral CLI and capturing what they print.
import contextlib
import os
import subprocess
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


def watch(argv):
    """A long-running client (`virsh event --loop` ...): terminate() it, then read its output."""
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop_watching(conn, callback_ids, watchers):
    """Deregisters `conn`'s event callbacks and closes it, ends the watch() clients and returns
    their standard outputs, in order."""
    for i in callback_ids:
        conn.domainEventDeregisterAny(i)
    conn.close()
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
