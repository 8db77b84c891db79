# SPDX-License-Identifier: LGPL-2.1-or-later
# Storage pools and volumes with the real virsh and python3-libvirt: a 'dir' pool is built,
# started, listed, refreshed and removed; its raw and qcow2 volumes are made by qemu-img with the
# sizes, formats and backing stores asked for; pools survive a kill -9. The attacks: names that
# leave the pool, a target that is a symbolic link, a link planted in a pool, a backing store on
# a host file, two clients creating one volume at once, deleting what a running guest uses. A
# guest's <disk type='volume'> is resolved at start and handed over as a file disk is.
import json
import os
import stat
import subprocess
import threading

import libvirt

from framework.qemu_fixtures import guest_files, qemu, qemu_pids, state  # noqa: F401
from framework.tools import corral, virsh
import pytest  # noqa: E402

# What one virsh call changes on test:///default must still be there for the next.
pytestmark = pytest.mark.usefixtures('held_test_state')


def qemu_img_info(path):
    out = subprocess.run(['qemu-img', 'info', '-U', '--output=json', path], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def make_pool(uri, name, target):
    r = virsh(uri, 'pool-define-as', name, 'dir', '--target', target)
    assert r.rc == 0, r.err
    r = virsh(uri, 'pool-build', name)
    assert r.rc == 0, r.err
    r = virsh(uri, 'pool-start', name)
    assert r.rc == 0, r.err


def test_dir_pool_lifecycle(daemon, tmpdir_path, write_file):
    uri = daemon.uri('qemu')
    target = os.path.join(tmpdir_path, 'pools', 'p1')
    r = virsh(uri, 'pool-define-as', 'p1', 'dir', '--target', target)
    assert r.rc == 0, r.err
    out = virsh(uri, 'pool-list', '--all').out
    assert 'p1' in out and 'inactive' in out
    # Starting a pool whose directory does not exist is refused, naming the directory.
    r = virsh(uri, 'pool-start', 'p1')
    assert r.rc == 1 and target in r.err
    assert virsh(uri, 'pool-build', 'p1').rc == 0
    st = os.lstat(target)
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o711
    assert virsh(uri, 'pool-start', 'p1').rc == 0
    info = virsh(uri, 'pool-info', 'p1').out
    assert 'State:          running' in info and 'Persistent:     yes' in info and 'Autostart:      no' in info
    assert virsh(uri, 'pool-autostart', 'p1').rc == 0
    assert 'Autostart:      yes' in virsh(uri, 'pool-info', 'p1').out
    xml = virsh(uri, 'pool-dumpxml', 'p1').out
    assert f'<path>{target}</path>' in xml and '<mode>0711</mode>' in xml and "<capacity unit='bytes'>" in xml
    # The list filters: by state, persistence, autostart and type.
    assert 'p1' in virsh(uri, 'pool-list', '--type', 'dir').out
    assert 'p1' not in virsh(uri, 'pool-list', '--type', 'logical').out
    assert 'p1' not in virsh(uri, 'pool-list', '--inactive').out
    assert 'p1' not in virsh(uri, 'pool-list', '--transient').out
    assert 'p1' in virsh(uri, 'pool-list', '--autostart', '--persistent').out
    assert 'p1' not in virsh(uri, 'pool-list', '--no-autostart').out
    details = virsh(uri, 'pool-list', '--details').out
    assert 'running' in details and 'yes' in details
    caps = virsh(uri, 'pool-capabilities').out
    assert "<pool type='dir' supported='yes'>" in caps and "<pool type='logical' supported='no'/>" in caps

    # Permissions asked for are what the built directory gets.
    perm_target = os.path.join(tmpdir_path, 'pools', 'p2')
    p2 = write_file('p2.xml', f"<pool type='dir'><name>p2</name><target><path>{perm_target}</path>"
                              "<permissions><mode>0750</mode><owner>107</owner><group>108</group></permissions>"
                              "</target></pool>")
    assert virsh(uri, 'pool-define', p2).rc == 0
    assert virsh(uri, 'pool-build', 'p2').rc == 0
    st = os.lstat(perm_target)
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o750, 107, 108)
    assert virsh(uri, 'pool-undefine', 'p2').rc == 0

    # Other pool types and a second pool over the same directory are refused by name.
    for ptype, extra in (('logical', ['--source-name', 'vg0']), ('netfs', ['--source-host', 'h', '--source-path', '/x']),
                         ('iscsi', ['--source-host', 'h', '--source-dev', 'iqn.x'])):
        r = virsh(uri, 'pool-define-as', 'other', ptype, *extra, '--target', '/dev/x')
        assert r.rc == 1 and f"storage pool type '{ptype}' is not supported" in r.err, r.err
    r = virsh(uri, 'pool-define-as', 'twin', 'dir', '--target', target)
    assert r.rc == 1 and "Storage source conflict with pool: 'p1'" in r.err
    r = virsh(uri, 'pool-define-as', 'rel', 'dir', '--target', 'relative/dir')
    assert r.rc == 1 and 'must be absolute' in r.err
    r = virsh(uri, 'pool-define-as', 'dots', 'dir', '--target', tmpdir_path + '/../etc')
    assert r.rc == 1 and 'must be absolute' in r.err

    # An active pool cannot be undefined or deleted; a stopped one with files cannot be deleted.
    r = virsh(uri, 'pool-undefine', 'p1')
    assert r.rc == 1 and 'is still active' in r.err
    r = virsh(uri, 'pool-delete', 'p1')
    assert r.rc == 1 and 'is still active' in r.err
    open(os.path.join(target, 'keep.img'), 'w').close()
    assert virsh(uri, 'pool-destroy', 'p1').rc == 0
    r = virsh(uri, 'pool-delete', 'p1')
    assert r.rc == 1 and 'Directory not empty' in r.err
    os.unlink(os.path.join(target, 'keep.img'))
    assert virsh(uri, 'pool-delete', 'p1').rc == 0
    assert not os.path.exists(target)
    assert virsh(uri, 'pool-undefine', 'p1').rc == 0
    assert 'p1' not in virsh(uri, 'pool-list', '--all').out

    # pool-create-as: transient, gone at destroy.
    tdir = os.path.join(tmpdir_path, 'pools', 'tr')
    r = virsh(uri, 'pool-create-as', 'tr', 'dir', '--target', tdir, '--build')
    assert r.rc == 0, r.err
    assert 'Persistent:     no' in virsh(uri, 'pool-info', 'tr').out
    r = virsh(uri, 'pool-autostart', 'tr')
    assert r.rc == 1 and 'transient' in r.err
    assert virsh(uri, 'pool-destroy', 'tr').rc == 0
    assert 'tr' not in virsh(uri, 'pool-list', '--all').out


