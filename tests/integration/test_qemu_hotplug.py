# SPDX-License-Identifier: LGPL-2.1-or-later
# Disks added to and removed from a running QEMU guest with the real virsh (attach-disk,
# detach-disk, attach-device) and with corral (attach-device, detach-device): the guest sees them
# come and go, the live and persistent
# definitions follow the flags, and device-added / device-removed reach virsh, `corral event`
# and python3-libvirt. The image is opened by corrald and passed to the confined QEMU.
import json
import os
import subprocess
import threading

import libvirt

from framework.event_loop import ensure_event_loop
from framework.qemu_fixtures import guest_files, pytestmark, qemu, qemu_pids, serial_text, wait_for  # noqa: F401
from framework.tools import corral, image_on_full_filesystem, stop_watching, virsh, watch


def guest_disks(serial):
    lines = [l for l in serial_text(serial).splitlines() if l.startswith('CORRAL-GUEST-DISKS')]
    return lines[-1].split()[1:] if lines else None


def blklist(uri, name, *flags):
    out = virsh(uri, 'domblklist', name, *flags).out
    return [l.split()[0] for l in out.splitlines()[2:] if l.strip()]


def test_disk_hotplug_and_unplug(qemu, tmpdir_path, bin_dir):
    image = os.path.join(tmpdir_path, 'extra.raw')
    subprocess.run(['truncate', '-s', '8M', image], check=True)
    ensure_event_loop()
    conn = libvirt.open(qemu.uri)
    got = []
    removed = threading.Event()

    def added(_c, dom, alias, _o):
        got.append(('added', dom.name(), alias))

    def gone(_c, dom, alias, _o):
        got.append(('removed', dom.name(), alias))
        removed.set()

    ids = [conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, added, None),
           conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, gone, None)]
    watchers = [watch(['virsh', '-c', qemu.uri, 'event', '--loop', '--all', '--timeout', '150']),
                watch([os.path.join(bin_dir, 'corral'), '-c', qemu.uri, 'event', '--loop', '--all', '--timeout', '150'])]
    serial = qemu.start_and_boot('hp', cmdline_extra='corral.watch_disks=1')
    wait_for(lambda: guest_disks(serial) == [], what='the guest to list its disks')

    r = virsh(qemu.uri, 'attach-disk', 'hp', image, 'vdb', '--live')
    assert r.rc == 0, r.err
    assert blklist(qemu.uri, 'hp') == ['vdb']
    assert blklist(qemu.uri, 'hp', '--inactive') == []  # --live only
    # The guest names disks in the order it finds them (libvirt's targets are only hints): its
    # first virtio disk is its vda.
    wait_for(lambda: guest_disks(serial) == ['vda'], timeout=60, what='the guest to see the new disk')

    # Refusals name what is wrong and change nothing.
    r = virsh(qemu.uri, 'attach-disk', 'hp', image, 'vdb', '--live')
    assert r.rc != 0 and 'target vdb already exists' in r.err, r.err
    r = virsh(qemu.uri, 'attach-disk', 'hp', os.path.join(tmpdir_path, 'missing.raw'), 'vdc', '--live')
    assert r.rc != 0 and 'cannot open disk image' in r.err, r.err
    r = virsh(qemu.uri, 'attach-disk', 'hp', image, 'sdb', '--targetbus', 'sata', '--live')
    assert r.rc != 0 and 'only file disks on bus virtio' in r.err, r.err
    assert blklist(qemu.uri, 'hp') == ['vdb']

    r = virsh(qemu.uri, 'detach-disk', 'hp', 'vdb', '--live')
    assert r.rc == 0, r.err
    assert removed.wait(60), got
    assert blklist(qemu.uri, 'hp') == []
    wait_for(lambda: guest_disks(serial) == [], timeout=60, what='the guest to lose the disk')

    # Persistent only: the running guest is untouched; the next boot has the disk.
    assert virsh(qemu.uri, 'attach-disk', 'hp', image, 'vdc', '--config').rc == 0
    assert blklist(qemu.uri, 'hp') == []
    assert blklist(qemu.uri, 'hp', '--inactive') == ['vdc']
    assert virsh(qemu.uri, 'destroy', 'hp').rc == 0
    assert virsh(qemu.uri, 'start', 'hp').rc == 0
    wait_for(lambda: guest_disks(serial) == ['vda'], timeout=120, what='the restarted guest to have the disk')
    assert virsh(qemu.uri, 'detach-disk', 'hp', 'vdc', '--config').rc == 0
    assert blklist(qemu.uri, 'hp', '--inactive') == []
    assert blklist(qemu.uri, 'hp') == ['vdc']  # still there until the guest stops
    assert virsh(qemu.uri, 'destroy', 'hp').rc == 0

    outputs = stop_watching(conn, ids, watchers)
    assert got == [('added', 'hp', 'virtio-disk1'), ('removed', 'hp', 'virtio-disk1')], got
    virsh_lines, corral_lines = ([l for l in o.splitlines() if l.startswith("event 'device")] for o in outputs)
    assert virsh_lines == ["event 'device-added' for domain 'hp': virtio-disk1",
                           "event 'device-removed' for domain 'hp': virtio-disk1"], virsh_lines
    assert corral_lines == virsh_lines


