# SPDX-License-Identifier: LGPL-2.1-or-later
# PCI addresses are given at define and kept in the definition (libvirt's way): a device added
# to the persistent definition takes a free slot, and after a restart every device the guest had
# is where the guest found it before, read from the guest's own /sys/bus/pci/devices.
import os
import re
import subprocess

from framework.qemu_fixtures import guest_files, pytestmark, qemu, qemu_pids, serial_text, wait_for  # noqa: F401
from framework.tools import virsh

VIRTIO_NET = '0x1af4:0x1000'
VIRTIO_BLK = '0x1af4:0x1001'


def boots(serial):
    return serial_text(serial).count('CORRAL-GUEST-READY')


def guest_pci(serial):
    """The guest's last report of its PCI devices: {address: 'vendor:device'}."""
    lines = [l for l in serial_text(serial).splitlines() if l.startswith('CORRAL-GUEST-PCI')]
    return dict(item.split('=') for item in lines[-1].split()[1:]) if lines else {}


def addresses_of(devices, what):
    return sorted(addr for addr, ids in devices.items() if ids == what)


def restart(uri, name, serial):
    before = boots(serial)
    assert virsh(uri, 'destroy', name).rc == 0
    r = virsh(uri, 'start', name)
    assert r.rc == 0, r.err
    wait_for(lambda: boots(serial) > before, what=f'{name} to boot again')
    return guest_pci(serial)


def test_devices_keep_their_slots_when_the_definition_grows(qemu, tmpdir_path):
    nic = "<interface type='user'><mac address='52:54:00:00:00:31'/><model type='virtio'/></interface>"
    serial = qemu.start_and_boot('slots', extra_devices=nic, cmdline_extra='corral.list_pci=1')
    first = guest_pci(serial)
    nics = addresses_of(first, VIRTIO_NET)
    assert len(nics) == 1, first
    inactive = virsh(qemu.uri, 'dumpxml', '--inactive', 'slots').out

    # A disk added the way virsh edit adds one: into the persistent definition, before the
    # interface (libvirt's device order puts disks first). Without kept addresses QEMU would
    # number the disk first and the interface would move one slot on.
    image = os.path.join(tmpdir_path, 'added.raw')
    subprocess.run(['truncate', '-s', '4M', image], check=True)
    disk = f"<disk type='file' device='disk'><source file='{image}'/><target dev='vda' bus='virtio'/></disk>"
    edited = inactive.replace('<devices>', '<devices>' + disk, 1)
    path = os.path.join(tmpdir_path, 'slots-edited.xml')
    with open(path, 'w') as f:
        f.write(edited)
    r = virsh(qemu.uri, 'define', path)
    assert r.rc == 0, r.err
    second = restart(qemu.uri, 'slots', serial)
    assert addresses_of(second, VIRTIO_NET) == nics, (first, second)
    disks = addresses_of(second, VIRTIO_BLK)
    assert len(disks) == 1 and disks[0] not in first, (first, second)
    # Everything the guest had is still where it was.
    assert all(second.get(addr) == ids for addr, ids in first.items()), (first, second)
    # The definition says where the interface is, and the guest found it there.
    m = re.search(r"<interface.*?<address type='pci' domain='0x0000' bus='0x00' slot='0x([0-9a-f]+)'", inactive, re.S)
    assert m, inactive
    assert nics == [f'0000:00:{int(m.group(1), 16):02x}.0']

    # attach-device --config: the same, and the definition records the new disk's place.
    other = os.path.join(tmpdir_path, 'other.raw')
    subprocess.run(['truncate', '-s', '4M', other], check=True)
    xml = os.path.join(tmpdir_path, 'vdb.xml')
    with open(xml, 'w') as f:
        f.write(f"<disk type='file' device='disk'><source file='{other}'/><target dev='vdb' bus='virtio'/></disk>")
    r = virsh(qemu.uri, 'attach-device', 'slots', xml, '--config')
    assert r.rc == 0, r.err
    assert virsh(qemu.uri, 'dumpxml', '--inactive', 'slots').out.count("<address type='pci'") >= 3
    third = restart(qemu.uri, 'slots', serial)
    assert all(third.get(addr) == ids for addr, ids in second.items()), (second, third)
    assert len(addresses_of(third, VIRTIO_BLK)) == 2, third