def test_volumes_in_a_dir_pool(daemon, tmpdir_path, write_file):
    uri = daemon.uri('qemu')
    target = os.path.join(tmpdir_path, 'vp')
    make_pool(uri, 'vp', target)

    r = virsh(uri, 'vol-create-as', 'vp', 'a.raw', '10M', '--format', 'raw')
    assert r.rc == 0, r.err
    raw = os.path.join(target, 'a.raw')
    st = os.lstat(raw)
    assert st.st_size == 10 * 1024 * 1024 and st.st_blocks == 0 and stat.S_IMODE(st.st_mode) == 0o600
    r = virsh(uri, 'vol-create-as', 'vp', 'full.raw', '4M', '--allocation', '4M', '--format', 'raw')
    assert r.rc == 0, r.err
    assert os.lstat(os.path.join(target, 'full.raw')).st_blocks * 512 >= 4 * 1024 * 1024

    r = virsh(uri, 'vol-create-as', 'vp', 'b.qcow2', '1G', '--format', 'qcow2', '--prealloc-metadata')
    assert r.rc == 0, r.err
    qcow = os.path.join(target, 'b.qcow2')
    info = qemu_img_info(qcow)
    assert info['format'] == 'qcow2' and info['virtual-size'] == 1 << 30
    r = virsh(uri, 'vol-create-as', 'vp', 'c.qcow2', '1G', '--format', 'qcow2', '--backing-vol', 'b.qcow2',
              '--backing-vol-format', 'qcow2')
    assert r.rc == 0, r.err
    info = qemu_img_info(os.path.join(target, 'c.qcow2'))
    assert info['backing-filename'] == qcow and info['backing-filename-format'] == 'qcow2'

    # vol-info, vol-list --details, dumpxml, path, key, pool.
    vinfo = virsh(uri, 'vol-info', '--pool', 'vp', 'b.qcow2').out
    assert 'Type:           file' in vinfo and 'Capacity:       1.00 GiB' in vinfo
    details = virsh(uri, 'vol-list', 'vp', '--details').out
    for name in ('a.raw', 'b.qcow2', 'c.qcow2', 'full.raw'):
        assert name in details
    assert '10.00 MiB' in details
    xml = virsh(uri, 'vol-dumpxml', '--pool', 'vp', 'c.qcow2').out
    assert "<format type='qcow2'/>" in xml and f'<path>{qcow}</path>' in xml and '<backingStore>' in xml
    assert virsh(uri, 'vol-path', '--pool', 'vp', 'a.raw').out.strip() == raw
    assert virsh(uri, 'vol-key', '--pool', 'vp', 'a.raw').out.strip() == raw
    assert virsh(uri, 'vol-pool', raw).out.strip() == 'vp'
    assert 'a.raw' in virsh(uri, 'vol-info', raw).out.split('Name:')[1].split('\n')[0]

    # Resize: grow; a shrink needs --allow-shrink.
    assert virsh(uri, 'vol-resize', '--pool', 'vp', 'a.raw', '20M').rc == 0
    assert os.lstat(raw).st_size == 20 * 1024 * 1024
    r = virsh(uri, 'vol-resize', '--pool', 'vp', 'a.raw', '5M')
    assert r.rc == 1 and 'shrink' in r.err
    assert virsh(uri, 'vol-resize', '--pool', 'vp', 'a.raw', '5M', '--shrink').rc == 0
    assert os.lstat(raw).st_size == 5 * 1024 * 1024
    assert virsh(uri, 'vol-resize', '--pool', 'vp', 'b.qcow2', '1G', '--delta').rc == 0
    assert qemu_img_info(qcow)['virtual-size'] == 2 << 30

    # Wipe zeroes the content.
    with open(raw, 'r+b') as f:
        f.write(b'secret data' * 100)
    assert virsh(uri, 'vol-wipe', '--pool', 'vp', 'a.raw').rc == 0
    with open(raw, 'rb') as f:
        assert f.read() == b'\0' * (5 * 1024 * 1024)

    # Clone: a full copy with the same content; create-from into another format.
    with open(raw, 'r+b') as f:
        f.write(b'CLONE-ME')
    assert virsh(uri, 'vol-clone', '--pool', 'vp', 'a.raw', 'a2.raw').rc == 0
    with open(os.path.join(target, 'a2.raw'), 'rb') as f:
        assert f.read(8) == b'CLONE-ME'
    newvol = write_file('nv.xml', "<volume><name>a3.qcow2</name><capacity unit='M'>5</capacity>"
                                  "<target><format type='qcow2'/></target></volume>")
    r = virsh(uri, 'vol-create-from', 'vp', newvol, '--inputpool', 'vp', 'a.raw')
    assert r.rc == 0, r.err
    assert qemu_img_info(os.path.join(target, 'a3.qcow2'))['format'] == 'qcow2'
    # vol-clone of a qcow2 with a backing store keeps it.
    assert virsh(uri, 'vol-clone', '--pool', 'vp', 'c.qcow2', 'c2.qcow2').rc == 0
    assert qemu_img_info(os.path.join(target, 'c2.qcow2'))['backing-filename'] == qcow

    # Files put there by hand appear at refresh; a deleted volume goes with its file.
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', os.path.join(target, 'hand.qcow2'), '3M'], check=True)
    assert 'hand.qcow2' not in virsh(uri, 'vol-list', 'vp').out
    assert virsh(uri, 'pool-refresh', 'vp').rc == 0
    assert 'hand.qcow2' in virsh(uri, 'vol-list', 'vp').out
    assert "<format type='qcow2'/>" in virsh(uri, 'vol-dumpxml', '--pool', 'vp', 'hand.qcow2').out
    assert virsh(uri, 'vol-delete', '--pool', 'vp', 'a2.raw').rc == 0
    assert not os.path.exists(os.path.join(target, 'a2.raw'))
    r = virsh(uri, 'vol-info', '--pool', 'vp', 'a2.raw')
    assert r.rc == 1 and 'Storage volume not found' in r.err

    # python3-libvirt: lookups by name, key and path agree; capacity and allocation are the file's.
    conn = libvirt.open(uri)
    try:
        pool = conn.storagePoolLookupByName('vp')
        names = sorted(v.name() for v in pool.listAllVolumes())
        assert names == sorted(pool.listVolumes()) and len(names) == pool.numOfVolumes()
        vol = pool.storageVolLookupByName('full.raw')
        assert conn.storageVolLookupByKey(vol.key()).name() == 'full.raw'
        assert conn.storageVolLookupByPath(target + '//full.raw').name() == 'full.raw'
        vtype, capacity, allocation = vol.info()
        assert (vtype, capacity) == (libvirt.VIR_STORAGE_VOL_FILE, 4 << 20)
        assert allocation == os.lstat(os.path.join(target, 'full.raw')).st_blocks * 512
        assert vol.storagePoolLookupByVolume().name() == 'vp'
        assert conn.storagePoolLookupByTargetPath(target).name() == 'vp'
        assert pool.info()[0] == libvirt.VIR_STORAGE_POOL_RUNNING
    finally:
        conn.close()


