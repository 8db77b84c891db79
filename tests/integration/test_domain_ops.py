# SPDX-License-Identifier: LGPL-2.1-or-later
# domblkinfo, send-key, domjobinfo and domjobabort against a real QEMU guest (TCG), through the
# real virsh and the corral CLI (same output): a qcow2 disk's sizes as qemu-img reports them,
# shut off and running; Ctrl+Alt+Del pressed with Linux key names and with qnum codes reboots
# the guest (its kernel does that on the keyboard's Ctrl+Alt+Del); no job, no abort. Attacks:
# paths that are no disk of the domain (/etc/shadow), a raw disk whose guest wrote a qcow2
# header into it, bad key names, codes and sets, too many keys, keys while the guest is being
# destroyed, read-only connections.
import json
import os
import subprocess
import threading

import libvirt
import pytest

from framework.qemu_fixtures import guest_files, pytestmark, qemu, serial_text, wait_for  # noqa: F401
from framework.tools import corral, virsh


def qemu_img_info(path):
    return json.loads(subprocess.run(['qemu-img', 'info', '-U', '--output=json', path], check=True,
                                     capture_output=True, text=True).stdout)


def disks(image, fmt):
    return (f"<disk type='file' device='disk'><driver name='qemu' type='{fmt}'/><source file='{image}'/>"
            "<target dev='vda' bus='virtio'/></disk>"
            "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>")


def blkinfo(uri, name, device, tool):
    r = tool(uri, 'domblkinfo', name, device)
    assert r.rc == 0, r.err
    fields = dict(line.split(':', 1) for line in r.out.strip().splitlines())
    return {k: int(v) for k, v in fields.items()}, r.out


def expected(image):
    info = qemu_img_info(image)
    st = os.stat(image)
    return {'Capacity': info['virtual-size'], 'Allocation': st.st_blocks * 512, 'Physical': st.st_size}


def test_domblkinfo_of_a_qcow2_disk(qemu, tmpdir_path):
    uri, bin_dir = qemu.uri, qemu.daemon.bin_dir
    image = os.path.join(tmpdir_path, 'blk.qcow2')
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', image, '64M'], check=True)
    subprocess.run(['qemu-io', '-f', 'qcow2', '-c', 'write -P 0x11 0 3M', image], check=True, capture_output=True)
    os.chmod(image, 0o666)
    serial = qemu.define('vb', extra_devices=disks(image, 'qcow2'))
    ours, text = blkinfo(uri, 'vb', 'vda', virsh)
    assert ours == expected(image) and ours['Capacity'] == 64 << 20, (ours, expected(image))
    # corral prints the same; --json has the numbers; by source path as by target.
    assert corral(bin_dir, uri, 'domblkinfo', 'vb', 'vda').out == text
    assert blkinfo(uri, 'vb', image, virsh)[0] == ours
    assert json.loads(corral(bin_dir, uri, '--json', 'domblkinfo', 'vb', 'vda').out) == \
        {'capacity': ours['Capacity'], 'allocation': ours['Allocation'], 'physical': ours['Physical']}
    assert virsh(uri, 'start', 'vb').rc == 0
    wait_for(lambda: 'CORRAL-GUEST-READY' in serial_text(serial), what='vb to boot')
    running, _ = blkinfo(uri, 'vb', 'vda', virsh)
    assert running == expected(image), (running, expected(image))
    # Not disks of this domain: refused without touching the file.
    for path in ('/etc/shadow', 'vdz'):
        r = virsh(uri, 'domblkinfo', 'vb', path)
        assert r.rc == 1 and f'invalid path {path} not assigned to domain' in r.err, r.err
    r = virsh(uri, 'domblkinfo', 'vb', 'hdc')
    assert r.rc == 1 and "disk 'hdc' of domain 'vb' has no media" in r.err, r.err
    # A read-only connection may ask (libvirt's domblkinfo is a read-only call).
    assert virsh(uri, 'domblkinfo', 'vb', 'vda', readonly=True).rc == 0


def test_domblkinfo_trusts_the_definition_not_the_header(qemu, tmpdir_path):
    # A raw disk whose guest wrote a qcow2 header (claiming 1 TiB over /etc/shadow) is a raw
    # disk: its size is the file's, and no backing file is read.
    uri = qemu.uri
    image = os.path.join(tmpdir_path, 'raw.img')
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', '/etc/shadow', '-F', 'raw', image, '1T'],
                   check=True)
    with open(image, 'ab') as f:
        f.truncate(8 << 20)
    qemu.define('vraw', extra_devices=disks(image, 'raw'))
    info, _ = blkinfo(uri, 'vraw', 'vda', virsh)
    assert info['Capacity'] == 8 << 20 and info['Physical'] == 8 << 20, info


