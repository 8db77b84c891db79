# SPDX-License-Identifier: LGPL-2.1-or-later
# The real virt-clone against corrald: a QEMU guest (TCG) whose disk is a qcow2 volume of a dir
# pool is cloned with --auto-clone and with --file; the clone gets a new UUID, a new MAC, its own
# volume with the same content (made by corrald's storage driver, vol-create-from), and it starts.
# On the test driver, the same virt-clone run against corrald and against Debian's libvirtd.
# Attacks: a clone onto a name that is taken, a --file outside every pool that names an existing
# file (virt-clone must not be able to make corrald overwrite it), a running original.
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import libvirt
import pytest

from framework.libvirtd import libvirtd  # noqa: F401 (fixture)
from framework.qemu_fixtures import guest_files, pytestmark as qemu_mark, qemu, qemu_pids  # noqa: F401
from framework.tools import domain_xml, run, virsh

pytestmark = pytest.mark.skipif(shutil.which('virt-clone') is None,
                                reason='virt-clone is not installed (scripts/setup.sh installs it)')


def virt_clone(uri, tmpdir_path, *args):
    env = {'XDG_CACHE_HOME': os.path.join(tmpdir_path, 'cache'), 'XDG_CONFIG_HOME': os.path.join(tmpdir_path, 'config')}
    return run(['virt-clone', '--connect', uri] + list(args), timeout=300, env=env)


def qemu_img_info(path):
    import json
    return json.loads(subprocess.run(['qemu-img', 'info', '-U', '--output=json', path], check=True,
                                     capture_output=True, text=True).stdout)


def image_bytes(path):
    """The guest-visible content of an image (qemu-img convert to raw)."""
    out = path + '.raw-view'
    subprocess.run(['qemu-img', 'convert', '-U', '-O', 'raw', path, out], check=True)
    try:
        with open(out, 'rb') as f:
            return f.read()
    finally:
        os.unlink(out)


def disk_sources(xml):
    return [d.find('source').get('file') for d in ET.fromstring(xml).findall("devices/disk[@device='disk']")]


def macs(xml):
    return [m.get('address') for m in ET.fromstring(xml).findall('devices/interface/mac')]


@pytest.fixture
def pool(qemu, tmpdir_path):
    """A dir pool 'clonepool' with a 4 MiB qcow2 volume that holds a known pattern."""
    target = os.path.join(tmpdir_path, 'clonepool')
    uri = qemu.uri
    assert virsh(uri, 'pool-define-as', 'clonepool', 'dir', '--target', target).rc == 0
    assert virsh(uri, 'pool-build', 'clonepool').rc == 0
    assert virsh(uri, 'pool-start', 'clonepool').rc == 0
    r = virsh(uri, 'vol-create-as', 'clonepool', 'orig.qcow2', '4M', '--format', 'qcow2')
    assert r.rc == 0, r.err
    image = os.path.join(target, 'orig.qcow2')
    # A pattern at 1 MiB the clone must carry (qemu-io writes through the qcow2 layer).
    subprocess.run(['qemu-io', '-f', 'qcow2', '-c', 'write -P 0x5a 1M 64k', image], check=True, capture_output=True)
    return target, image


def define_original(qemu, image):
    qemu.define('vc-orig', extra_devices=(
        f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{image}'/>"
        "<target dev='vda' bus='virtio'/></disk>"
        "<interface type='user'><mac address='52:54:00:12:34:56'/><model type='virtio'/></interface>"))


def check_clone(uri, name, original_xml, image):
    xml = virsh(uri, 'dumpxml', name).out
    root = ET.fromstring(xml)
    orig = ET.fromstring(original_xml)
    assert root.findtext('uuid') != orig.findtext('uuid')
    assert macs(xml) and macs(xml) != macs(original_xml), (macs(xml), macs(original_xml))
    (source,) = disk_sources(xml)
    assert source != image
    # Its own volume, which corrald's storage driver knows, in qcow2 with the same content.
    assert virsh(uri, 'vol-info', source).rc == 0
    assert qemu_img_info(source)['format'] == 'qcow2'
    assert image_bytes(source) == image_bytes(image)
    return source


def test_auto_clone_of_a_qcow2_guest_starts(qemu, pool, tmpdir_path):
    target, image = pool
    uri = qemu.uri
    define_original(qemu, image)
    original_xml = virsh(uri, 'dumpxml', 'vc-orig').out
    r = virt_clone(uri, tmpdir_path, '--original', 'vc-orig', '--auto-clone')
    assert r.rc == 0, r.out + r.err
    assert "Clone 'vc-orig-clone' created successfully." in r.out, r.out
    source = check_clone(uri, 'vc-orig-clone', original_xml, image)
    assert os.path.dirname(source) == target
    assert os.path.basename(source) in virsh(uri, 'vol-list', 'clonepool').out
    # The original is untouched, and the clone runs.
    assert virsh(uri, 'dumpxml', 'vc-orig').out == original_xml
    r = virsh(uri, 'start', 'vc-orig-clone')
    assert r.rc == 0, r.err
    try:
        assert len(qemu_pids('vc-orig-clone')) == 1
        assert virsh(uri, 'domstate', 'vc-orig-clone').out.strip() == 'running'
        # While the clone runs its volume cannot be deleted under it.
        r = virsh(uri, 'vol-delete', source)
        assert r.rc == 1 and "in use by running domain 'vc-orig-clone'" in r.err, r.err
    finally:
        virsh(uri, 'destroy', 'vc-orig-clone')
    assert virsh(uri, 'undefine', 'vc-orig-clone', '--remove-all-storage').rc == 0
    assert not os.path.exists(source)
    assert os.path.exists(image)


