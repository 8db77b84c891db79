# SPDX-License-Identifier: LGPL-2.1-or-later
# `fs` storage pools with the real virsh and python3-libvirt, on an ext4 image file in the
# test's directory (mounted through a loop device): pool-build's three modes (directory only,
# mkfs unless a file system is there, mkfs over it), mount at start with nosuid,nodev, volumes
# as in a dir pool, unmount at destroy refused while a file is open and the loop device released
# after it, the mount kept across a SIGTERM and a kill -9 of corrald and found again (never
# mounted twice), a mount that vanished while corrald was down leaving the pool inactive. The
# attacks: a device path with ',' or '..', a symbolic link as target, a target inside another
# pool, an image file inside a pool, a source that is neither a block device nor a file, a device
# mounted elsewhere already, two pools on one device, a file system "auto" must not mount.
import os
import stat
import subprocess

import libvirt
import pytest

from framework.tools import virsh


def loop_devices_usable():
    """Loop devices exist and one can be bound (a container may have neither)."""
    if not os.path.exists('/dev/loop-control'):
        return 'no /dev/loop-control'
    r = subprocess.run(['losetup', '-f'], capture_output=True, text=True)
    return None if r.returncode == 0 else r.stderr.strip()


@pytest.fixture
def loops():
    why = loop_devices_usable()
    if why:
        pytest.skip(f'no loop device here: {why}')


@pytest.fixture
def unmount_left(tmpdir_path):
    """Whatever a failed test left mounted under its directory goes, so its loop devices go too."""
    yield
    for point in reversed([m['point'] for m in mounts() if m['point'].startswith(tmpdir_path + '/')]):
        subprocess.run(['umount', '-l', point], capture_output=True)


def mounts():
    out = []
    with open('/proc/self/mountinfo') as f:
        for line in f:
            left, right = line.split(' - ', 1)
            fields = left.split()
            fstype, source = right.split()[:2]
            point = fields[4].encode().decode('unicode_escape')
            out.append({'point': point, 'options': fields[5].split(','), 'fstype': fstype, 'source': source})
    return out


def mounts_at(point):
    return [m for m in mounts() if m['point'] == point]


