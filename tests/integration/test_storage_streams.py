# SPDX-License-Identifier: LGPL-2.1-or-later
# vol-upload and vol-download through libvirt's data streams, with the real virsh and
# python3-libvirt: bytes round-trip, sparse streams keep holes, offset and length are kept to.
# The attacks: a daemon killed in the middle of an upload, an aborted stream, a client that
# vanishes, half a packet and silence, a second upload of the same volume, a hole on a stream
# that is not sparse, an upload that overruns its length, a qcow2 whose header names a host
# file as backing store, a read-only client. After each, the volume holds its old content or the
# whole new one, and the daemon holds no descriptor of the pool's files.
import hashlib
import os
import struct
import subprocess

import libvirt
import pytest

from framework.qemu_fixtures import wait_for
from framework.rawclient import RawClient, error_of, xdr_string
from framework.tools import corral, virsh

MiB = 1 << 20


def make_pool(uri, name, target):
    for args in (('pool-define-as', name, 'dir', '--target', target), ('pool-build', name), ('pool-start', name)):
        r = virsh(uri, *args)
        assert r.rc == 0, r.err


def write_bytes(path, data):
    with open(path, 'wb') as f:
        f.write(data)


def read_bytes(path):
    with open(path, 'rb') as f:
        return f.read()


def allocated(path):
    return os.stat(path).st_blocks * 512


def vol_info(uri, pool, vol):
    """(capacity, allocation) in bytes, as virsh vol-info --bytes prints them."""
    out = virsh(uri, 'vol-info', '--bytes', '--pool', pool, vol).out
    fields = {}
    for line in out.splitlines():
        if ':' in line:
            key, value = line.split(':', 1)
            fields[key.strip()] = value.strip()
    return int(fields['Capacity'].split()[0]), int(fields['Allocation'].split()[0])


def pool_files_held(daemon, target):
    """The daemon's descriptors that point into the pool's directory."""
    held = []
    fd_dir = f'/proc/{daemon.pid}/fd'
    for fd in os.listdir(fd_dir):
        try:
            link = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if link.startswith(target + '/'):
            held.append(link)
    return held


def upload_file_size(daemon, target):
    """The size of the unnamed file an upload writes in the pool (0 when none is open)."""
    fd_dir = f'/proc/{daemon.pid}/fd'
    for fd in os.listdir(fd_dir):
        try:
            link = os.readlink(os.path.join(fd_dir, fd))
            if link.startswith(target + '/') and link.endswith('(deleted)'):
                return os.stat(os.path.join(fd_dir, fd)).st_size
        except OSError:
            continue
    return 0


@pytest.fixture
def pool(daemon, tmpdir_path):
    uri = daemon.uri('qemu')
    target = os.path.join(tmpdir_path, 'sp')
    make_pool(uri, 'sp', target)
    return uri, target