def test_names_and_links_cannot_leave_the_pool(daemon, tmpdir_path, write_file):
    uri = daemon.uri('qemu')
    target = os.path.join(tmpdir_path, 'np')
    make_pool(uri, 'np', target)
    outside = os.path.join(tmpdir_path, 'outside.img')
    for name in ('../outside.img', '..', '.', 'a/b', '/etc/evil'):
        r = virsh(uri, 'vol-create-as', 'np', name, '1M')
        assert r.rc == 1 and 'cannot contain' in r.err, (name, r.err)
    assert not os.path.exists(outside)
    assert os.listdir(target) == []

    # A symbolic link planted under a volume's name is neither written through nor listed.
    os.symlink('/etc/passwd', os.path.join(target, 'planted.img'))
    r = virsh(uri, 'vol-create-as', 'np', 'planted.img', '1M')
    assert r.rc == 1
    assert virsh(uri, 'pool-refresh', 'np').rc == 0
    assert 'planted.img' not in virsh(uri, 'vol-list', 'np').out
    r = virsh(uri, 'vol-info', '/etc/passwd')
    assert r.rc == 1 and 'Storage volume not found' in r.err
    with open('/etc/passwd') as f:
        assert f.read().startswith('root:')

    # A backing store must be a volume of an active pool: a qcow2 over /etc/shadow would let a
    # guest read the host's file through its disk.
    # (virsh's vol-create-as looks the backing volume up itself: the XML goes to the daemon directly.)
    leak = write_file('leak.xml', "<volume><name>leak.qcow2</name><capacity>1048576</capacity>"
                                  "<target><format type='qcow2'/></target><backingStore><path>/etc/shadow</path>"
                                  "<format type='raw'/></backingStore></volume>")
    r = virsh(uri, 'vol-create', 'np', leak)
    assert r.rc == 1 and 'not a volume of an active storage pool' in r.err
    assert not os.path.exists(os.path.join(target, 'leak.qcow2'))

    # A pool target that is a symbolic link is refused at start (and its build does not follow it).
    real = os.path.join(tmpdir_path, 'real')
    os.mkdir(real)
    link = os.path.join(tmpdir_path, 'linked')
    os.symlink(real, link)
    assert virsh(uri, 'pool-define-as', 'lp', 'dir', '--target', link).rc == 0
    r = virsh(uri, 'pool-start', 'lp')
    assert r.rc == 1 and 'is a symbolic link' in r.err
    r = virsh(uri, 'pool-build', 'lp')
    assert r.rc == 1 and 'is a symbolic link' in r.err
    assert virsh(uri, 'pool-undefine', 'lp').rc == 0

    # XML the driver would not act on is refused by name.
    bad = write_file('bad.xml', "<volume><name>x</name><capacity>1</capacity>"
                                "<target><format type='vmdk'/></target></volume>")
    r = virsh(uri, 'vol-create', 'np', bad)
    assert r.rc == 1 and "volume format 'vmdk' is not supported" in r.err
    bad = write_file('bad2.xml', "<volume><name>x</name><capacity>1</capacity><source><extent/></source></volume>")
    r = virsh(uri, 'vol-create', 'np', bad)
    assert r.rc == 1 and '<source>' in r.err and 'not supported by the storage driver' in r.err