def loops_of(image):
    """The loop devices bound to `image` (losetup -j)."""
    r = subprocess.run(['losetup', '-j', image, '-O', 'NAME', '-n'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def blkid_type(path):
    r = subprocess.run(['blkid', '-p', '-o', 'value', '-s', 'TYPE', path], capture_output=True, text=True)
    return r.stdout.strip()


def make_image(path, size_mb=64, fs=None):
    with open(path, 'wb') as f:
        f.truncate(size_mb << 20)
    if fs:
        r = subprocess.run([f'mkfs.{fs}', '-q', '-F', path] if fs.startswith('ext') else [f'mkfs.{fs}', path],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    return path


def define_fs(uri, name, image, target, fmt='ext4'):
    r = virsh(uri, 'pool-define-as', name, 'fs', '--source-dev', image, '--source-format', fmt, '--target', target)
    assert r.rc == 0, r.err


def test_fs_pool_lifecycle(daemon, tmpdir_path, loops, unmount_left):
    uri = daemon.uri('qemu')
    image = make_image(os.path.join(tmpdir_path, 'fs.img'))
    target = os.path.join(tmpdir_path, 'mnt', 'fsp')
    define_fs(uri, 'fsp', image, target)
    xml = virsh(uri, 'pool-dumpxml', 'fsp').out
    assert f"<device path='{image}'/>" in xml and "<format type='ext4'/>" in xml
    caps = virsh(uri, 'pool-capabilities').out
    assert "<pool type='fs' supported='yes'>" in caps

    # A plain build makes the directory only (libvirt's rule): the image stays blank.
    assert virsh(uri, 'pool-build', 'fsp').rc == 0
    assert stat.S_ISDIR(os.lstat(target).st_mode) and blkid_type(image) == ''
    # Starting with no file system on the device is refused, naming the device.
    r = virsh(uri, 'pool-start', 'fsp')
    assert r.rc == 1 and image in r.err, r.err
    # --no-overwrite makes one on a blank device, and refuses the second time.
    r = virsh(uri, 'pool-build', 'fsp', '--no-overwrite')
    assert r.rc == 0, r.err
    assert blkid_type(image) == 'ext4'
    r = virsh(uri, 'pool-build', 'fsp', '--no-overwrite')
    assert r.rc == 1 and f"Device '{image}' already formatted using 'ext4'" in r.err, r.err
    r = virsh(uri, 'pool-build', 'fsp', '--overwrite', '--no-overwrite')
    assert r.rc == 1
    # --overwrite makes a new one: a file left in the old one is gone.
    subprocess.run(['debugfs', '-w', '-R', 'mkdir old-data', image], capture_output=True)
    assert virsh(uri, 'pool-build', 'fsp', '--overwrite').rc == 0

    assert virsh(uri, 'pool-start', 'fsp').rc == 0
    [m] = mounts_at(target)
    assert m['fstype'] == 'ext4' and 'nosuid' in m['options'] and 'nodev' in m['options']
    [loopdev] = loops_of(image)
    assert m['source'] == loopdev
    assert not os.path.exists(os.path.join(target, 'old-data'))

    # The pool's sizes are the file system's, not the directory's below it.
    conn = libvirt.open(uri)
    try:
        pool = conn.storagePoolLookupByName('fsp')
        state, capacity, allocation, available = pool.info()
        sv = os.statvfs(target)
        assert state == libvirt.VIR_STORAGE_POOL_RUNNING
        assert capacity == sv.f_blocks * sv.f_frsize and capacity < (64 << 20)
        assert 0 < available <= capacity and allocation > 0
        # Volumes behave as in a dir pool, and their files live on the mounted file system.
        pool.createXML("<volume><name>a.qcow2</name><capacity unit='M'>16</capacity>"
                       "<target><format type='qcow2'/></target></volume>", 0)
    finally:
        conn.close()
    assert virsh(uri, 'vol-create-as', 'fsp', 'b.raw', '8M').rc == 0
    assert os.stat(os.path.join(target, 'a.qcow2')).st_dev == os.stat(target).st_dev != os.stat(tmpdir_path).st_dev
    listed = virsh(uri, 'vol-list', 'fsp').out
    assert 'a.qcow2' in listed and 'b.raw' in listed
    open(os.path.join(target, 'c.raw'), 'w').close()
    assert virsh(uri, 'pool-refresh', 'fsp').rc == 0
    assert 'c.raw' in virsh(uri, 'vol-list', 'fsp').out
    assert f'{target}/a.qcow2' in virsh(uri, 'vol-path', '--pool', 'fsp', 'a.qcow2').out

    # A file open in the file system (a running guest's disk holds one) keeps it mounted: the
    # destroy fails, as libvirt's umount does, and the pool stays active.
    with open(os.path.join(target, 'b.raw'), 'rb'):
        r = virsh(uri, 'pool-destroy', 'fsp')
        assert r.rc == 1 and 'busy' in r.err, r.err
        assert 'State:          running' in virsh(uri, 'pool-info', 'fsp').out
    assert virsh(uri, 'pool-destroy', 'fsp').rc == 0
    assert mounts_at(target) == [] and loops_of(image) == []
    assert not os.path.exists(os.path.join(target, 'a.qcow2'))

    # Started again, the volumes are there; then delete removes the (unmounted) directory.
    assert virsh(uri, 'pool-start', 'fsp').rc == 0
    assert 'a.qcow2' in virsh(uri, 'vol-list', 'fsp').out
    r = virsh(uri, 'pool-delete', 'fsp')
    assert r.rc == 1 and 'is still active' in r.err
    assert virsh(uri, 'pool-destroy', 'fsp').rc == 0
    assert virsh(uri, 'pool-delete', 'fsp').rc == 0
    assert not os.path.exists(target)
    assert virsh(uri, 'pool-undefine', 'fsp').rc == 0

    # pool-create-as --build --no-overwrite: a transient pool on a blank image, made and mounted.
    image2 = make_image(os.path.join(tmpdir_path, 'fs2.img'), 32)
    target2 = os.path.join(tmpdir_path, 'mnt', 'tr')
    r = virsh(uri, 'pool-create-as', 'tr', 'fs', '--source-dev', image2, '--source-format', 'ext3',
              '--target', target2, '--build', '--no-overwrite')
    assert r.rc == 0, r.err
    assert blkid_type(image2) == 'ext3' and len(mounts_at(target2)) == 1
    assert virsh(uri, 'pool-destroy', 'tr').rc == 0
    assert mounts_at(target2) == [] and loops_of(image2) == []


def test_fs_pool_stays_mounted_while_corrald_is_down(daemon, tmpdir_path, loops, unmount_left):
    uri = daemon.uri('qemu')
    image = make_image(os.path.join(tmpdir_path, 'keep.img'), fs='ext4')
    target = os.path.join(tmpdir_path, 'keep')
    define_fs(uri, 'keep', image, target, fmt='auto')
    assert virsh(uri, 'pool-build', 'keep').rc == 0
    assert virsh(uri, 'pool-start', 'keep').rc == 0
    assert virsh(uri, 'vol-create-as', 'keep', 'v.qcow2', '8M', '--format', 'qcow2').rc == 0
    other_image = make_image(os.path.join(tmpdir_path, 'gone.img'), fs='ext4')
    other = os.path.join(tmpdir_path, 'gone')
    define_fs(uri, 'gone', other_image, other)
    assert virsh(uri, 'pool-build', 'gone').rc == 0
    assert virsh(uri, 'pool-start', 'gone').rc == 0

    for stop in (daemon.stop, daemon.kill9):
        stop()
        assert len(mounts_at(target)) == 1 and len(loops_of(image)) == 1
        daemon.start()
        assert 'State:          running' in virsh(uri, 'pool-info', 'keep').out
        assert 'v.qcow2' in virsh(uri, 'vol-list', 'keep').out
        assert len(mounts_at(target)) == 1 and len(loops_of(image)) == 1, 'mounted twice'

    # Unmounted behind corrald's back while it was down: inactive at its next start.
    daemon.kill9()
    subprocess.run(['umount', other], check=True)
    daemon.start()
    assert 'State:          inactive' in virsh(uri, 'pool-info', 'gone').out
    assert mounts_at(other) == []
    # And unmounted while it runs: the next refresh stops the pool, which then starts again.
    subprocess.run(['umount', target], check=True)
    r = virsh(uri, 'pool-refresh', 'keep')
    assert r.rc == 1 and 'no longer mounted' in r.err, r.err
    assert 'State:          inactive' in virsh(uri, 'pool-info', 'keep').out
    assert virsh(uri, 'pool-start', 'keep').rc == 0
    assert 'v.qcow2' in virsh(uri, 'vol-list', 'keep').out
    assert virsh(uri, 'pool-destroy', 'keep').rc == 0
    assert mounts_at(target) == [] and loops_of(image) == []


def test_fs_pool_hostile_inputs(daemon, tmpdir_path, write_file, loops, unmount_left):
    uri = daemon.uri('qemu')
    image = make_image(os.path.join(tmpdir_path, 'h.img'), fs='ext4')

    def define(name, dev, target, fmt='ext4'):
        return virsh(uri, 'pool-define-as', name, 'fs', '--source-dev', dev, '--source-format', fmt,
                     '--target', target)

    # Device paths that could be read as mount options or leave their directory.
    r = define('comma', image + ',loop', os.path.join(tmpdir_path, 'c'))
    assert r.rc == 1 and "must not contain ','" in r.err, r.err
    r = define('dots', tmpdir_path + '/../' + os.path.basename(tmpdir_path) + '/h.img', os.path.join(tmpdir_path, 'd'))
    assert r.rc == 1 and 'must be absolute' in r.err, r.err
    r = define('odd', image, os.path.join(tmpdir_path, 'o'), fmt='btrfs')
    assert r.rc == 1 and "file system format 'btrfs' is not supported" in r.err, r.err

    # A target that is a symbolic link (to a directory elsewhere) is never mounted over.
    real = os.path.join(tmpdir_path, 'real')
    os.mkdir(real)
    link = os.path.join(tmpdir_path, 'link')
    os.symlink(real, link)
    assert define('ln', image, link).rc == 0
    r = virsh(uri, 'pool-start', 'ln')
    assert r.rc == 1 and 'symbolic link' in r.err, r.err
    assert mounts_at(real) == [] and mounts_at(link) == []
    # A target reached through a linked parent directory is refused too.
    assert virsh(uri, 'pool-undefine', 'ln').rc == 0
    assert define('ln2', image, os.path.join(link, 'sub')).rc == 0
    os.mkdir(os.path.join(real, 'sub'))
    r = virsh(uri, 'pool-start', 'ln2')
    assert r.rc == 1 and 'symbolic link' in r.err, r.err
    assert mounts_at(os.path.join(real, 'sub')) == []
    assert virsh(uri, 'pool-undefine', 'ln2').rc == 0

    # Pools nested with an fs pool, and an image file that is a volume of another pool.
    outer = os.path.join(tmpdir_path, 'outer')
    r = virsh(uri, 'pool-define-as', 'outer', 'dir', '--target', outer)
    assert r.rc == 0, r.err
    r = define('inner', image, os.path.join(outer, 'inner'))
    assert r.rc == 1 and 'lie one inside the other' in r.err, r.err
    r = define('inpool', os.path.join(outer, 'vol.img'), os.path.join(tmpdir_path, 'elsewhere'))
    assert r.rc == 1 and "lies inside pool 'outer'" in r.err, r.err
    r = define('self', os.path.join(tmpdir_path, 'selfp', 'x.img'), os.path.join(tmpdir_path, 'selfp'))
    assert r.rc == 1 and 'inside its own target' in r.err, r.err

    # Sources that are neither a block device nor a regular file.
    for name, dev in (('chr', '/dev/null'), ('dirsrc', real)):
        tgt = os.path.join(tmpdir_path, name)
        assert define(name, dev, tgt).rc == 0
        assert virsh(uri, 'pool-build', name).rc == 0
        r = virsh(uri, 'pool-start', name)
        assert r.rc == 1 and 'neither a block device nor a regular file' in r.err, r.err
        r = virsh(uri, 'pool-build', name, '--overwrite')
        assert r.rc == 1 and 'neither a block device nor a regular file' in r.err, r.err
        assert mounts_at(tgt) == []

    # Two pools on one device; then the device mounted elsewhere already (by hand).
    t1 = os.path.join(tmpdir_path, 'one')
    assert define('one', image, t1).rc == 0
    r = define('two', image, os.path.join(tmpdir_path, 'two'))
    assert r.rc == 1 and "Storage source conflict with pool: 'one'" in r.err, r.err
    assert virsh(uri, 'pool-build', 'one').rc == 0
    by_hand = os.path.join(tmpdir_path, 'byhand')
    os.mkdir(by_hand)
    subprocess.run(['mount', '-o', 'loop', image, by_hand], check=True)
    try:
        r = virsh(uri, 'pool-start', 'one')
        assert r.rc == 1 and f"is already mounted at '{by_hand}'" in r.err, r.err
        assert mounts_at(t1) == []
        # mkfs under a mounted file system is refused even with --overwrite.
        r = virsh(uri, 'pool-build', 'one', '--overwrite')
        assert r.rc == 1 and 'is mounted at' in r.err, r.err
    finally:
        subprocess.run(['umount', by_hand], check=True)
    # A target that is a mount point already (something else mounted there) is not mounted over.
    subprocess.run(['mount', '-t', 'tmpfs', 'tmpfs', t1], check=True)
    try:
        r = virsh(uri, 'pool-start', 'one')
        assert r.rc == 1 and 'already a mount point' in r.err, r.err
    finally:
        subprocess.run(['umount', t1], check=True)
    assert loops_of(image) == []

    # "auto" mounts only the file systems named in docs/storage.md: a minix image is refused.
    minix = make_image(os.path.join(tmpdir_path, 'm.img'), 8, fs='minix')
    tm = os.path.join(tmpdir_path, 'mx')
    assert define('mx', minix, tm, fmt='auto').rc == 0
    assert virsh(uri, 'pool-build', 'mx').rc == 0
    r = virsh(uri, 'pool-start', 'mx')
    assert r.rc == 1 and "holds a 'minix' file system" in r.err, r.err
    assert mounts_at(tm) == [] and loops_of(minix) == []
    # A pool naming one type never mounts another the device holds.
    assert virsh(uri, 'pool-undefine', 'mx').rc == 0
    assert define('mx4', minix, tm, fmt='ext4').rc == 0
    r = virsh(uri, 'pool-start', 'mx4')
    assert r.rc == 1 and "holds a 'minix' file system, not the 'ext4' its pool names" in r.err, r.err
    assert virsh(uri, 'pool-undefine', 'mx4').rc == 0
    assert define('mx', minix, tm, fmt='auto').rc == 0
    # pool-build cannot make an "auto" file system.
    r = virsh(uri, 'pool-build', 'mx', '--overwrite')
    assert r.rc == 1 and "its <source><format> is 'auto'" in r.err, r.err


def test_fs_pool_on_a_block_device(daemon, tmpdir_path, loops, unmount_left):
    """A pool on a block device (a loop device the test binds): mkfs is refused while another
    holds the device exclusively (the mount table shows nothing then: a partition of it mounted,
    swap, a device-mapper table; here the test's own O_EXCL open), even with --overwrite; then
    made, mounted directly (no loop device of corrald's own), unmounted at destroy."""
    uri = daemon.uri('qemu')
    image = make_image(os.path.join(tmpdir_path, 'disk.img'), 32)
    r = subprocess.run(['losetup', '-f', '--show', image], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    disk = r.stdout.strip()
    try:
        target = os.path.join(tmpdir_path, 'bd')
        define_fs(uri, 'bd', disk, target)
        assert virsh(uri, 'pool-build', 'bd').rc == 0
        held = os.open(disk, os.O_RDONLY | os.O_EXCL)
        try:
            r = virsh(uri, 'pool-build', 'bd', '--overwrite')
            assert r.rc == 1 and f"device '{disk}' is in use" in r.err, r.err
        finally:
            os.close(held)
        assert blkid_type(disk) == ''
        r = virsh(uri, 'pool-build', 'bd', '--no-overwrite')
        assert r.rc == 0, r.err
        assert blkid_type(disk) == 'ext4'
        assert virsh(uri, 'pool-start', 'bd').rc == 0
        [m] = mounts_at(target)
        assert m['source'] == disk and 'nosuid' in m['options'] and 'nodev' in m['options']
        assert loops_of(image) == [disk]  # no second loop device over the image
        assert virsh(uri, 'vol-create-as', 'bd', 'v.raw', '4M').rc == 0
        assert virsh(uri, 'pool-destroy', 'bd').rc == 0
        assert mounts_at(target) == []
        assert virsh(uri, 'pool-undefine', 'bd').rc == 0
    finally:
        subprocess.run(['losetup', '-d', disk], check=True)