def test_clashing_addresses_are_refused_at_define(qemu, tmpdir_path):
    at5 = "<address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>"
    devices = (f"<interface type='user'><model type='virtio'/>{at5}</interface>"
               f"<memballoon model='virtio'>{at5}</memballoon>")
    path = os.path.join(tmpdir_path, 'clash.xml')
    with open(path, 'w') as f:
        f.write(qemu_xml(qemu, 'clash', devices))
    r = virsh(qemu.uri, 'define', path)
    assert r.rc != 0 and 'Attempted double use of PCI Address 0000:00:05.0' in r.err, r.err
    ports = ("<controller type='pci' index='1' model='pcie-root-port'/>"
             "<controller type='pci' index='1' model='pcie-root-port'/>")
    with open(path, 'w') as f:
        f.write(qemu_xml(qemu, 'clash', ports, machine='q35'))
    r = virsh(qemu.uri, 'define', path)
    assert r.rc != 0 and "Multiple 'pci' controllers with index '1'" in r.err, r.err
    assert 'clash' not in virsh(qemu.uri, 'list', '--all', '--name').out


def qemu_xml(qemu, name, devices, machine='pc'):
    return f"""<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory>
  <os><type arch='x86_64' machine='{machine}'>hvm</type></os><devices>{devices}</devices></domain>"""


def test_a_disk_added_to_a_running_q35_guest_goes_on_the_spare_root_port(qemu, tmpdir_path):
    # q35's root bus takes no hotplug: libvirt's spare root port, added at define, is where a
    # disk goes live; the live definition records it, and the guest sees the disk arrive.
    nic = "<interface type='user'><model type='virtio'/></interface>"
    serial = qemu.start_and_boot('q35hp', machine='q35', extra_devices=nic, cmdline_extra='corral.watch_disks=1')
    wait_for(lambda: 'CORRAL-GUEST-DISKS' in serial_text(serial), what='the guest to list its disks')
    ports = re.findall(r"<controller type='pci' index='(\d+)' model='pcie-root-port'",
                       virsh(qemu.uri, 'dumpxml', '--inactive', 'q35hp').out)
    assert ports == ['1', '2', '3'], ports  # the interface's, the balloon's and the spare
    image = os.path.join(tmpdir_path, 'q35hp.raw')
    subprocess.run(['truncate', '-s', '4M', image], check=True)
    xml = os.path.join(tmpdir_path, 'q35hp-vda.xml')
    with open(xml, 'w') as f:
        f.write(f"<disk type='file' device='disk'><source file='{image}'/><target dev='vda' bus='virtio'/></disk>")
    r = virsh(qemu.uri, 'attach-device', 'q35hp', xml, '--live')
    assert r.rc == 0, r.err
    live = virsh(qemu.uri, 'dumpxml', 'q35hp').out
    assert re.search(r"<target dev='vda' bus='virtio'/>\s*<address type='pci' domain='0x0000' bus='0x03' "
                     r"slot='0x00' function='0x0'/>", live), live
    wait_for(lambda: any(l.startswith('CORRAL-GUEST-DISKS') and 'vda' in l.split()
                         for l in serial_text(serial).splitlines()),
             timeout=60, what='the guest to see the disk on the root port')
    # No port is left: a second disk is refused, naming why, and the guest keeps running.
    other = os.path.join(tmpdir_path, 'q35hp-vdb.xml')
    with open(other, 'w') as f:
        f.write(f"<disk type='file' device='disk'><source file='{image}'/><target dev='vdb' bus='virtio'/>"
                "<readonly/></disk>")
    r = virsh(qemu.uri, 'attach-device', 'q35hp', other, '--live')
    assert r.rc != 0 and 'no free pcie-root-port' in r.err, r.err
