# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest disks encrypted with LUKS (<encryption format='luks'><secret type='passphrase' .../>), on
# the real QEMU (TCG): a raw LUKS image and a qcow2 image with LUKS encryption, opened with the
# passphrase of a secret the secret driver holds. The guest writes a mark, reads it back after a
# destroy and a start, and the host image never holds it in plaintext. The passphrase reaches
# QEMU by a sealed memfd it inherits: never on its command line nor in any file of the daemon's
# tree. Attacks: a secret that does not exist, has no value, is a TLS key, or is the wrong
# passphrase; another guest's identity opening the descriptor; hotplugging an encrypted disk.
import os
import re
import secrets
import subprocess

import libvirt
import pytest

from framework.qemu_fixtures import guest_files, qemu, qemu_pids, serial_text, wait_for  # noqa: F401
from framework.tools import virsh

SECRET = '0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'
MISSING = '11111111-2222-4333-8444-555555555555'


def make_image(path, fmt, passphrase):
    """A 16 MiB encrypted image made by qemu-img, the passphrase on its standard input."""
    options = 'key-secret=sec0' if fmt == 'luks' else 'encrypt.format=luks,encrypt.key-secret=sec0'
    p = subprocess.run(['qemu-img', 'create', '-q', '-f', fmt, '--object', 'secret,id=sec0,file=/dev/stdin,format=raw',
                        '-o', options, path, '16M'], input=passphrase.encode(), capture_output=True)
    assert p.returncode == 0, p.stderr


def define_secret(uri, uuid, usage, value=None):
    conn = libvirt.open(uri)
    try:
        sec = conn.secretDefineXML(f"<secret ephemeral='no' private='yes'><uuid>{uuid}</uuid>{usage}</secret>")
        if value is not None:
            sec.setValue(value.encode())
    finally:
        conn.close()


def volume_usage(path):
    return f"<usage type='volume'><volume>{path}</volume></usage>"


def encrypted_disk(path, fmt, secret_attr, target='vda'):
    driver_type = 'raw' if fmt == 'luks' else 'qcow2'
    return (f"<disk type='file' device='disk'><driver name='qemu' type='{driver_type}'/><source file='{path}'/>"
            f"<target dev='{target}' bus='virtio'/><encryption format='luks'>"
            f"<secret type='passphrase' {secret_attr}/></encryption></disk>")


def only_pid(name):
    pids = qemu_pids(name)
    assert len(pids) == 1, pids
    return pids[0]


def process_uid(pid):
    with open(f'/proc/{pid}/status') as f:
        return int(re.search(r'^Uid:\s+(\d+)', f.read(), re.M).group(1))


def secret_fds(pid):
    """The descriptors of QEMU `pid` that are the daemon's passphrase memfds."""
    found = []
    for fd in os.listdir(f'/proc/{pid}/fd'):
        try:
            target = os.readlink(f'/proc/{pid}/fd/{fd}')
        except OSError:
            continue
        if target.startswith('/memfd:corral-secret-'):
            found.append(f'/proc/{pid}/fd/{fd}')
    return found


def files_holding(root, needle):
    """Regular files under `root` whose bytes contain `needle`."""
    hits = []
    for dirpath, _, names in os.walk(root):
        for n in names:
            path = os.path.join(dirpath, n)
            try:
                if not os.path.isfile(path) or os.path.islink(path):
                    continue
                with open(path, 'rb') as f:
                    if needle in f.read():
                        hits.append(path)
            except OSError:
                continue
    return hits


def boot_with_mark(q, name, disk, mark):
    """Defines `name` with `disk` as its first disk, starts it, waits until its guest has written
    `mark`; returns what the guest found there from an earlier boot."""
    virsh(q.uri, 'undefine', name)  # a definition from an earlier boot (another mark)
    serial = q.define(name, extra_devices=disk, cmdline_extra=f'corral.disk_marker={mark}')
    before = len(serial_text(serial))
    r = virsh(q.uri, 'start', name)
    assert r.rc == 0, r.err
    wait_for(lambda: f'CORRAL-GUEST-DISK-MARKED {mark}' in serial_text(serial)[before:], what=f'{name} to write')
    had = re.search(r'CORRAL-GUEST-DISK-HAD ?([^\r\n]*)', serial_text(serial)[before:])
    assert had, serial_text(serial)[before:]
    return had.group(1).strip()


