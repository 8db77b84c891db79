# SPDX-License-Identifier: LGPL-2.1-or-later
# virt-install, virt-xml and virt-clone step by step, the same steps against corrald's QEMU
# driver and against Debian's libvirtd (qemu:///session as nobody) on this machine, each step's
# outcome kept for docs/compatibility.md (scripts/compatibility-table.py). A step is the tool's
# own run plus a check of what it should have made (a running guest, a disk in the right pool, a
# changed definition), read back with virsh. Every step libvirtd passes must pass on corrald,
# and every step but the refusals must pass on corrald. The deeper checks of each tool (the
# guest's console, its PCI devices, a link seen going down inside the guest) are in
# test_virt_install.py, test_virt_xml.py and test_virt_clone.py.
import os
import shutil
import signal
import subprocess
import xml.etree.ElementTree as ET

import pytest

from framework.clients import Step, record
from framework.libvirtd import guest_files_for_libvirtd, libvirtd  # noqa: F401 (fixture)
from framework.qemu_fixtures import guest_files, pytestmark as qemu_mark, qemu_pids  # noqa: F401
from framework.tools import run, virsh

pytestmark = [qemu_mark, pytest.mark.skipif(
    not all(shutil.which(t) for t in ('virt-install', 'virt-xml', 'virt-clone')),
    reason='virtinst is not installed (scripts/setup.sh installs it)')]

# Steps a tool is meant to fail (it refuses), on corrald as on libvirtd.
REFUSALS = {'virt-install: a name already in use', 'virt-clone: a running guest with a disk'}


class Target:
    """One daemon the steps run against: its URI, a directory its QEMU can read and write, the
    tiny guest's kernel and initramfs there, and names unique to this test process."""

    def __init__(self, uri, work, kernel, initrd):
        self.uri, self.work, self.kernel, self.initrd = uri, work, kernel, initrd
        self.prefix = f'vt{os.getpid() % 10000}'
        self.env = {'XDG_CACHE_HOME': os.path.join(work, 'cache'), 'XDG_CONFIG_HOME': os.path.join(work, 'config')}

    def name(self, short):
        return f'{self.prefix}-{short}'

    def tool(self, program, *args):
        return run([program, '--connect', self.uri] + list(args), timeout=300, env=self.env)

    def install(self, short, *extra, disk='none', network='none'):
        return self.tool('virt-install', '--name', self.name(short), '--memory', '192', '--vcpus', '1',
                         '--virt-type', 'qemu', '--import', '--disk', disk, '--network', network,
                         '--boot', f'kernel={self.kernel},initrd={self.initrd},kernel_args=console=ttyS0 quiet',
                         '--osinfo', 'linux2022', '--noautoconsole', *extra)

    def virsh(self, *args):
        return virsh(self.uri, *args)

    def xml(self, short, inactive=False):
        r = self.virsh('dumpxml', self.name(short), *(['--inactive'] if inactive else []))
        assert r.rc == 0, r.err
        return ET.fromstring(r.out)

    def state(self, short):
        return self.virsh('domstate', self.name(short)).out.strip()


def disk_sources(dom):
    return [d.find('source').get('file') for d in dom.findall("devices/disk[@device='disk']")]


