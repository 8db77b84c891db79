# SPDX-License-Identifier: LGPL-2.1-or-later
# The real virt-xml against corrald's QEMU driver: --edit, --add-device and --remove-device on
# an inactive definition (virt-xml defines the edited XML; a new disk image is made through the
# storage API), and --update on a running guest (TCG), which calls virDomainUpdateDeviceFlags:
# an interface's link state goes down and up again in the guest itself (its carrier, reported on
# the serial port). Attacks: an --update the driver cannot apply live (a NIC's model, a cdrom's
# media) is refused by name and leaves the guest as it was; a live macvtap NIC (type direct) is refused clearly;
# update-device of an interface no guest has.
import os
import shutil
import xml.etree.ElementTree as ET

import pytest

from framework.qemu_fixtures import guest_files, pytestmark as qemu_mark, qemu, serial_text, wait_for  # noqa: F401
from framework.tools import corral, run, virsh

pytestmark = [qemu_mark, pytest.mark.skipif(shutil.which('virt-xml') is None,
                                             reason='virt-xml is not installed (scripts/setup.sh installs it)')]

MAC = '52:54:00:5a:11:01'
NIC = (f"<interface type='user'><mac address='{MAC}'/><model type='virtio'/></interface>"
       "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='hdc' bus='ide'/>"
       "<readonly/></disk>")


def virt_xml(uri, tmpdir_path, *args):
    env = {'XDG_CACHE_HOME': os.path.join(tmpdir_path, 'cache'), 'XDG_CONFIG_HOME': os.path.join(tmpdir_path, 'config')}
    return run(['virt-xml', '--connect', uri] + list(args), timeout=300, env=env)


def definition(uri, name, inactive=False):
    return ET.fromstring(virsh(uri, 'dumpxml', name, *(['--inactive'] if inactive else [])).out)


def link_state(dom_xml):
    (iface,) = [i for i in dom_xml.findall('devices/interface') if i.find('mac').get('address') == MAC]
    link = iface.find('link')
    return 'up' if link is None else link.get('state')


def test_inactive_edit_add_remove(qemu, tmpdir_path):
    uri = qemu.uri
    qemu.define('vx-off')
    pool = os.path.join(tmpdir_path, 'vxpool')
    r = virt_xml(uri, tmpdir_path, 'vx-off', '--edit', '--memory', '256')
    assert r.rc == 0, r.out + r.err
    assert definition(uri, 'vx-off').find('memory').text == str(256 * 1024)
    # A new 10 MiB image: virt-xml makes it through the storage API (a pool for its directory).
    os.mkdir(pool, 0o711)
    r = virt_xml(uri, tmpdir_path, 'vx-off', '--add-device', '--disk', f'{pool}/new.qcow2,size=0.01,format=qcow2')
    assert r.rc == 0, r.out + r.err
    disk = definition(uri, 'vx-off').find("devices/disk[@device='disk']")
    assert disk.find('source').get('file') == f'{pool}/new.qcow2'
    assert os.path.getsize(f'{pool}/new.qcow2') > 0
    assert 'new.qcow2' in virsh(uri, 'vol-list', 'vxpool').out
    r = virt_xml(uri, tmpdir_path, 'vx-off', '--add-device', '--network', 'user,model=virtio')
    assert r.rc == 0, r.out + r.err
    iface = definition(uri, 'vx-off').find('devices/interface')
    assert iface.get('type') == 'user' and iface.find('model').get('type') == 'virtio'
    # The definition with both still starts (each part acted on), then the devices go again.
    assert virsh(uri, 'start', 'vx-off').rc == 0
    assert virsh(uri, 'destroy', 'vx-off').rc == 0
    r = virt_xml(uri, tmpdir_path, 'vx-off', '--remove-device', '--disk', '1')
    assert r.rc == 0, r.out + r.err
    r = virt_xml(uri, tmpdir_path, 'vx-off', '--remove-device', '--network', 'all')
    assert r.rc == 0, r.out + r.err
    devices = definition(uri, 'vx-off').find('devices')
    assert devices.find("disk[@device='disk']") is None and devices.find('interface') is None
    # The image stays (virt-xml removes only the device).
    assert os.path.exists(f'{pool}/new.qcow2')


def test_update_link_state_of_a_running_guest(qemu, tmpdir_path):
    uri = qemu.uri
    serial = qemu.start_and_boot('vx-live', extra_devices=NIC, cmdline_extra='corral.watch_link=1')
    wait_for(lambda: 'CORRAL-GUEST-LINK 1' in serial_text(serial), what='the link to come up')
    r = virt_xml(uri, tmpdir_path, 'vx-live', '--edit', '--network', 'link_state=down', '--update')
    assert r.rc == 0, r.out + r.err
    # The guest loses its carrier; the live and the persistent definition say down.
    wait_for(lambda: 'CORRAL-GUEST-LINK 0' in serial_text(serial), what='the link to go down in the guest')
    assert link_state(definition(uri, 'vx-live')) == 'down'
    assert link_state(definition(uri, 'vx-live', inactive=True)) == 'down'
    seen = serial_text(serial).count('CORRAL-GUEST-LINK 1')
    r = virt_xml(uri, tmpdir_path, 'vx-live', '--edit', '--network', 'link_state=up', '--update')
    assert r.rc == 0, r.out + r.err
    wait_for(lambda: serial_text(serial).count('CORRAL-GUEST-LINK 1') > seen, what='the link to come back')
    assert link_state(definition(uri, 'vx-live')) == 'up'
    # A definition that starts with the link down: QEMU takes it down before the guest runs.
    assert virsh(uri, 'destroy', 'vx-live').rc == 0
    r = virt_xml(uri, tmpdir_path, 'vx-live', '--edit', '--network', 'link_state=down')
    assert r.rc == 0, r.out + r.err
    with open(serial, 'a') as f:
        f.write('--- second start ---\n')
    assert virsh(uri, 'start', 'vx-live').rc == 0
    wait_for(lambda: 'CORRAL-GUEST-READY' in serial_text(serial).split('--- second start ---')[-1],
             what='the second boot')
    assert 'CORRAL-GUEST-LINK 0' in serial_text(serial).split('--- second start ---')[-1]