@pytest.mark.parametrize('fmt', ['luks', 'qcow2'])
def test_guest_reads_back_what_it_wrote_and_the_image_stays_ciphertext(qemu, tmpdir_path, fmt):
    uri = qemu.uri
    passphrase = 'corral-luks-' + secrets.token_hex(16)
    image = os.path.join(tmpdir_path, f'disk.{fmt}')
    make_image(image, fmt, passphrase)
    define_secret(uri, SECRET, volume_usage(image), passphrase)
    # The raw image names its secret by UUID, the qcow2 one by the volume's usage.
    disk = encrypted_disk(image, fmt, f"uuid='{SECRET}'" if fmt == 'luks' else f"usage='{image}'")
    first, second = f'ALPHA{os.getpid()}', f'BRAVO{os.getpid()}'

    assert boot_with_mark(qemu, 'enc', disk, first) == ''  # a new volume: no mark yet
    pid = only_pid('enc')
    with open(f'/proc/{pid}/cmdline', 'rb') as f:
        cmdline = f.read()
    assert passphrase.encode() not in cmdline
    assert b'format=raw,file=/proc/self/fd/' in cmdline.replace(b'\0', b' ')
    # Nowhere in the daemon's tree (run directory, logs, state: the stored value is sealed).
    assert files_holding(qemu.daemon.root, passphrase.encode()) == []
    # The descriptor QEMU holds is the guest identity's alone, read-only, and sealed.
    fds = secret_fds(pid)
    assert len(fds) == 1, os.listdir(f'/proc/{pid}/fd')
    st = os.stat(fds[0])
    assert (st.st_mode & 0o777, st.st_uid) == (0o400, process_uid(pid))

    assert virsh(uri, 'destroy', 'enc').rc == 0
    assert boot_with_mark(qemu, 'enc', disk, second) == first  # after a restart: what it wrote
    assert virsh(uri, 'destroy', 'enc').rc == 0

    with open(image, 'rb') as f:
        stored = f.read()
    for plain in (first.encode(), second.encode(), b'MARK<'):
        assert plain not in stored, f'{plain!r} is in the host image in plaintext'
    info = subprocess.run(['qemu-img', 'info', '-U', image], capture_output=True, text=True)
    assert f'file format: {fmt}' in info.stdout, info.stdout


def test_bad_secrets_are_refused_before_qemu_runs(qemu, tmpdir_path):
    uri = qemu.uri
    passphrase = 'corral-luks-' + secrets.token_hex(16)
    image = os.path.join(tmpdir_path, 'disk.luks')
    make_image(image, 'luks', passphrase)
    define_secret(uri, SECRET, volume_usage(image))  # no value yet
    tls_secret = '22222222-3333-4444-8555-666666666666'
    define_secret(uri, tls_secret, "<usage type='tls'><name>console</name></usage>", passphrase)

    cases = [
        (f"uuid='{MISSING}'", f"no secret with matching uuid '{MISSING}'"),
        (f"usage='{image}.other'", f"no secret with matching usage '{image}.other'"),
        (f"uuid='{SECRET}'", f"secret '{SECRET}' does not have a value"),
        # A TLS key (with a value) does not double as a disk's passphrase.
        (f"uuid='{tls_secret}'", f"secret '{tls_secret}' is of usage type 'tls', not 'volume'"),
    ]
    for i, (attr, message) in enumerate(cases):
        name = f'bad{i}'
        qemu.define(name, extra_devices=encrypted_disk(image, 'luks', attr))
        r = virsh(uri, 'start', name)
        assert r.rc == 1 and message in r.err and "<disk> with target 'vda'" in r.err, (attr, r.err)
        assert qemu_pids(name) == []
        assert virsh(uri, 'domstate', name).out.strip() == 'shut off'
        # Refused before a command line was even built: QEMU's log never saw a start.
        log = os.path.join(qemu.daemon.root, 'log', 'corral', 'qemu', name + '.log')
        assert not os.path.exists(log) or 'starting domain' not in open(log).read(), attr

    # A wrong passphrase cannot be known before LUKS is opened: QEMU says so and is gone.
    conn = libvirt.open(uri)
    try:
        conn.secretLookupByUUIDString(SECRET).setValue(b'not the passphrase')
    finally:
        conn.close()
    qemu.define('wrong', extra_devices=encrypted_disk(image, 'luks', f"uuid='{SECRET}'"))
    r = virsh(uri, 'start', 'wrong')
    assert r.rc == 1 and 'Invalid password, cannot unlock any keyslot' in r.err, r.err
    assert qemu_pids('wrong') == []
    assert passphrase not in r.err and 'not the passphrase' not in r.err