def steps_for(t):
    """(step name, action) in order; an action runs the tool and returns its Run, raising
    AssertionError when what it made is not what it should be."""
    img = os.path.join(t.work, 'img')
    mac = '52:54:00:7a:01:01'

    def checked(r, check):
        if r.rc == 0:
            check()
        return r

    def running(short):
        return lambda: _assert(t.state(short) == 'running', f'{t.name(short)} is {t.state(short)!r}')

    def in_dir(short, where):
        return lambda: _assert([os.path.dirname(s) for s in disk_sources(t.xml(short))] == [where],
                               disk_sources(t.xml(short)))

    return [
        ('virt-install: --import, kernel boot, user network',
         lambda: checked(t.install('plain', network=f'user,model=virtio,mac={mac}'), running('plain'))),
        ('virt-install: default devices, --graphics vnc',
         lambda: checked(t.install('vnc', '--graphics', 'vnc'), running('vnc'))),
        ('virt-install: --machine q35',
         lambda: checked(t.install('q35', '--machine', 'q35', '--graphics', 'none'), running('q35'))),
        ('virt-install: --disk size=1 (pool default)',
         lambda: checked(t.install('size', '--graphics', 'none', disk='size=1'),
                         in_dir('size', os.path.join(t.work, 'default')))),
        ('virt-install: --disk pool=NAME,size=1',
         lambda: checked(t.install('pool', '--graphics', 'none', disk='pool=vtpool,size=1'),
                         in_dir('pool', os.path.join(t.work, 'vtpool')))),
        ('virt-install: --disk path=NEW.qcow2,size=1,format=qcow2',
         lambda: checked(t.install('path', '--graphics', 'none', disk=f'path={img}/bypath.qcow2,size=1,format=qcow2'),
                         in_dir('path', img))),
        ('virt-install: --transient',
         lambda: checked(t.install('transient', '--graphics', 'none', '--transient'),
                         lambda: _assert(t.name('transient') not in t.virsh('list', '--inactive', '--name').out,
                                         'the transient guest is persistent'))),
        ('virt-install: --print-xml defines nothing',
         lambda: checked(t.install('printed', '--graphics', 'none', '--print-xml'),
                         lambda: _assert(t.virsh('dominfo', t.name('printed')).rc != 0, 'defined'))),
        ('virt-install: a name already in use', lambda: t.install('plain', '--graphics', 'none')),
        ('virt-clone: a running guest with a disk',
         lambda: t.tool('virt-clone', '--original', t.name('pool'), '--auto-clone')),
        # virt-xml on inactive definitions (the guests with disks are stopped first).
        ('virt-xml: --edit --vcpus 2',
         lambda: checked(stop(t, 'size', 'pool', 'path') or t.tool('virt-xml', t.name('size'), '--edit', '--vcpus', '2'),
                         lambda: _assert(t.xml('size', True).find('vcpu').text == '2', 'vcpus'))),
        ('virt-xml: --edit --memory 256',
         lambda: checked(t.tool('virt-xml', t.name('size'), '--edit', '--memory', '256'),
                         lambda: _assert(t.xml('size', True).find('memory').text == str(256 * 1024), 'memory'))),
        ('virt-xml: --add-device --disk NEW.qcow2,size=0.01',
         lambda: checked(t.tool('virt-xml', t.name('size'), '--add-device', '--disk',
                                f'{img}/extra.qcow2,size=0.01,format=qcow2'),
                         lambda: _assert(f'{img}/extra.qcow2' in disk_sources(t.xml('size', True)), 'disk'))),
        ('virt-xml: --remove-device --disk target=vdb',
         lambda: checked(t.tool('virt-xml', t.name('size'), '--remove-device', '--disk', 'target=vdb'),
                         lambda: _assert(f'{img}/extra.qcow2' not in disk_sources(t.xml('size', True)), 'disk'))),
        ('virt-xml: --add-device --network user',
         lambda: checked(t.tool('virt-xml', t.name('size'), '--add-device', '--network', 'user,model=virtio'),
                         lambda: _assert(len(t.xml('size', True).findall('devices/interface')) == 1, 'nic'))),
        ('virt-xml: --edit --metadata description=',
         lambda: checked(t.tool('virt-xml', t.name('size'), '--edit', '--metadata', 'description=from virt-xml'),
                         lambda: _assert(t.xml('size', True).find('description').text == 'from virt-xml', 'desc'))),
        # virt-xml --update on the running guest with a NIC.
        ('virt-xml: --edit --network link_state=down --update (live)',
         lambda: checked(t.tool('virt-xml', t.name('plain'), '--edit', '--network', 'link_state=down', '--update'),
                         lambda: _assert(t.xml('plain').find('devices/interface/link').get('state') == 'down',
                                         'link state'))),
        ('virt-xml: --add-device --network user --update (live NIC)',
         lambda: checked(t.tool('virt-xml', t.name('plain'), '--add-device', '--network',
                                'user,model=virtio,mac=52:54:00:7a:01:02', '--update'),
                         lambda: _assert(len(t.xml('plain').findall('devices/interface')) == 2, 'live nic'))),
        ('virt-xml: --remove-device --network mac= --update (live NIC)',
         lambda: checked(t.tool('virt-xml', t.name('plain'), '--remove-device', '--network',
                                'mac=52:54:00:7a:01:02', '--update'),
                         lambda: _assert(len(t.xml('plain', True).findall('devices/interface')) == 1, 'nic'))),
        # virt-clone of the stopped guest with a qcow2 disk made by path.
        ('virt-clone: --auto-clone',
         lambda: checked(t.tool('virt-clone', '--original', t.name('path'), '--auto-clone'),
                         lambda: _assert(disk_sources(t.xml('path-clone', True)) == [f'{img}/bypath-clone.qcow2'],
                                         disk_sources(t.xml('path-clone', True))))),
        ('virt-clone: --name and --file',
         lambda: checked(t.tool('virt-clone', '--original', t.name('path'), '--name', t.name('copy'),
                                '--file', f'{img}/copy.qcow2'),
                         lambda: _assert(os.path.exists(f'{img}/copy.qcow2'), 'no copy'))),
        ('virt-clone: the clone starts',
         lambda: checked(t.virsh('start', t.name('copy')), running('copy'))),
    ]