def test_upload_download_round_trip(daemon, pool, tmpdir_path):
    uri, target = pool
    assert virsh(uri, 'vol-create-as', 'sp', 'v.img', '4M', '--format', 'raw').rc == 0
    # An owner and mode of its own, which the new content must not change.
    os.chown(os.path.join(target, 'v.img'), 107, 108)
    os.chmod(os.path.join(target, 'v.img'), 0o640)
    before = os.stat(os.path.join(target, 'v.img'))
    data = os.urandom(3 * MiB + 12345)  # not a multiple of any chunk
    src = os.path.join(tmpdir_path, 'src.bin')
    write_bytes(src, data)
    r = virsh(uri, 'vol-upload', '--pool', 'sp', 'v.img', src)
    assert r.rc == 0, r.err
    # As libvirt: the upload overwrites from the start; the volume keeps its size and the rest.
    assert read_bytes(os.path.join(target, 'v.img')) == data + b'\0' * (4 * MiB - len(data))
    out = os.path.join(tmpdir_path, 'out.bin')
    r = virsh(uri, 'vol-download', '--pool', 'sp', 'v.img', out)
    assert r.rc == 0, r.err
    assert read_bytes(out) == data + b'\0' * (4 * MiB - len(data))
    assert vol_info(uri, 'sp', 'v.img')[0] == 4 * MiB

    # A bigger upload grows the volume; capacity and allocation are read again.
    # The file the first upload left is alive while the second one's file is made, so their
    # inodes differ (the original's inode, freed by the first upload, may be reused).
    replaced = os.stat(os.path.join(target, 'v.img'))
    big = os.urandom(6 * MiB)
    write_bytes(src, big)
    assert virsh(uri, 'vol-upload', '--pool', 'sp', 'v.img', src).rc == 0
    capacity, allocation = vol_info(uri, 'sp', 'v.img')
    assert capacity == 6 * MiB and allocation >= 6 * MiB
    assert virsh(uri, 'vol-download', '--pool', 'sp', 'v.img', out).rc == 0
    assert read_bytes(out) == big
    # The owner and mode the volume had are kept (the file is a new one).
    st = os.stat(os.path.join(target, 'v.img'))
    assert st.st_ino != replaced.st_ino
    assert (st.st_mode, st.st_uid, st.st_gid) == (before.st_mode, before.st_uid, before.st_gid)

    # A qcow2 volume is downloaded as the file it is, header and all.
    assert virsh(uri, 'vol-create-as', 'sp', 'q.qcow2', '16M', '--format', 'qcow2').rc == 0
    assert virsh(uri, 'vol-download', '--pool', 'sp', 'q.qcow2', out).rc == 0
    assert read_bytes(out) == read_bytes(os.path.join(target, 'q.qcow2'))
    assert read_bytes(out)[:4] == b'QFI\xfb'
    assert pool_files_held(daemon, target) == []


def test_sparse_upload_and_download_keep_holes(daemon, pool, tmpdir_path):
    uri, target = pool
    assert virsh(uri, 'vol-create-as', 'sp', 's.img', '1M', '--format', 'raw').rc == 0
    src = os.path.join(tmpdir_path, 'holes.bin')
    chunk_a, chunk_b = os.urandom(64 * 1024), os.urandom(64 * 1024)
    with open(src, 'wb') as f:
        f.write(chunk_a)
        f.seek(32 * MiB)
        f.write(chunk_b)
        f.truncate(64 * MiB)  # a trailing hole too
    if allocated(src) > 4 * MiB:
        pytest.skip('the test directory keeps no holes')
    expected = read_bytes(src)
    r = virsh(uri, 'vol-upload', '--sparse', '--pool', 'sp', 's.img', src)
    assert r.rc == 0, r.err
    vol = os.path.join(target, 's.img')
    assert read_bytes(vol) == expected
    capacity, allocation = vol_info(uri, 'sp', 's.img')
    assert capacity == 64 * MiB and allocation < 4 * MiB, (capacity, allocation)
    assert allocated(vol) < 4 * MiB

    out = os.path.join(tmpdir_path, 'holes-out.bin')
    r = virsh(uri, 'vol-download', '--sparse', '--pool', 'sp', 's.img', out)
    assert r.rc == 0, r.err
    assert read_bytes(out) == expected and allocated(out) < 4 * MiB
    # Without --sparse the holes come as zeros: the same bytes, all of them written.
    os.unlink(out)
    assert virsh(uri, 'vol-download', '--pool', 'sp', 's.img', out).rc == 0
    assert read_bytes(out) == expected



