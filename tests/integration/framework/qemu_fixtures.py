# SPDX-License-Identifier: LGPL-2.1-or-later
# What the QEMU tests share: the tiny guest's definition, waiting on its serial console, and a
# fixture that defines guests on a fresh daemon and destroys whatever is left at the end.
# Test modules import the fixtures by name (pytest finds them in the module's namespace).
import os
import shutil
import signal
import subprocess
import time

import pytest

from framework import cgroups
from framework.daemon import CorralDaemon
from framework.guest import build_guest
from framework.tools import virsh

pytestmark = pytest.mark.skipif(shutil.which('qemu-system-x86_64') is None,
                                reason='qemu-system-x86 is not installed (scripts/setup.sh installs it)')


@pytest.fixture(scope='session')
def guest_files(bin_dir):
    built = build_guest(os.path.join(os.path.dirname(bin_dir), 'test-guest'))
    if built is None:
        pytest.skip('no kernel in /boot or no busybox: run scripts/setup.sh')
    return built


def guest_xml(name, guest_files, serial_path, extra_devices='', on_crash='destroy', cmdline_extra='',
              machine='pc', on_poweroff='destroy', vcpus=1, iothreads=0, current_memory_mib=None,
              serial_device=None):
    kernel, initrd = guest_files
    serial_device = serial_device or \
        f"<serial type='file'><source path='{serial_path}' append='on'/><target port='0'/></serial>"
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>192</memory>{f"<currentMemory unit='MiB'>{current_memory_mib}</currentMemory>" if current_memory_mib else ''}
  <vcpu>{vcpus}</vcpu>{f'<iothreads>{iothreads}</iothreads>' if iothreads else ''}
  <os><type arch='x86_64' machine='{machine}'>hvm</type>
    <kernel>{kernel}</kernel><initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 quiet {cmdline_extra}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>{on_poweroff}</on_poweroff>
  <on_crash>{on_crash}</on_crash>
  <devices>
    {serial_device}
    <panic model='isa'/>
    {extra_devices}
  </devices>
</domain>"""


def wait_for(predicate, timeout=90, what='condition'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f'timed out waiting for {what}')


def serial_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ''


def state(uri, name):
    return virsh(uri, 'domstate', '--reason', name).out.strip()


def qemu_pids(name):
    """The QEMU processes of guest `name` started by this test process's daemons: those in one of
    their cgroup partitions (corral-HASH of the daemon's root), so a test file running beside this
    one (ctest -j) with a guest of the same name is left alone."""
    p = subprocess.run(['pgrep', '-f', f'guest={name},'], capture_output=True, text=True)
    partitions = [f'/{cgroups.partition_name(d.root)}/' for d in CorralDaemon.instances]
    pids = []
    for pid in (int(x) for x in p.stdout.split()):
        try:
            with open(f'/proc/{pid}/cgroup') as f:
                groups = f.read()
        except OSError:
            continue
        if not partitions or any(part in groups for part in partitions):
            pids.append(pid)
    return pids


@pytest.fixture
def qemu(daemon, tmpdir_path, guest_files):
    """Defines guests from the tiny-guest template; destroys whatever is left at the end."""
    uri = daemon.uri('qemu')
    names = []

    class Q:
        pass

    q = Q()
    q.uri = uri
    q.daemon = daemon

    def define(name, **kw):
        serial = os.path.join(tmpdir_path, name + '.serial')
        path = os.path.join(tmpdir_path, name + '.xml')
        with open(path, 'w') as f:
            f.write(guest_xml(name, guest_files, serial, **kw))
        r = virsh(uri, 'define', path)
        assert r.rc == 0, r.err
        names.append(name)
        return serial

    def start_and_boot(name, **kw):
        serial = define(name, **kw)
        r = virsh(uri, 'start', name)
        assert r.rc == 0, r.err
        wait_for(lambda: 'CORRAL-GUEST-READY' in serial_text(serial), what=f'{name} to boot')
        return serial

    q.define = define
    q.start_and_boot = start_and_boot
    yield q
    if daemon.alive():
        for n in names:
            virsh(uri, 'destroy', n)
    for n in names:
        for pid in qemu_pids(n):
            os.kill(pid, signal.SIGKILL)