def reboot_by_keys(qemu, name, serial, *keys):
    boots = serial_text(serial).count('CORRAL-GUEST-READY')
    r = virsh(qemu.uri, 'send-key', name, *keys)
    assert r.rc == 0, r.err
    wait_for(lambda: serial_text(serial).count('CORRAL-GUEST-READY') > boots, what='the guest to boot again', timeout=240)


def test_send_key_ctrl_alt_del_reboots_the_guest(qemu):
    uri, bin_dir = qemu.uri, qemu.daemon.bin_dir
    serial = qemu.start_and_boot('vk')
    # Linux key names (virsh's default set), then qnum numbers through corral.
    reboot_by_keys(qemu, 'vk', serial, 'KEY_LEFTCTRL', 'KEY_LEFTALT', 'KEY_DELETE')
    boots = serial_text(serial).count('CORRAL-GUEST-READY')
    r = corral(bin_dir, uri, 'send-key', 'vk', '--codeset', 'qnum', '--holdtime', '50', '0x1d', '0x38', '0xd3')
    assert r.rc == 0 and r.out.strip() == '', r.out + r.err
    wait_for(lambda: serial_text(serial).count('CORRAL-GUEST-READY') > boots, what='the guest to boot again', timeout=240)
    # A single harmless key through python, as a number of the linux set.
    conn = libvirt.open(uri)
    try:
        conn.lookupByName('vk').sendKey(libvirt.VIR_KEYCODE_SET_LINUX, 0, [30], 1, 0)
    finally:
        conn.close()


def test_send_key_refusals(qemu):
    uri, bin_dir = qemu.uri, qemu.daemon.bin_dir
    qemu.start_and_boot('vkr')
    for tool in (virsh, lambda u, *a: corral(bin_dir, u, *a)):
        r = tool(uri, 'send-key', 'vkr', 'KEY_NOSUCH')
        assert r.rc == 1 and "invalid keycode: 'KEY_NOSUCH'" in r.err, r.err
        r = tool(uri, 'send-key', 'vkr', '--codeset', 'nosuch', '1')
        assert r.rc == 1 and "unknown codeset: 'nosuch'" in r.err, r.err
    conn = libvirt.open(uri)
    dom = conn.lookupByName('vkr')
    try:
        cases = [
            (libvirt.VIR_KEYCODE_SET_USB, [4], "keycode set 'usb' is not supported by this driver (linux, qnum)"),
            (libvirt.VIR_KEYCODE_SET_XT, [1], "keycode set 'xt' is not supported by this driver (linux, qnum)"),
            (libvirt.VIR_KEYCODE_SET_LINUX, [0x2ff], 'linux keycode 767 is not supported by this driver'),
            (libvirt.VIR_KEYCODE_SET_QNUM, [0x100], 'invalid qnum keycode 256'),
            (libvirt.VIR_KEYCODE_SET_QNUM, [0], 'invalid qnum keycode 0'),
        ]
        for codeset, keys, message in cases:
            with pytest.raises(libvirt.libvirtError) as e:
                dom.sendKey(codeset, 0, keys, len(keys), 0)
            assert message in str(e.value), str(e.value)
        # More than 16 keys: the client library itself refuses them (libvirt's limit), and
        # corral's CLI says so before it calls.
        r = corral(bin_dir, uri, 'send-key', 'vkr', *(['KEY_A'] * 17))
        assert r.rc == 1 and 'too many keycodes' in r.err, r.err
    finally:
        conn.close()
    r = virsh(uri, 'send-key', 'vkr', 'KEY_A', readonly=True)
    assert r.rc == 1 and 'read only access prevents virDomainSendKey' in r.err, r.err
    assert virsh(uri, 'destroy', 'vkr').rc == 0
    r = virsh(uri, 'send-key', 'vkr', 'KEY_A')
    assert r.rc == 1 and 'domain is not running' in r.err, r.err


def test_send_key_while_the_guest_is_destroyed(qemu):
    # Keys pressed in a loop while another client destroys the guest: every call ends in a
    # success or a clean error, and the daemon lives on.
    uri = qemu.uri
    qemu.start_and_boot('vkd')
    outcomes = []
    stop = threading.Event()

    def press():
        conn = libvirt.open(uri)
        dom = conn.lookupByName('vkd')
        try:
            while not stop.is_set():
                try:
                    dom.sendKey(libvirt.VIR_KEYCODE_SET_LINUX, 0, [30], 1, 0)
                    outcomes.append('ok')
                except libvirt.libvirtError as e:
                    outcomes.append(e.get_error_code())
                    if 'domain is not running' in str(e):
                        return
        finally:
            conn.close()

    t = threading.Thread(target=press)
    t.start()
    wait_for(lambda: 'ok' in outcomes, what='a key to go through')
    assert virsh(uri, 'destroy', 'vkd').rc == 0
    t.join(60)
    stop.set()
    assert not t.is_alive()
    assert set(outcomes) <= {'ok', libvirt.VIR_ERR_OPERATION_INVALID, libvirt.VIR_ERR_OPERATION_FAILED}, outcomes
    assert outcomes[-1] == libvirt.VIR_ERR_OPERATION_INVALID
    assert qemu.daemon.alive()