def test_corral_sparse_upload_and_download_as_virsh(daemon, pool, tmpdir_path, bin_dir):
    """corral vol-upload/vol-download --sparse send and keep holes as virsh's do: the same bytes,
    the same few allocated blocks, nothing printed; without --sparse the download is all data."""
    uri, target = pool
    src = os.path.join(tmpdir_path, 'c-holes.bin')
    chunk_a, chunk_b = os.urandom(64 * 1024), os.urandom(64 * 1024)
    with open(src, 'wb') as f:
        f.seek(8 * MiB)  # a leading hole
        f.write(chunk_a)
        f.seek(32 * MiB)
        f.write(chunk_b)
        f.truncate(64 * MiB)  # and a trailing one
    if allocated(src) > 4 * MiB:
        pytest.skip('the test directory keeps no holes')
    expected = read_bytes(src)
    vol = os.path.join(target, 'c.img')
    outputs = {}
    for tool in ('virsh', 'corral'):
        assert virsh(uri, 'vol-create-as', 'sp', 'c.img', '1M', '--format', 'raw').rc == 0
        run = (lambda *a: virsh(uri, *a)) if tool == 'virsh' else (lambda *a: corral(bin_dir, uri, *a))
        r = run('vol-upload', '--sparse', '--pool', 'sp', 'c.img', src)
        assert r.rc == 0, (tool, r.err)
        assert read_bytes(vol) == expected, tool
        assert allocated(vol) < 4 * MiB, (tool, allocated(vol))
        out = os.path.join(tmpdir_path, f'c-out-{tool}.bin')
        r2 = run('vol-download', '--sparse', '--pool', 'sp', 'c.img', out)
        assert r2.rc == 0, (tool, r2.err)
        assert read_bytes(out) == expected and allocated(out) < 4 * MiB, tool
        outputs[tool] = (r.out, r2.out)
        assert virsh(uri, 'vol-delete', '--pool', 'sp', 'c.img').rc == 0
    assert outputs['corral'] == outputs['virsh']
    # Without --sparse the holes arrive as zeros, all of them written.
    assert virsh(uri, 'vol-create-as', 'sp', 'c.img', '1M', '--format', 'raw').rc == 0
    assert corral(bin_dir, uri, 'vol-upload', '--pool', 'sp', 'c.img', src).rc == 0
    assert read_bytes(vol) == expected
    dense = os.path.join(tmpdir_path, 'c-dense.bin')
    assert corral(bin_dir, uri, 'vol-download', '--pool', 'sp', 'c.img', dense).rc == 0
    assert read_bytes(dense) == expected


def test_offset_and_length(daemon, pool, tmpdir_path):
    uri, target = pool
    assert virsh(uri, 'vol-create-as', 'sp', 'o.img', '64K', '--format', 'raw').rc == 0
    vol = os.path.join(target, 'o.img')
    base = os.urandom(64 * 1024)
    src = os.path.join(tmpdir_path, 'base.bin')
    write_bytes(src, base)
    assert virsh(uri, 'vol-upload', '--pool', 'sp', 'o.img', src).rc == 0
    patch = os.urandom(4096)
    write_bytes(src, patch)
    r = virsh(uri, 'vol-upload', '--pool', 'sp', 'o.img', src, '--offset', '1000', '--length', '4096')
    assert r.rc == 0, r.err
    expected = base[:1000] + patch + base[5096:]
    assert read_bytes(vol) == expected
    out = os.path.join(tmpdir_path, 'slice.bin')
    r = virsh(uri, 'vol-download', '--pool', 'sp', 'o.img', out, '--offset', '1000', '--length', '4096')
    assert r.rc == 0, r.err
    assert read_bytes(out) == patch
    # An offset past the end gives nothing; a length past the end stops at the end.
    r = virsh(uri, 'vol-download', '--pool', 'sp', 'o.img', out, '--offset', str(60 * 1024), '--length', '1000000')
    assert r.rc == 0 and read_bytes(out) == expected[60 * 1024:]

    # Sending more than the length asked for fails the upload; the volume keeps its content.
    write_bytes(src, os.urandom(8192))
    r = virsh(uri, 'vol-upload', '--pool', 'sp', 'o.img', src, '--length', '4096')
    assert r.rc == 1 and 'goes past the length 4096' in r.err, r.err
    assert read_bytes(vol) == expected
    assert pool_files_held(daemon, target) == []