def test_two_clients_create_the_same_volume(daemon, tmpdir_path):
    uri = daemon.uri('qemu')
    target = os.path.join(tmpdir_path, 'cp')
    make_pool(uri, 'cp', target)
    xml = "<volume><name>race.raw</name><capacity unit='M'>64</capacity><allocation unit='M'>64</allocation></volume>"
    barrier = threading.Barrier(4)
    results = []

    def create():
        conn = libvirt.open(uri)
        try:
            pool = conn.storagePoolLookupByName('cp')
            barrier.wait()
            try:
                pool.createXML(xml, 0)
                results.append('ok')
            except libvirt.libvirtError as e:
                results.append(e.get_error_code())
        finally:
            conn.close()

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count('ok') == 1, results
    assert all(r == libvirt.VIR_ERR_STORAGE_VOL_EXIST for r in results if r != 'ok'), results
    assert os.lstat(os.path.join(target, 'race.raw')).st_size == 64 << 20
    assert virsh(uri, 'vol-list', 'cp').out.count(' race.raw ') == 1


def test_pools_survive_kill9_and_restart(daemon, tmpdir_path):
    uri = daemon.uri('qemu')
    target = os.path.join(tmpdir_path, 'kp')
    make_pool(uri, 'kp', target)
    assert virsh(uri, 'pool-autostart', 'kp').rc == 0
    assert virsh(uri, 'vol-create-as', 'kp', 'v.qcow2', '8M', '--format', 'qcow2').rc == 0
    other = os.path.join(tmpdir_path, 'kp2')
    make_pool(uri, 'kp2', other)
    assert virsh(uri, 'pool-destroy', 'kp2').rc == 0

    daemon.kill9()
    daemon.start()
    listed = virsh(uri, 'pool-list', '--all').out
    assert 'kp ' in listed and 'kp2' in listed
    assert 'State:          running' in virsh(uri, 'pool-info', 'kp').out
    assert 'Autostart:      yes' in virsh(uri, 'pool-info', 'kp').out
    assert 'State:          inactive' in virsh(uri, 'pool-info', 'kp2').out
    assert 'v.qcow2' in virsh(uri, 'vol-list', 'kp').out
    assert "<format type='qcow2'/>" in virsh(uri, 'vol-dumpxml', '--pool', 'kp', 'v.qcow2').out

    # A clean restart: an autostart pool left inactive is started again.
    assert virsh(uri, 'pool-destroy', 'kp').rc == 0
    daemon.stop()
    daemon.start()
    assert 'State:          running' in virsh(uri, 'pool-info', 'kp').out
    assert 'State:          inactive' in virsh(uri, 'pool-info', 'kp2').out