def test_another_guest_cannot_open_the_passphrase(qemu, tmpdir_path):
    uri = qemu.uri
    passphrase = 'corral-luks-' + secrets.token_hex(16)
    image = os.path.join(tmpdir_path, 'disk.luks')
    make_image(image, 'luks', passphrase)
    define_secret(uri, SECRET, volume_usage(image), passphrase)
    qemu.define('holder', extra_devices=encrypted_disk(image, 'luks', f"uuid='{SECRET}'"))
    qemu.define('other')
    for name in ('holder', 'other'):
        r = virsh(uri, 'start', name)
        assert r.rc == 0, r.err
    holder, other = only_pid('holder'), only_pid('other')
    other_uid = process_uid(other)
    assert other_uid != process_uid(holder), 'the guests share one identity: per-guest DAC is off'
    [path] = secret_fds(holder)
    with open(path, 'rb') as f:
        assert f.read() == passphrase.encode()  # root may; the point is who else may

    # The other guest's identity, trying the path and the file itself.
    probe = subprocess.run(
        ['/usr/bin/python3', '-c',
         'import os, sys\n'
         f'os.setgroups([]); os.setresgid({other_uid}, {other_uid}, {other_uid}); '
         f'os.setresuid({other_uid}, {other_uid}, {other_uid})\n'
         'try:\n'
         '    open(sys.argv[1], "rb").read(); print("READ")\n'
         'except OSError as e:\n'
         '    print("REFUSED", e.errno)\n', path],
        capture_output=True, text=True)
    assert probe.stdout.startswith('REFUSED'), probe.stdout + probe.stderr

    # Hotplug is not done yet: refused by name, nothing reaches QEMU.
    second = os.path.join(tmpdir_path, 'second.luks')
    make_image(second, 'luks', passphrase)
    xml = os.path.join(tmpdir_path, 'hot.xml')
    with open(xml, 'w') as f:
        f.write(encrypted_disk(second, 'luks', f"uuid='{SECRET}'", target='vdb'))
    r = virsh(uri, 'attach-device', 'holder', xml, '--live')
    assert r.rc == 1 and 'an encrypted disk (<encryption>) cannot be added to a running guest yet' in r.err, r.err
    assert "target dev='vdb'" not in virsh(uri, 'dumpxml', 'holder').out