def test_kill9_in_the_middle_of_an_upload(daemon, pool):
    uri, target = pool
    assert virsh(uri, 'vol-create-as', 'sp', 'k.img', '8M', '--format', 'raw').rc == 0
    vol = os.path.join(target, 'k.img')
    old = os.urandom(8 * MiB)
    write_bytes(vol, old)
    assert virsh(uri, 'pool-refresh', 'sp').rc == 0

    conn = libvirt.open(uri)
    v = conn.storagePoolLookupByName('sp').storageVolLookupByName('k.img')
    st = conn.newStream(0)
    v.upload(st, 0, 0, 0)
    for _ in range(5):
        st.send(b'N' * MiB)
    # The client stops feeding it once the daemon wrote a part of it to the upload's file (an
    # unnamed one: /proc shows it deleted); then the daemon dies.
    wait_for(lambda: upload_file_size(daemon, target) >= 4 * MiB, what='the upload to be written in part')
    daemon.kill9()
    try:
        conn.close()
    except libvirt.libvirtError:
        pass
    daemon.start()
    # The volume is the old one, whole; nothing else is listed or left in the directory.
    assert read_bytes(vol) == old
    assert sorted(os.listdir(target)) == ['k.img']
    listed = virsh(uri, 'vol-list', 'sp').out
    assert 'k.img' in listed and '.corral' not in listed
    assert vol_info(uri, 'sp', 'k.img')[0] == 8 * MiB
    # And nothing holds it: a new upload goes through.
    conn = libvirt.open(uri)
    try:
        v = conn.storagePoolLookupByName('sp').storageVolLookupByName('k.img')
        st = conn.newStream(0)
        v.upload(st, 0, 0, 0)
        st.send(b'Z' * 4096)
        st.finish()
    finally:
        conn.close()
    assert read_bytes(vol) == b'Z' * 4096 + old[4096:]


def test_a_file_left_between_naming_and_renaming_is_removed(daemon, pool):
    # A daemon killed after it named a finished upload's file and before it renamed it over the
    # volume leaves that file: the next refresh neither lists it nor keeps it.
    uri, target = pool
    left = os.path.join(target, '.corral-upload-abcdef1234')
    write_bytes(left, b'half')
    assert virsh(uri, 'pool-refresh', 'sp').rc == 0
    assert '.corral-upload' not in virsh(uri, 'vol-list', 'sp').out
    assert not os.path.exists(left)
    # And no volume can take such a name.
    r = virsh(uri, 'vol-create-as', 'sp', '.corral-upload-mine', '1M')
    assert r.rc == 1 and "volume name '.corral-upload-mine' is reserved" in r.err, r.err


