# SPDX-License-Identifier: LGPL-2.1-or-later
# The real virt-install against corrald's QEMU driver (TCG), with the devices it gives a Linux
# guest by default: the guest is defined, started and boots to its counter on the serial port,
# reached through the console; QEMU runs every default device it was given. Runs with
# --graphics vnc and --graphics none, and one with --autoconsole text on a terminal, where
# virt-install's own console reaches the guest.
import os
import re
import shutil
import signal
import xml.etree.ElementTree as ET

import libvirt
import pytest

from framework.console import StreamConsole, Terminal
from framework.qemu_fixtures import guest_files, pytestmark as qemu_mark, qemu, qemu_pids  # noqa: F401
from framework.tools import run, virsh

pytestmark = [qemu_mark, pytest.mark.skipif(shutil.which('virt-install') is None,
                                             reason='virt-install is not installed (scripts/setup.sh installs it)')]


@pytest.fixture
def installed(qemu):
    """The names of the guests virt-install made: destroyed at the end, whatever happened."""
    names = []
    yield names
    for n in names:
        if qemu.daemon.alive():
            virsh(qemu.uri, 'destroy', n)
        for pid in qemu_pids(n):
            os.kill(pid, signal.SIGKILL)


def virt_install(qemu, guest_files, tmpdir_path, installed, name, *extra, terminal=False, disk='none'):
    installed.append(name)
    kernel, initrd = guest_files
    argv = ['virt-install', '--connect', qemu.uri, '--name', name, '--memory', '192', '--vcpus', '1',
            '--virt-type', 'qemu', '--import', '--disk', disk, '--network', 'none',
            '--boot', f'kernel={kernel},initrd={initrd},kernel_args=console=ttyS0 quiet'] + list(extra)
    env = {'XDG_CACHE_HOME': os.path.join(tmpdir_path, 'cache'), 'XDG_CONFIG_HOME': os.path.join(tmpdir_path, 'config')}
    if terminal:
        return Terminal(argv, env=env)
    r = run(argv, timeout=300, env=env)
    assert r.rc == 0, r.out + r.err
    return r


def qemu_argv(name):
    pids = qemu_pids(name)
    assert len(pids) == 1, pids
    with open(f'/proc/{pids[0]}/cmdline', 'rb') as f:
        return f.read().decode().split('\0')


def console_echo(uri, name, word):
    """The guest's counter arrives on its console and a typed line comes back from the guest."""
    conn = libvirt.open(uri)
    try:
        console = StreamConsole(conn, conn.lookupByName(name))
        try:
            assert console.wait_for(b'counter ', 180), bytes(console.received)
            assert console.type_until(word + b'\r', b'CORRAL-GUEST-ECHO ' + word), bytes(console.received)
        finally:
            console.abort()
    finally:
        conn.close()


def test_default_devices_of_a_linux_guest_run(qemu, guest_files, tmpdir_path, installed):
    virt_install(qemu, guest_files, tmpdir_path, installed, 'vi-linux', '--osinfo', 'linux2022', '--noautoconsole')
    live = ET.fromstring(virsh(qemu.uri, 'dumpxml', 'vi-linux').out)
    devices = live.find('devices')
    # What virt-install asked for by default is in the definition...
    channels = {c.find('target').get('name'): c for c in devices.findall('channel')}
    assert set(channels) == {'org.qemu.guest_agent.0', 'com.redhat.spice.0'}
    agent_path = channels['org.qemu.guest_agent.0'].find('source').get('path')
    assert agent_path and os.stat(agent_path).st_uid == 0 and os.stat(agent_path).st_mode & 0o077 == 0
    assert devices.find('graphics').get('type') == 'spice'
    assert devices.find('graphics').get('listen') == '127.0.0.1'
    assert len(devices.findall('redirdev')) == 2
    # The capabilities offer q35, so virt-install picks it, with its PCIe root ports and virtio
    # video (qxl on pc).
    machine = live.find('os/type').get('machine')
    video = devices.find('video/model').get('type')
    root_ports = devices.findall("controller[@type='pci'][@model='pcie-root-port']")
    assert 'q35' in machine and video == 'virtio' and len(root_ports) > 0, (machine, video, len(root_ports))
    # ... and QEMU runs it.
    argv = ' '.join(qemu_argv('vi-linux'))
    for part in ('virtserialport', 'name=org.qemu.guest_agent.0', 'spicevmc,id=charchannel1,name=vdagent',
                 'usb-redir', 'intel-hda', 'hda-duplex', 'virtio-vga', 'usb-tablet', 'virtio-balloon-pci',
                 'virtio-rng-pci', '-spice', 'driftfix=slew',
                 f'pcie-root-port,port={0x10 + len(root_ports) - 1},chassis={len(root_ports)},id=pci.{len(root_ports)}'):
        assert part in argv, f'{part} missing from {argv}'
    console_echo(qemu.uri, 'vi-linux', b'linux2022')
    assert virsh(qemu.uri, 'destroy', 'vi-linux').rc == 0
    assert not os.path.exists(agent_path), 'the agent socket outlived the guest'