def qemu_holds(pid, path):
    """Whether QEMU process `pid` has `path` open."""
    for fd in os.listdir(f'/proc/{pid}/fd'):
        try:
            if os.readlink(f'/proc/{pid}/fd/{fd}') == path:
                return True
        except OSError:
            continue
    return False


def test_corral_attach_and_detach_device(qemu, tmpdir_path, write_file, bin_dir):
    # corral's own attach-device and detach-device on a real guest: the guest sees the disk come
    # and go, QEMU lets go of the image, and a device the guest does not have is refused by name.
    image = os.path.join(tmpdir_path, 'cli.raw')
    subprocess.run(['truncate', '-s', '8M', image], check=True)
    disk = write_file('disk.xml', f"<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                                  f"<source file='{image}'/><target dev='vdb' bus='virtio'/></disk>")
    other = write_file('other.xml', f"<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                                    f"<source file='{image}'/><target dev='vdc' bus='virtio'/></disk>")
    serial = qemu.start_and_boot('hpc', cmdline_extra='corral.watch_disks=1')
    wait_for(lambda: guest_disks(serial) == [], what='the guest to list its disks')
    (pid,) = qemu_pids('hpc')

    r = corral(bin_dir, qemu.uri, 'attach-device', 'hpc', disk, '--live')
    assert r.rc == 0 and 'Device attached successfully' in r.out, r.err
    wait_for(lambda: guest_disks(serial) == ['vda'], timeout=60, what='the guest to see the new disk')
    assert qemu_holds(pid, image)
    assert corral(bin_dir, qemu.uri, 'domblklist', 'hpc').out == virsh(qemu.uri, 'domblklist', 'hpc').out
    assert blklist(qemu.uri, 'hpc') == ['vdb'] and blklist(qemu.uri, 'hpc', '--inactive') == []

    r = corral(bin_dir, qemu.uri, 'detach-device', 'hpc', other, '--live')
    assert r.rc == 1 and 'vdc' in r.err, r.err
    assert blklist(qemu.uri, 'hpc') == ['vdb']

    r = corral(bin_dir, qemu.uri, 'detach-device', 'hpc', disk, '--live')
    assert r.rc == 0 and 'Device detached successfully' in r.out, r.err
    wait_for(lambda: guest_disks(serial) == [], timeout=60, what='the guest to lose the disk')
    wait_for(lambda: blklist(qemu.uri, 'hpc') == [], timeout=30, what='the disk to leave the definition')
    wait_for(lambda: not qemu_holds(pid, image), timeout=30, what='QEMU to close the image')
    assert virsh(qemu.uri, 'destroy', 'hpc').rc == 0


def test_io_error_on_a_hotplugged_disk_names_it(qemu, tmpdir_path):
    # The new disk's image lives on a full 1 MiB tmpfs; the guest writes to it as soon as it
    # appears. QEMU pauses the guest, and the I/O error names the hotplugged disk.
    with image_on_full_filesystem(tmpdir_path, 'late.raw') as image:
        ensure_event_loop()
        conn = libvirt.open(qemu.uri)
        errors = []
        paused = threading.Event()

        def io_error(_c, dom, src, alias, action, reason, _o):
            errors.append((src, alias, action, reason))
            paused.set()

        cb = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON, io_error, None)
        serial = qemu.start_and_boot('hpio', cmdline_extra='corral.watch_disks=1 corral.write_new_disks=1')
        wait_for(lambda: guest_disks(serial) == [], what='the guest to list its disks')
        r = virsh(qemu.uri, 'attach-disk', 'hpio', image, 'vdb', '--live')
        assert r.rc == 0, r.err
        assert paused.wait(90), serial_text(serial)[-500:]
        conn.domainEventDeregisterAny(cb)
        conn.close()
        assert errors[0] == (image, 'virtio-disk1', libvirt.VIR_DOMAIN_EVENT_IO_ERROR_PAUSE, 'enospc'), errors
        assert virsh(qemu.uri, 'destroy', 'hpio').rc == 0


def test_save_and_restore_after_a_hotplug(qemu, tmpdir_path):
    # The slot the disk was plugged into is recorded (<address>), so the restored QEMU has its
    # devices where the saved state expects them (with a VGA card created after the disks).
    image = os.path.join(tmpdir_path, 'kept.raw')
    subprocess.run(['truncate', '-s', '8M', image], check=True)
    serial = qemu.start_and_boot('hps', extra_devices="<graphics type='vnc' autoport='yes'/>",
                                 cmdline_extra='corral.watch_disks=1')
    assert virsh(qemu.uri, 'attach-disk', 'hps', image, 'vdb', '--live').rc == 0
    wait_for(lambda: guest_disks(serial) == ['vda'], timeout=60, what='the guest to see the new disk')
    xml = virsh(qemu.uri, 'dumpxml', 'hps').out
    assert "<address type='pci' domain='0x0000' bus='0x00' slot=" in xml, xml
    saved = os.path.join(tmpdir_path, 'hps.save')
    r = virsh(qemu.uri, 'save', 'hps', saved)
    assert r.rc == 0, r.err
    r = virsh(qemu.uri, 'restore', saved)
    assert r.rc == 0, r.err
    assert virsh(qemu.uri, 'domstate', 'hps').out.strip() == 'running'
    assert blklist(qemu.uri, 'hps') == ['vdb']
    before = serial_text(serial).count('counter')
    wait_for(lambda: serial_text(serial).count('counter') > before + 1, timeout=60, what='the restored guest to run')
    # And the restored guest can still let go of it.
    assert virsh(qemu.uri, 'detach-disk', 'hps', 'vdb', '--live').rc == 0
    wait_for(lambda: blklist(qemu.uri, 'hps') == [], timeout=30, what='the disk to leave')
    assert virsh(qemu.uri, 'destroy', 'hps').rc == 0


def test_detach_after_a_daemon_restart_releases_the_image(qemu, tmpdir_path):
    # A disk attached live, corrald killed and started again, then detached: the new daemon
    # finds the image's fdset in QEMU (tagged with the target) and drops it, so QEMU no longer
    # holds the image.
    image = os.path.join(tmpdir_path, 'across.raw')
    subprocess.run(['truncate', '-s', '8M', image], check=True)
    serial = qemu.start_and_boot('hpr', cmdline_extra='corral.watch_disks=1')
    assert virsh(qemu.uri, 'attach-disk', 'hpr', image, 'vdb', '--live').rc == 0
    wait_for(lambda: guest_disks(serial) == ['vda'], timeout=60, what='the guest to see the new disk')

    def fdsets():
        r = virsh(qemu.uri, 'qemu-monitor-command', 'hpr', '{"execute":"query-fdsets"}')
        assert r.rc == 0, r.err
        return json.loads(r.out)['return']

    assert [fd['opaque'] for s in fdsets() for fd in s['fds']] == ['corral-disk-vdb']
    qemu.daemon.kill9()
    qemu.daemon.start()
    assert blklist(qemu.uri, 'hpr') == ['vdb']
    assert virsh(qemu.uri, 'detach-disk', 'hpr', 'vdb', '--live').rc == 0
    wait_for(lambda: blklist(qemu.uri, 'hpr') == [], timeout=30, what='the disk to leave')
    wait_for(lambda: fdsets() == [], timeout=10, what='the fdset to go')
    assert virsh(qemu.uri, 'destroy', 'hpr').rc == 0


def test_a_requested_pci_address_is_honoured_or_refused(qemu, tmpdir_path, write_file):
    # attach-device with <address type='pci' slot=...>: the disk goes to that slot of the root
    # bus and the definition says so; a slot in use, another bus or another address type is an
    # error naming the problem, and nothing is left behind in QEMU.
    images = []
    for n in ('a', 'b'):
        images.append(os.path.join(tmpdir_path, f'addr-{n}.raw'))
        subprocess.run(['truncate', '-s', '4M', images[-1]], check=True)
    qemu.define('addr')
    assert virsh(qemu.uri, 'start', 'addr').rc == 0

    def disk(image, dev, address):
        return write_file(f'{dev}.xml', f"<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                                        f"<source file='{image}'/><target dev='{dev}' bus='virtio'/>{address}</disk>")

    r = virsh(qemu.uri, 'attach-device', 'addr',
              disk(images[0], 'vdb', "<address type='pci' domain='0x0000' bus='0x00' slot='0x0c' function='0x0'/>"),
              '--live')
    assert r.rc == 0, r.err
    pci = json.loads(virsh(qemu.uri, 'qemu-monitor-command', 'addr', '{"execute":"query-pci"}').out)['return']
    assert {d['qdev_id']: d['slot'] for d in pci[0]['devices']}['virtio-disk1'] == 12
    assert "<address type='pci' domain='0x0000' bus='0x00' slot='0x0c' function='0x0'/>" in \
        virsh(qemu.uri, 'dumpxml', 'addr').out
    taken = virsh(qemu.uri, 'attach-device', 'addr',
                  disk(images[1], 'vdc', "<address type='pci' slot='12'/>"), '--live')
    assert taken.rc == 1
    # The live definition keeps every device's place: the clash is found there, before QEMU.
    assert ("Attempted double use of PCI Address 0000:00:0c.0 (<disk> with target 'vdc' and <disk> with target "
            "'vdb')") in taken.err, taken.err
    # Refused by the definition check every attach runs, as it would be at define and start.
    for address, why in (("<address type='pci' bus='0x01' slot='0x01'/>",
                          "<disk> with target 'vdc': PCI address 0000:01:01.0: no PCI controller has index 1"),
                         ("<address type='drive' controller='0'/>",
                          "<disk> <address type='drive'>: a PCI device takes a PCI address here")):
        r = virsh(qemu.uri, 'attach-device', 'addr', disk(images[1], 'vdc', address), '--live')
        assert r.rc == 1 and 'unsupported configuration: ' + why in r.err, r.err
    # All zeros asks for nothing, as in libvirt: the lowest free slot.
    r = virsh(qemu.uri, 'attach-device', 'addr',
              disk(images[1], 'vdc', "<address type='pci' domain='0x0000' bus='0x00' slot='0x00' function='0x0'/>"),
              '--live')
    assert r.rc == 0, r.err
    fdsets = json.loads(virsh(qemu.uri, 'qemu-monitor-command', 'addr', '{"execute":"query-fdsets"}').out)['return']
    assert sorted(fd['opaque'] for s in fdsets for fd in s['fds']) == ['corral-disk-vdb', 'corral-disk-vdc']
    assert blklist(qemu.uri, 'addr') == ['vdb', 'vdc']
    assert virsh(qemu.uri, 'destroy', 'addr').rc == 0