def test_abort_disconnect_and_a_second_upload(daemon, pool, tmpdir_path):
    uri, target = pool
    assert virsh(uri, 'vol-create-as', 'sp', 'a.img', '1M', '--format', 'raw').rc == 0
    vol = os.path.join(target, 'a.img')
    old = read_bytes(vol)
    src = os.path.join(tmpdir_path, 'a.bin')
    write_bytes(src, os.urandom(MiB))

    conn = libvirt.open(uri)
    try:
        v = conn.storagePoolLookupByName('sp').storageVolLookupByName('a.img')
        st = conn.newStream(0)
        v.upload(st, 0, 0, 0)
        st.send(b'A' * 65536)
        # While it runs, a second upload, a delete, a wipe of the same volume are refused.
        r = virsh(uri, 'vol-upload', '--pool', 'sp', 'a.img', src)
        assert r.rc == 1 and "volume 'a.img' is still in use" in r.err, r.err
        r = virsh(uri, 'vol-delete', '--pool', 'sp', 'a.img')
        assert r.rc == 1 and 'still in use' in r.err, r.err
        # An abort leaves the volume as it was, and frees it.
        st.abort()
        assert read_bytes(vol) == old
        r = virsh(uri, 'vol-upload', '--pool', 'sp', 'a.img', src)
        assert r.rc == 0, r.err
        assert read_bytes(vol) == read_bytes(src)
        new = read_bytes(vol)

        # A client killed mid-upload: the same.
        script = ('import libvirt, sys\n'
                  f'c = libvirt.open({uri!r})\n'
                  'st = c.newStream(0)\n'
                  "c.storagePoolLookupByName('sp').storageVolLookupByName('a.img').upload(st, 0, 0, 0)\n"
                  "st.send(b'B' * 65536)\n"
                  "print('sent', flush=True)\n"
                  'sys.stdin.read()\n')
        client = subprocess.Popen(['/usr/bin/python3', '-c', script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        assert client.stdout.readline().strip() == 'sent'
        client.kill()
        client.wait()
        wait_for(lambda: pool_files_held(daemon, target) == [], what='the killed client\'s upload to be dropped')
        assert read_bytes(vol) == new
        r = virsh(uri, 'vol-upload', '--pool', 'sp', 'a.img', '/dev/null')
        assert r.rc == 0, r.err
    finally:
        conn.close()
    wait_for(lambda: pool_files_held(daemon, target) == [], what='the daemon to close the pool files')


def raw_upload(daemon, vol_path, pool='sp', flags=0):
    """A raw client with an upload of `vol_path` open: (client, the stream's serial)."""
    raw = RawClient(daemon.socket)
    reply = raw.open('qemu:///system')
    assert reply[0][5] == 0, reply
    name = os.path.basename(vol_path)
    args = xdr_string(pool) + xdr_string(name) + xdr_string(vol_path) + struct.pack('>QQI', 0, 0, flags)
    reply = raw.call(208, args)
    assert reply[0][5] == 0, reply
    return raw, raw.serial - 1


def stream_packet(serial, mtype, status, payload=b''):
    body = struct.pack('>IIiIII', 0x20008086, 1, 208, mtype, serial, status) + payload
    return struct.pack('>I', len(body) + 4) + body


def test_a_hole_on_a_stream_without_the_sparse_flag(daemon, pool):
    # python3-libvirt will not send it; a hostile client can. The stream ends with libvirt's
    # error and the volume keeps its content.
    uri, target = pool
    assert virsh(uri, 'vol-create-as', 'sp', 'n.img', '64K', '--format', 'raw').rc == 0
    vol = os.path.join(target, 'n.img')
    old = read_bytes(vol)
    raw, serial = raw_upload(daemon, vol)
    raw.send_raw(stream_packet(serial, 3, 2, b'x' * 100))
    raw.send_raw(stream_packet(serial, 6, 2, struct.pack('>qI', 4096, 0)))
    while True:
        header, payload = raw.recv()
        if header[4] == serial and header[3] == 3:
            break
    assert error_of((header, payload))[1] == 'Unexpected stream hole'
    raw.close()
    assert read_bytes(vol) == old
    wait_for(lambda: virsh(uri, 'vol-upload', '--pool', 'sp', 'n.img', '/dev/null').rc == 0,
             what='the volume to be free')


def test_half_a_packet_then_silence(daemon, pool):
    # A client opens an upload, sends half a data packet and waits: other clients are served,
    # the volume stays busy and unchanged; when the client goes, the volume is free again.
    uri, target = pool
    assert virsh(uri, 'vol-create-as', 'sp', 'h.img', '64K', '--format', 'raw').rc == 0
    vol = os.path.join(target, 'h.img')
    old = read_bytes(vol)
    raw, serial = raw_upload(daemon, vol)
    raw.send_raw(stream_packet(serial, 3, 2, b'D' * 1000)[:500])
    assert 'h.img' in virsh(uri, 'vol-list', 'sp').out
    r = virsh(uri, 'vol-upload', '--pool', 'sp', 'h.img', '/dev/null')
    assert r.rc == 1 and 'still in use' in r.err, r.err
    raw.close()
    wait_for(lambda: virsh(uri, 'vol-wipe', '--pool', 'sp', 'h.img').rc == 0, what='the volume to be free')
    assert read_bytes(vol) == old  # zeros before and after
    wait_for(lambda: pool_files_held(daemon, target) == [], what='the daemon to close the pool files')


def test_upload_naming_a_host_backing_file_is_refused(daemon, pool, tmpdir_path):
    uri, target = pool
    assert virsh(uri, 'vol-create-as', 'sp', 'b.qcow2', '16M', '--format', 'qcow2').rc == 0
    vol = os.path.join(target, 'b.qcow2')
    old = read_bytes(vol)
    evil = os.path.join(tmpdir_path, 'evil.qcow2')
    r = subprocess.run(['qemu-img', 'create', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/shadow', evil, '16M'],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = virsh(uri, 'vol-upload', '--pool', 'sp', 'b.qcow2', evil)
    assert r.rc == 1 and "'/etc/shadow', which is not a volume of an active storage pool" in r.err, r.err
    assert read_bytes(vol) == old
    assert sorted(os.listdir(target)) == ['b.qcow2']


def test_read_only_clients_cannot_stream_volumes(daemon, pool, tmpdir_path):
    uri, target = pool
    assert virsh(uri, 'vol-create-as', 'sp', 'r.img', '64K', '--format', 'raw').rc == 0
    out = os.path.join(tmpdir_path, 'r.bin')
    for cmd in (('vol-upload', '--pool', 'sp', 'r.img', '/dev/null'), ('vol-download', '--pool', 'sp', 'r.img', out)):
        r = virsh(daemon.uri('qemu', readonly=True), *cmd, readonly=True)
        assert r.rc == 1 and 'read only' in r.err, r.err


def test_corral_vol_upload_and_download(daemon, pool, bin_dir, tmpdir_path):
    uri, target = pool
    assert virsh(uri, 'vol-create-as', 'sp', 'c.img', '1M', '--format', 'raw').rc == 0
    data = os.urandom(300000)
    src = os.path.join(tmpdir_path, 'c.bin')
    write_bytes(src, data)
    r = corral(bin_dir, uri, 'vol-upload', 'c.img', src, '--pool', 'sp')
    assert r.rc == 0, r.err
    assert read_bytes(os.path.join(target, 'c.img'))[:len(data)] == data
    out = os.path.join(tmpdir_path, 'c-out.bin')
    r = corral(bin_dir, uri, 'vol-download', 'c.img', out, '--pool', 'sp', '--offset', '1000', '--length', '5000')
    assert r.rc == 0, r.err
    assert read_bytes(out) == data[1000:6000]
    # The daemon's refusal reaches the user as virsh prints it.
    r = corral(bin_dir, uri, 'vol-upload', 'c.img', src, '--pool', 'sp', '--length', '10')
    assert r.rc == 1 and 'goes past the length 10' in r.err, r.err
    assert read_bytes(os.path.join(target, 'c.img'))[:len(data)] == data


def test_daemon_stops_cleanly_with_an_upload_open(daemon, pool):
    # SIGTERM while a client holds an upload half sent: the stream ends, the storage driver
    # waits for it, the daemon exits 0 and the volume is as it was.
    uri, target = pool
    assert virsh(uri, 'vol-create-as', 'sp', 't.img', '64K', '--format', 'raw').rc == 0
    vol = os.path.join(target, 't.img')
    old = read_bytes(vol)
    raw, serial = raw_upload(daemon, vol)
    raw.send_raw(stream_packet(serial, 3, 2, b'T' * 4096))
    raw.send_raw(stream_packet(serial, 3, 2, b'T' * 1000)[:300])
    assert daemon.stop() == 0
    raw.close()
    assert read_bytes(vol) == old and sorted(os.listdir(target)) == ['t.img']
    daemon.start()
    assert virsh(uri, 'vol-upload', '--pool', 'sp', 't.img', '/dev/null').rc == 0