def test_volume_of_a_running_guest_is_protected(qemu, tmpdir_path):
    uri = qemu.uri
    target = os.path.join(tmpdir_path, 'gp')
    make_pool(uri, 'gp', target)
    assert virsh(uri, 'vol-create-as', 'gp', 'disk.qcow2', '16M', '--format', 'qcow2').rc == 0
    disk = os.path.join(target, 'disk.qcow2')
    qemu.define('withdisk', extra_devices=f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                                          f"<source file='{disk}'/><target dev='vdb' bus='virtio'/></disk>")
    r = virsh(uri, 'start', 'withdisk')
    assert r.rc == 0, r.err
    for args in (('vol-delete',), ('vol-wipe',), ('vol-resize', '--pool', 'gp', 'disk.qcow2', '32M')):
        cmd = list(args) if len(args) > 1 else [args[0], '--pool', 'gp', 'disk.qcow2']
        r = virsh(uri, *cmd)
        assert r.rc == 1 and "in use by running domain 'withdisk'" in r.err, (cmd, r.err)
    assert os.path.exists(disk)
    r = virsh(uri, 'pool-delete', 'gp')
    assert r.rc == 1 and 'is still active' in r.err
    assert virsh(uri, 'destroy', 'withdisk').rc == 0
    assert virsh(uri, 'vol-delete', '--pool', 'gp', 'disk.qcow2').rc == 0
    assert not os.path.exists(disk)