def test_volumes_created_encrypted_open_with_their_secret(qemu, tmpdir_path, write_file):
    """vol-create with <encryption format='luks'>: the storage driver makes a raw LUKS volume
    (secret by UUID) and a qcow2 one encrypted with LUKS (secret by usage) keyed with the secret's
    value; a guest opens the first with that secret; what cannot be made is refused before any
    file is written."""
    uri = qemu.uri
    target = os.path.join(tmpdir_path, 'encpool')
    assert virsh(uri, 'pool-define-as', 'encp', 'dir', '--target', target).rc == 0
    assert virsh(uri, 'pool-build', 'encp').rc == 0 and virsh(uri, 'pool-start', 'encp').rc == 0
    passphrase = 'corral-vol-' + secrets.token_hex(16)
    raw_path, qcow_path = os.path.join(target, 'enc.img'), os.path.join(target, 'enc.qcow2')
    define_secret(uri, SECRET, volume_usage(raw_path), passphrase)
    other = '0a81f5b2-8403-7b23-c8d6-21ccc2f80d70'
    define_secret(uri, other, volume_usage(qcow_path), passphrase + '-q')

    def vol_xml(name, fmt, secret_attr, extra=''):
        return (f"<volume><name>{name}</name><capacity unit='M'>16</capacity><target><format type='{fmt}'/>"
                f"<encryption format='luks'><secret type='passphrase' {secret_attr}/>{extra}</encryption>"
                "</target></volume>")

    r = virsh(uri, 'vol-create', 'encp', write_file('v1.xml', vol_xml('enc.img', 'raw', f"uuid='{SECRET}'")))
    assert r.rc == 0, r.err
    r = virsh(uri, 'vol-create', 'encp', write_file('v2.xml', vol_xml('enc.qcow2', 'qcow2', f"usage='{qcow_path}'")))
    assert r.rc == 0, r.err
    for path, fmt, key in ((raw_path, 'luks', passphrase), (qcow_path, 'qcow2', passphrase + '-q')):
        info = subprocess.run(['qemu-img', 'info', '-U', path], capture_output=True, text=True).stdout
        assert f'file format: {fmt}' in info and ('encrypted: yes' in info), info
        assert os.stat(path).st_mode & 0o777 == 0o600
        # It opens with its secret's value and with nothing else.
        opts = f'driver={fmt},file.filename={path},' + ('key-secret=s' if fmt == 'luks' else 'encrypt.key-secret=s')
        for data, opens in ((key, True), (key + 'x', False)):
            # qemu-io reads the payload: that needs the key (qemu-img info reads only the header).
            p = subprocess.run(['qemu-io', '--object', f'secret,id=s,data={data}', '--image-opts', opts,
                                '-c', 'read 0 4096'], capture_output=True, text=True)
            assert (p.returncode == 0) == opens, p.stderr
    xml = virsh(uri, 'vol-dumpxml', '--pool', 'encp', 'enc.img').out
    assert "<encryption format='luks'>" in xml and f"uuid='{SECRET}'" in xml and "<format type='raw'/>" in xml
    assert f"usage='{qcow_path}'" in virsh(uri, 'vol-dumpxml', '--pool', 'encp', 'enc.qcow2').out
    # The guest sees the capacity asked for, not the header's extra.
    assert 'Capacity:       16.00 MiB' in virsh(uri, 'vol-info', '--pool', 'encp', 'enc.img').out
    assert 'Capacity:       16.00 MiB' in virsh(uri, 'vol-info', '--pool', 'encp', 'enc.qcow2').out

    disk = encrypted_disk(raw_path, 'luks', f"uuid='{SECRET}'")
    mark = f'VOLENC{os.getpid()}'
    assert boot_with_mark(qemu, 'encvol', disk, mark) == ''
    assert virsh(uri, 'destroy', 'encvol').rc == 0
    with open(raw_path, 'rb') as f:
        assert mark.encode() not in f.read()

    # Refused, naming what is wrong, and no file made.
    tls = '0a81f5b2-8403-7b23-c8d6-21ccc2f80d71'
    define_secret(uri, tls, "<usage type='tls'><name>t</name></usage>", 'x')
    novalue = '0a81f5b2-8403-7b23-c8d6-21ccc2f80d72'
    define_secret(uri, novalue, volume_usage('/nowhere'))
    for name, text, needle in (
            ('a.img', vol_xml('a.img', 'raw', f"uuid='{MISSING}'"), MISSING),
            ('b.img', vol_xml('b.img', 'raw', f"uuid='{tls}'"), "usage type 'tls'"),
            ('c.img', vol_xml('c.img', 'raw', f"uuid='{novalue}'"), 'value'),
            ('d.img', vol_xml('d.img', 'raw', f"uuid='{SECRET}'", extra="<cipher name='aes' size='256'/>"), '<cipher'),
            ('e.img', vol_xml('e.img', 'raw', f"uuid='{SECRET}'").replace("format='luks'", "format='qcow'"), "'qcow'"),
            ('f.img', vol_xml('f.img', 'raw', "type2='x'").replace("<secret type='passphrase' type2='x'/>", ''),
             "<secret type='passphrase'"),
            ('enc.img', vol_xml('enc.img', 'raw', f"uuid='{SECRET}'"), 'exists already')):
        r = virsh(uri, 'vol-create', 'encp', write_file(name + '.xml', text))
        assert r.rc == 1 and needle in r.err, (name, r.err)
    assert sorted(os.listdir(target)) == ['enc.img', 'enc.qcow2']
    assert virsh(uri, 'pool-destroy', 'encp').rc == 0