def test_detected_os_gets_the_usb2_companions_and_runs(qemu, guest_files, tmpdir_path, installed):
    # Nothing to detect in a kernel: virt-install falls back to its generic guest, whose USB is
    # an ich9-ehci1 with three UHCI companions.
    virt_install(qemu, guest_files, tmpdir_path, installed, 'vi-detect', '--osinfo', 'detect=on,require=off',
                 '--noautoconsole')
    models = [c.get('model') for c in ET.fromstring(virsh(qemu.uri, 'dumpxml', 'vi-detect').out)
              .findall("devices/controller[@type='usb']")]
    assert sorted(models) == ['ich9-ehci1', 'ich9-uhci1', 'ich9-uhci2', 'ich9-uhci3'], models
    argv = qemu_argv('vi-detect')
    # In one slot as libvirt places them: the EHCI at function 7, the companions at 0 to 2.
    joined = ' '.join(argv)
    # (bus pci.0 on pc, pcie.0 on q35, where the slot is ICH9's own 0x1d)
    slot = re.search(r'ich9-usb-ehci1,id=usb,bus=(pcie?\.0),addr=(0x[0-9a-f]+)\.0x7', joined)
    assert slot, joined
    bus, at = slot.groups()
    assert f'ich9-usb-uhci1,masterbus=usb.0,firstport=0,bus={bus},multifunction=on,addr={at} ' in joined, joined
    assert f'ich9-usb-uhci3,masterbus=usb.0,firstport=4,bus={bus},addr={at}.0x2' in argv, argv
    console_echo(qemu.uri, 'vi-detect', b'detected')
    assert virsh(qemu.uri, 'destroy', 'vi-detect').rc == 0


def test_vnc_graphics_guest_runs(qemu, guest_files, tmpdir_path, installed):
    virt_install(qemu, guest_files, tmpdir_path, installed, 'vi-vnc', '--osinfo', 'linux2022', '--graphics', 'vnc',
                 '--noautoconsole')
    live = ET.fromstring(virsh(qemu.uri, 'dumpxml', 'vi-vnc').out)
    assert live.find('devices/graphics').get('type') == 'vnc'
    assert '-vnc' in qemu_argv('vi-vnc')
    console_echo(qemu.uri, 'vi-vnc', b'vnc')
    assert virsh(qemu.uri, 'destroy', 'vi-vnc').rc == 0


def test_autoconsole_text_reaches_the_guest(qemu, guest_files, tmpdir_path, installed):
    # --graphics none --autoconsole text: virt-install attaches virsh console to the new guest;
    # its counter shows up, a typed line comes back, ^] leaves and virt-install finishes.
    term = virt_install(qemu, guest_files, tmpdir_path, installed, 'vi-text', '--osinfo', 'linux2022',
                        '--graphics', 'none', '--autoconsole', 'text', terminal=True)
    try:
        assert term.read_until(b'counter ', 300), term.seen
        assert term.type_until(b'from-virt-install\r', b'CORRAL-GUEST-ECHO from-virt-install'), term.seen
        term.type_until(b'\x1d', b'\0never\0', timeout=1)
        assert term.exited(120) == 0, term.seen
    finally:
        term.close()
    assert virsh(qemu.uri, 'domstate', 'vi-text').out.strip() == 'running'
    assert virsh(qemu.uri, 'destroy', 'vi-text').rc == 0


def test_disks_from_storage_pools(qemu, guest_files, tmpdir_path, installed):
    # virt-install makes its disks through the storage API: a new image by path (in a pool it
    # defines for the directory), a size alone (in the pool named 'default'), a size in a named pool.
    uri = qemu.uri
    pid = os.getpid()
    for pool in ('default', 'vipool'):
        assert virsh(uri, 'pool-define-as', pool, 'dir', '--target', os.path.join(tmpdir_path, pool)).rc == 0
        assert virsh(uri, 'pool-build', pool).rc == 0
        assert virsh(uri, 'pool-start', pool).rc == 0
    images = os.path.join(tmpdir_path, 'images')
    os.mkdir(images, 0o711)
    cases = ((f'vi-path-{pid}', f'path={images}/bypath.qcow2,size=1,format=qcow2', images),
             (f'vi-size-{pid}', 'size=1', os.path.join(tmpdir_path, 'default')),
             (f'vi-pool-{pid}', 'pool=vipool,size=1', os.path.join(tmpdir_path, 'vipool')))
    for name, disk, where in cases:
        virt_install(qemu, guest_files, tmpdir_path, installed, name, '--osinfo', 'linux2022', '--graphics', 'none',
                     '--noautoconsole', disk=disk)
        xml = virsh(uri, 'dumpxml', name).out
        source = xml.split("<source file='", 1)[1].split("'", 1)[0]
        assert os.path.dirname(source) == where, (disk, xml)
        assert virsh(uri, 'domstate', name).out.strip() == 'running'
        # The image is a volume corrald made, 1 GiB, found by its path.
        assert 'Capacity:       1.00 GiB' in virsh(uri, 'vol-info', source).out
        # ... and protected while the guest runs.
        r = virsh(uri, 'vol-delete', source)
        assert r.rc == 1 and f"in use by running domain '{name}'" in r.err
        assert virsh(uri, 'destroy', name).rc == 0
    assert 'images' in virsh(uri, 'pool-list', '--all').out