def _assert(condition, what):
    if not condition:
        raise AssertionError(what)


def stop(t, *shorts):
    for short in shorts:
        t.virsh('destroy', t.name(short))


def run_steps(t):
    for pool in ('default', 'vtpool'):
        for args in (('pool-define-as', pool, 'dir', '--target', os.path.join(t.work, pool)),
                     ('pool-build', pool), ('pool-start', pool)):
            r = t.virsh(*args)
            assert r.rc == 0, (args, r.err)
    steps = {}
    for name, action in steps_for(t):
        try:
            r = action()
            steps[name] = Step(name, r.rc == 0, (r.err or r.out).strip()[-300:])
        except AssertionError as e:
            steps[name] = Step(name, False, f'ran, but: {e}')
    return steps


def clean_up(t, owner_uid=None):
    listed = t.virsh('list', '--all', '--name').out.split()
    for name in [n for n in listed if n.startswith(t.prefix + '-')]:
        t.virsh('destroy', name)
        t.virsh('undefine', name)
    # libvirtd's guests run as nobody, outside any corrald partition; they are this test's by name.
    if owner_uid is not None:
        p = subprocess.run(['pgrep', '-u', str(owner_uid), '-f', f'guest={t.prefix}-'], capture_output=True, text=True)
        for pid in (int(x) for x in p.stdout.split()):
            os.kill(pid, signal.SIGKILL)


def test_virt_tools_work_on_corrald_as_on_libvirtd(daemon, libvirtd, tmpdir_path, guest_files):
    import pwd
    nobody = pwd.getpwnam('nobody').pw_uid
    their_dir, (kernel, initrd) = guest_files_for_libvirtd(libvirtd, 'virt-tools', guest_files)
    os.makedirs(os.path.join(their_dir, 'img'))
    shutil.chown(os.path.join(their_dir, 'img'), 'nobody')
    theirs_t = Target(f'qemu:///session?socket={libvirtd}', their_dir, kernel, initrd)
    try:
        theirs = run_steps(theirs_t)
    finally:
        clean_up(theirs_t, owner_uid=nobody)
    record('virt-tools', 'libvirtd', theirs)

    os.makedirs(os.path.join(tmpdir_path, 'img'), 0o711)
    ours_t = Target(daemon.uri('qemu'), tmpdir_path, *guest_files)
    try:
        ours = run_steps(ours_t)
    finally:
        clean_up(ours_t)
        for name in ('plain', 'vnc', 'q35', 'size', 'pool', 'path', 'transient', 'copy'):
            for pid in qemu_pids(ours_t.name(name)):
                os.kill(pid, signal.SIGKILL)
    record('virt-tools', 'corrald', ours)

    assert list(ours) == list(theirs)
    failed = [f'{n}: {s.message()}' for n, s in ours.items() if not s.ok and n not in REFUSALS]
    assert failed == []
    refused_anyway = [n for n in REFUSALS if ours[n].ok or theirs[n].ok]
    assert refused_anyway == []
    worse = [n for n in theirs if theirs[n].ok and not ours[n].ok]
    assert worse == []