def test_domjobinfo_and_domjobabort(qemu):
    uri, bin_dir = qemu.uri, qemu.daemon.bin_dir
    qemu.define('vj')
    for tool in (virsh, lambda u, *a: corral(bin_dir, u, *a)):
        r = tool(uri, 'domjobinfo', 'vj')
        assert r.rc == 1 and 'domain is not running' in r.err, r.err
    assert virsh(uri, 'start', 'vj').rc == 0
    r = virsh(uri, 'domjobinfo', 'vj')
    assert r.rc == 0 and r.out.split('\n')[0].split() == ['Job', 'type:', 'None'], r.out
    assert corral(bin_dir, uri, 'domjobinfo', 'vj').out == r.out
    assert json.loads(corral(bin_dir, uri, '--json', 'domjobinfo', 'vj').out) == {'type': 'None'}
    assert virsh(uri, 'domjobinfo', 'vj', readonly=True).rc == 0
    for tool in (virsh, lambda u, *a: corral(bin_dir, u, *a)):
        r = tool(uri, 'domjobabort', 'vj')
        assert r.rc == 1 and 'Requested operation is not valid: no job is active on the domain' in r.err, r.err
    r = virsh(uri, 'domjobabort', 'vj', readonly=True)
    assert r.rc == 1 and 'read only access prevents virDomainAbortJob' in r.err, r.err


def ppm_size(data):
    """(width, height) of a binary PPM (P6) image."""
    fields = data.split(maxsplit=4)
    assert fields[0] == b'P6', data[:16]
    return int(fields[1]), int(fields[2])


def test_screenshot_of_a_vga_guest(qemu, tmpdir_path):
    uri, bin_dir = qemu.uri, qemu.daemon.bin_dir
    qemu.start_and_boot('vs', extra_devices="<graphics type='vnc' port='-1' listen='127.0.0.1'/>"
                                            "<video><model type='vga'/></video>")
    shot = os.path.join(tmpdir_path, 'virsh.ppm')
    r = virsh(uri, 'screenshot', 'vs', '--file', shot)
    assert r.rc == 0 and 'image/x-portable-pixmap' in r.out, r.out + r.err
    with open(shot, 'rb') as f:
        data = f.read()
    width, height = ppm_size(data)
    assert width >= 320 and height >= 200 and len(data) >= width * height * 3, (width, height, len(data))
    mine = os.path.join(tmpdir_path, 'corral.ppm')
    r = corral(bin_dir, uri, 'screenshot', 'vs', mine)
    assert r.rc == 0 and r.out.startswith(f'Screenshot saved to {mine}, with type of image/x-portable-pixmap'), \
        r.out + r.err
    with open(mine, 'rb') as f:
        assert ppm_size(f.read()) == (width, height)
    # Through python, the stream read to its end.
    conn = libvirt.open(uri)
    try:
        stream = conn.newStream(0)
        assert conn.lookupByName('vs').screenshot(stream, 0, 0) == 'image/x-portable-pixmap'
        got = bytearray()
        while True:
            chunk = stream.recv(65536)
            if not chunk:
                break
            got += chunk
        stream.finish()
        assert ppm_size(bytes(got)) == (width, height)
        with pytest.raises(libvirt.libvirtError) as e:
            conn.lookupByName('vs').screenshot(conn.newStream(0), 1, 0)
        assert 'no screen with index 1' in str(e.value)
    finally:
        conn.close()
    r = virsh(uri, 'screenshot', 'vs', '--file', shot, readonly=True)
    assert r.rc == 1 and 'read only access prevents virDomainScreenshot' in r.err, r.err


def test_screenshot_of_a_guest_without_graphics(qemu, tmpdir_path):
    uri, bin_dir = qemu.uri, qemu.daemon.bin_dir
    qemu.start_and_boot('vsn')
    shot = os.path.join(tmpdir_path, 'none.ppm')
    for tool in (virsh, lambda u, *a: corral(bin_dir, u, *a)):
        r = tool(uri, 'screenshot', 'vsn', '--file', shot)
        assert r.rc == 1 and 'no screens to take screenshot from' in r.err, r.err
    assert not os.path.exists(shot) or os.path.getsize(shot) == 0
    assert virsh(uri, 'destroy', 'vsn').rc == 0
    r = virsh(uri, 'screenshot', 'vsn', '--file', shot)
    assert r.rc == 1 and 'domain is not running' in r.err, r.err