def volume_disk(pool, volume, dev='vdb'):
    return (f"<disk type='volume' device='disk'><driver name='qemu' type='qcow2'/>"
            f"<source pool='{pool}' volume='{volume}'/><target dev='{dev}' bus='virtio'/></disk>")


def test_guest_on_a_type_volume_disk(qemu, tmpdir_path):
    uri = qemu.uri
    target = os.path.join(tmpdir_path, 'vp')
    # Define accepts a pool that does not exist yet, as libvirt: the start resolves it.
    qemu.define('volguest', extra_devices=volume_disk('vp', 'data.qcow2'))
    r = virsh(uri, 'start', 'volguest')
    assert r.rc == 1 and "no storage pool with matching name 'vp'" in r.err, r.err
    make_pool(uri, 'vp', target)
    r = virsh(uri, 'start', 'volguest')
    assert r.rc == 1 and "no storage vol with matching name 'data.qcow2'" in r.err, r.err
    assert virsh(uri, 'vol-create-as', 'vp', 'data.qcow2', '16M', '--format', 'qcow2').rc == 0
    assert virsh(uri, 'pool-destroy', 'vp').rc == 0
    r = virsh(uri, 'start', 'volguest')
    assert r.rc == 1 and "storage pool 'vp' is not active" in r.err, r.err
    assert virsh(uri, 'pool-start', 'vp').rc == 0

    disk = os.path.join(target, 'data.qcow2')
    os.chown(disk, 1234, 5678)
    assert virsh(uri, 'start', 'volguest').rc == 0
    [pid] = qemu_pids('volguest')
    with open(f'/proc/{pid}/cmdline', 'rb') as f:
        assert disk.encode() in f.read()
    # The volume's file is handed to the guest's own identity, as a file disk is.
    guest_uid = os.stat(disk).st_uid
    assert guest_uid >= 200000
    assert disk in virsh(uri, 'domblklist', 'volguest').out
    # The stored definition still names the pool and the volume.
    inactive = virsh(uri, 'dumpxml', '--inactive', 'volguest').out
    assert "<disk type='volume'" in inactive and "pool='vp'" in inactive and "volume='data.qcow2'" in inactive
    # The storage driver sees the guest using the volume.
    r = virsh(uri, 'vol-delete', '--pool', 'vp', 'data.qcow2')
    assert r.rc == 1 and "in use by running domain 'volguest'" in r.err, r.err
    r = virsh(uri, 'vol-upload', '--pool', 'vp', 'data.qcow2', '/dev/null')
    assert r.rc == 1 and "in use by running domain 'volguest'" in r.err, r.err
    assert virsh(uri, 'destroy', 'volguest').rc == 0
    assert (os.stat(disk).st_uid, os.stat(disk).st_gid) == (1234, 5678)