def test_updates_a_running_guest_cannot_take(qemu, tmpdir_path, write_file):
    uri = qemu.uri
    qemu.start_and_boot('vx-refuse', extra_devices=NIC)
    before = virsh(uri, 'dumpxml', 'vx-refuse').out
    # Another model for the NIC: not something QEMU changes live.
    r = virt_xml(uri, tmpdir_path, 'vx-refuse', '--edit', '--network', 'model=e1000', '--update')
    assert r.rc != 0 and f'interface {MAC}: only its link state can be changed on a running guest' in r.err, r.err
    # Media into the cdrom of a running guest: refused by name, not accepted and ignored.
    iso = write_file('media.iso', 'x' * 4096)
    r = virt_xml(uri, tmpdir_path, 'vx-refuse', '--edit', 'target=hdc', '--disk', f'path={iso}', '--update')
    assert r.rc != 0 and 'disk hdc: nothing can be changed on a running guest' in r.err, r.err
    assert virsh(uri, 'dumpxml', 'vx-refuse').out == before
    # A macvtap NIC (type direct) is not something this driver makes: refused by name, live.
    r = virt_xml(uri, tmpdir_path, 'vx-refuse', '--add-device', '--network', 'type=direct,source=eth0', '--update')
    assert r.rc != 0 and "<interface type='direct'>" in r.err, r.err
    assert len(definition(uri, 'vx-refuse').findall('devices/interface')) == 1
    # update-device of an interface the guest does not have, through virsh and corral.
    other = write_file('other.xml', "<interface type='user'><mac address='52:54:00:00:00:99'/></interface>")
    r = virsh(uri, 'update-device', 'vx-refuse', other, '--live')
    assert r.rc == 1 and 'no interface with MAC address 52:54:00:00:00:99 found' in r.err, r.err
    r = corral(qemu.daemon.bin_dir, uri, 'update-device', 'vx-refuse', other, '--live')
    assert r.rc == 1 and 'no interface with MAC address 52:54:00:00:00:99 found' in r.err, r.err
    # A cdrom's media on the persistent definition is fine: it is used at the next start.
    media = write_file('media.xml', f"<disk type='file' device='cdrom'><source file='{iso}'/>"
                                    "<target dev='hdc' bus='ide'/><readonly/></disk>")
    r = corral(qemu.daemon.bin_dir, uri, 'update-device', 'vx-refuse', media, '--config')
    assert r.rc == 0 and 'Device updated successfully' in r.out, r.out + r.err
    cd = definition(uri, 'vx-refuse', inactive=True).find("devices/disk[@device='cdrom']")
    assert cd.find('source').get('file') == iso
    assert definition(uri, 'vx-refuse').find("devices/disk[@device='cdrom']/source") is None


def test_live_nic_add_and_remove(qemu, tmpdir_path, write_file):
    # virt-xml plugs a NIC on a virtual network into the running guest (and the definition); the
    # guest sees its MAC; --remove-device --update takes it out of both.
    uri = qemu.uri
    net, bridge = f'vxnet{os.getpid() % 10000}', f'crlvxn{os.getpid() % 10000}'
    octet = 100 + (os.getpid() + 3) % 100
    assert virsh(uri, 'net-create', write_file('vxn.xml', f"<network><name>{net}</name><bridge name='{bridge}'/>"
                                                           f"<ip address='10.{octet}.2.1' netmask='255.255.255.0'/>"
                                                           "</network>")).rc == 0
    try:
        serial = qemu.start_and_boot('vx-nic', cmdline_extra='corral.watch_nics=1')
        wait_for(lambda: 'CORRAL-GUEST-NICS\n' in serial_text(serial), what='the guest to list its NICs')
        r = virt_xml(uri, tmpdir_path, 'vx-nic', '--add-device', '--network', f'network={net},model=virtio', '--update')
        assert r.rc == 0, r.out + r.err
        (live,) = definition(uri, 'vx-nic').findall('devices/interface')
        (config,) = definition(uri, 'vx-nic', inactive=True).findall('devices/interface')
        mac = live.find('mac').get('address')
        assert config.find('mac').get('address') == mac
        assert live.find('source').get('bridge') == bridge
        wait_for(lambda: f'={mac}' in serial_text(serial), timeout=60, what='the guest to see the NIC')
        r = virt_xml(uri, tmpdir_path, 'vx-nic', '--remove-device', '--network', f'mac={mac}', '--update')
        assert r.rc == 0, r.out + r.err
        wait_for(lambda: definition(uri, 'vx-nic').findall('devices/interface') == [], timeout=60,
                 what='the NIC to leave the live definition')
        assert definition(uri, 'vx-nic', inactive=True).findall('devices/interface') == []
        wait_for(lambda: [l for l in serial_text(serial).splitlines() if l.startswith('CORRAL-GUEST-NICS')][-1] ==
                 'CORRAL-GUEST-NICS', timeout=60, what='the guest to lose the NIC')
    finally:
        virsh(uri, 'destroy', 'vx-nic')
        virsh(uri, 'net-destroy', net)
