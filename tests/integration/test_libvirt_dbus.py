# SPDX-License-Identifier: LGPL-2.1-or-later
# libvirt-dbus against corrald: a guest's life, a network, a pool with a volume, a private
# secret, through the D-Bus API cockpit-machines and other desktop tools use. libvirt-dbus has
# no URI option, so it runs in a private mount namespace where /run/libvirt/libvirt-sock is
# corrald's socket, on a private bus. The same steps run against Debian's libvirtd (its session
# daemon, reached by libvirt-dbus --session); every step it passes passes here.
import os
import shutil

import pytest

from framework.clients import record
from framework.libvirtd import guest_files_for_libvirtd, libvirtd  # noqa: F401 (fixture)
from framework.qemu_fixtures import guest_files, guest_xml, pytestmark, qemu_pids  # noqa: F401

pytestmark = [pytestmark, pytest.mark.skipif(shutil.which('libvirt-dbus') is None or shutil.which('dbus-daemon') is None,
                                             reason='libvirt-dbus is not installed (scripts/setup.sh installs it)')]


def inputs(work_dir, guest_files, bridge, octet):
    return (guest_xml('dbusguest', guest_files, os.path.join(work_dir, 'dbusguest.serial')),
            f"<network><name>dbusnet</name><bridge name='{bridge}'/><ip address='10.{octet}.0.1' prefix='24'/></network>",
            f"<pool type='dir'><name>dbuspool</name><target><path>{os.path.join(work_dir, 'pool')}</path></target></pool>")


def run_steps(**where):
    from framework.libvirt_dbus import LibvirtDbus, run_libvirt_dbus_steps
    client = LibvirtDbus(**{k: v for k, v in where.items() if k in ('corrald_socket', 'session_runtime_dir')})
    try:
        return run_libvirt_dbus_steps(client, *where['inputs'])
    finally:
        client.stop()


def value(steps, name):
    assert steps[name].ok, f'{name}: {steps[name].message()}'
    return steps[name].result['msg']


def test_libvirt_dbus_works_on_corrald_as_on_libvirtd(daemon, libvirtd, tmpdir_path, guest_files):
    octet = 100 + (os.getpid() + 11) % 100
    their_dir, copies = guest_files_for_libvirtd(libvirtd, 'dbus', guest_files)
    base = os.path.dirname(their_dir)
    theirs = run_steps(session_runtime_dir=os.path.join(base, 'run'),
                       inputs=inputs(their_dir, copies, f'crldl{os.getpid() % 10000}', octet))
    record('libvirt-dbus', 'libvirtd', theirs)
    try:
        ours = run_steps(corrald_socket=daemon.socket,
                         inputs=inputs(tmpdir_path, guest_files, f'crldc{os.getpid() % 10000}', octet))
    finally:
        for pid in qemu_pids('dbusguest'):
            os.kill(pid, 9)
    record('libvirt-dbus', 'corrald', ours)

    assert list(ours) == list(theirs)
    expected_failures = {'Connect.DomainLookupByName (gone)', 'Secret.GetValue (private)'}
    assert [f'{n}: {s.message()}' for n, s in ours.items() if not s.ok and n not in expected_failures] == []
    assert [n for n in theirs if theirs[n].ok and not ours[n].ok] == []

    assert value(ours, 'Connect properties') == ['Encrypted', 'Hostname', 'LibVersion', 'Secure', 'Version']
    assert value(ours, 'Connect.GetCapabilities') is True and value(ours, 'Connect.NodeGetFreeMemory') is True
    # libvirt-dbus shows an inactive domain's id -1 as 0 on both.
    assert value(ours, 'Domain properties') == value(theirs, 'Domain properties') == \
        {'Name': 'dbusguest', 'Active': False, 'Persistent': True, 'Id': 0}
    # State and reason as libvirtd's: running (booted), paused (user), shut off (destroyed).
    for name in ('Domain.GetState (running)', 'Domain.GetState (paused)', 'Domain.GetState (shut off)'):
        assert value(ours, name) == value(theirs, name)
    assert value(ours, 'Domain.GetState (shut off)') == [5, 2]
    assert value(ours, 'Domain.GetVcpus') == 1 and value(ours, 'Domain.GetXMLDesc') is True
    assert not ours['Connect.DomainLookupByName (gone)'].ok
    assert value(ours, 'Network properties') == {'Name': 'dbusnet', 'Active': True, 'Persistent': True}
    assert value(ours, 'Network.GetDHCPLeases') == 0
    assert value(ours, 'StoragePool.GetInfo') == 2  # running
    assert value(ours, 'StoragePool.ListStorageVolumes') == 1
    assert value(ours, 'StorageVol properties') == 'd1.qcow2'
    assert value(ours, 'StorageVol.GetInfo') == 8 * 1024 * 1024
    assert not os.path.exists(os.path.join(tmpdir_path, 'pool'))
    # A private secret's value stays in the daemon, refused as libvirtd refuses it.
    assert not ours['Secret.GetValue (private)'].ok
    assert ours['Secret.GetValue (private)'].message() == theirs['Secret.GetValue (private)'].message()
    assert value(ours, 'Secret properties') == '/var/lib/dbus-test.img'