def test_clone_with_file_and_name(qemu, pool, tmpdir_path):
    target, image = pool
    uri = qemu.uri
    define_original(qemu, image)
    original_xml = virsh(uri, 'dumpxml', 'vc-orig').out
    wanted = os.path.join(target, 'copy.qcow2')
    r = virt_clone(uri, tmpdir_path, '--original', 'vc-orig', '--name', 'vc-copy', '--file', wanted)
    assert r.rc == 0, r.out + r.err
    assert check_clone(uri, 'vc-copy', original_xml, image) == wanted
    assert virsh(uri, 'start', 'vc-copy').rc == 0
    virsh(uri, 'destroy', 'vc-copy')
    virsh(uri, 'undefine', 'vc-copy')


def test_clone_refusals(qemu, pool, tmpdir_path):
    target, image = pool
    uri = qemu.uri
    define_original(qemu, image)
    # A name that is taken.
    r = virt_clone(uri, tmpdir_path, '--original', 'vc-orig', '--name', 'vc-orig', '--auto-clone')
    assert r.rc != 0 and 'vc-orig' in r.err, r.out + r.err
    # --file naming an existing file outside every pool: virt-clone refuses without --reuse-storage
    # ... and corrald's volume it would make may not replace that file either.
    victim = os.path.join(tmpdir_path, 'victim.img')
    with open(victim, 'wb') as f:
        f.write(b'precious' * 512)
    r = virt_clone(uri, tmpdir_path, '--original', 'vc-orig', '--name', 'vc-victim', '--file', victim)
    assert r.rc != 0, r.out + r.err
    with open(victim, 'rb') as f:
        assert f.read() == b'precious' * 512
    assert virsh(uri, 'domstate', 'vc-victim').rc != 0
    # A running original cannot be cloned (its disk is in use): virt-clone says so.
    assert virsh(uri, 'start', 'vc-orig').rc == 0
    r = virt_clone(uri, tmpdir_path, '--original', 'vc-orig', '--auto-clone')
    assert r.rc != 0 and 'Domain to clone must be shutoff' in r.err, r.out + r.err
    assert virsh(uri, 'domstate', 'vc-orig-clone').rc != 0


def clone_steps(uri, tmpdir_path):
    """virt-clone on a test driver, the same steps for libvirtd and corrald: of the default
    domain 'test' (stopped first: virt-clone refuses a running original; its disk
    /guest/diskimage1 is no file, so both refuse it the same way), and of a defined domain with
    a NIC and no disk, with what the clone looks like."""
    steps = []
    conn = libvirt.open(uri)
    try:
        conn.lookupByName('test').destroy()
        r = virt_clone(uri, tmpdir_path, '--original', 'test', '--auto-clone')
        steps.append(('virt-clone test', r.rc, r.err))
        conn.defineXML(domain_xml('vct', extra_devices="<interface type='network'><source network='default'/>"
                                                       "<mac address='52:54:00:aa:bb:cc'/></interface>"))
        r = virt_clone(uri, tmpdir_path, '--original', 'vct', '--auto-clone')
        steps.append(('virt-clone vct', r.rc, r.out.strip().splitlines()[-1:], r.err))
        if r.rc == 0:
            clone = conn.lookupByName('vct-clone')
            steps.append(('clone state', clone.state()))
            steps.append(('new uuid', clone.UUIDString() != conn.lookupByName('vct').UUIDString()))
            steps.append(('new mac', macs(clone.XMLDesc()) != macs(conn.lookupByName('vct').XMLDesc())))
            steps.append(('persistent', clone.isPersistent()))
        r = virt_clone(uri, tmpdir_path, '--original', 'vct', '--name', 'vct-clone', '--auto-clone')
        steps.append(('taken name', r.rc, r.err))
    finally:
        conn.close()
    return steps


def test_clone_on_test_driver_matches_libvirtd(daemon, libvirtd, tmpdir_path):
    ours = clone_steps(daemon.uri('test'), tmpdir_path)
    theirs = clone_steps(f'test+unix:///default?socket={libvirtd}', tmpdir_path)
    assert ours == theirs
    assert ours[1][1] == 0 and ours[2:6] == [('clone state', [5, 0]), ('new uuid', True), ('new mac', True),
                                             ('persistent', 1)], ours