def test_test_driver_default_pool(daemon):
    uri = daemon.uri('test')
    out = virsh(uri, 'pool-list', '--all', '--details').out
    assert 'default-pool' in out and 'running' in out
    info = virsh(uri, 'pool-info', 'default-pool').out
    assert 'UUID:           dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566' in info and 'Capacity:       100.00 GiB' in info
    assert virsh(uri, 'vol-list', 'default-pool').out.count('\n') <= 3  # header only: no volumes
    r = virsh(uri, 'vol-create-as', 'default-pool', 'v1', '1G', '--allocation', '1G')
    assert r.rc == 0, r.err
    assert virsh(uri, 'vol-path', '--pool', 'default-pool', 'v1').out.strip() == '/default-pool/v1'
    assert 'Allocation:     1.00 GiB' in virsh(uri, 'pool-info', 'default-pool').out
    r = virsh(uri, 'vol-create-as', 'default-pool', '../x', '1G')
    assert r.rc == 1 and 'cannot contain' in r.err
    # A read-only connection lists but does not change.
    ro = daemon.uri('test', readonly=True)
    assert 'default-pool' in virsh(ro, 'pool-list').out
    for args in (('vol-create-as', 'default-pool', 'v2', '1M'), ('vol-delete', '--pool', 'default-pool', 'v1'),
                 ('pool-destroy', 'default-pool')):
        r = virsh(ro, *args)
        assert r.rc == 1 and 'read only access prevents' in r.err, (args, r.err)
    assert not os.path.exists('/default-pool')


def test_corral_prints_what_virsh_prints(daemon, bin_dir, tmpdir_path):
    uri = daemon.uri('qemu')
    target = os.path.join(tmpdir_path, 'cli')
    r = corral(bin_dir, uri, 'pool-define-as', 'cli', 'dir', '--target', target)
    assert r.rc == 0 and r.out.startswith('Pool cli defined'), r.err
    assert corral(bin_dir, uri, 'pool-build', 'cli').rc == 0
    assert corral(bin_dir, uri, 'pool-start', 'cli').rc == 0
    r = corral(bin_dir, uri, 'vol-create-as', 'cli', 'v.qcow2', '1G', '--format', 'qcow2')
    assert r.rc == 0 and 'Vol v.qcow2 created' in r.out, r.err
    for args in (('pool-list', '--all'), ('pool-list', '--details'), ('pool-info', 'cli'), ('vol-list', 'cli'),
                 ('vol-list', 'cli', '--details'), ('vol-info', '--pool', 'cli', 'v.qcow2'),
                 ('vol-path', '--pool', 'cli', 'v.qcow2'), ('vol-pool', os.path.join(target, 'v.qcow2')),
                 ('pool-dumpxml', 'cli'), ('vol-dumpxml', '--pool', 'cli', 'v.qcow2')):
        ours, theirs = corral(bin_dir, uri, *args), virsh(uri, *args)
        assert (ours.rc, ours.out) == (theirs.rc, theirs.out), args
    pools = json.loads(corral(bin_dir, uri, '--json', 'pool-list', '--all').out)
    assert [p['name'] for p in pools] == ['cli'] and pools[0]['state'] == 'running'
    vols = json.loads(corral(bin_dir, uri, '--json', 'vol-list', 'cli').out)
    assert vols == [{'name': 'v.qcow2', 'path': os.path.join(target, 'v.qcow2'), 'type': 'file',
                     'capacity': 1 << 30, 'allocation': vols[0]['allocation']}]
    assert json.loads(corral(bin_dir, uri, '--json', 'vol-info', '--pool', 'cli', 'v.qcow2').out)['capacity'] == 1 << 30
    r = corral(bin_dir, uri, 'vol-resize', '--pool', 'cli', 'v.qcow2', '512M')
    assert r.rc == 1 and 'shrink' in r.err
    assert corral(bin_dir, uri, 'vol-delete', '--pool', 'cli', 'v.qcow2').rc == 0
    assert corral(bin_dir, uri, 'pool-destroy', 'cli').rc == 0
    assert corral(bin_dir, uri, 'pool-delete', 'cli').rc == 0
    assert corral(bin_dir, uri, 'pool-undefine', 'cli').rc == 0
