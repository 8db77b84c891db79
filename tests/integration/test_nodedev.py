# SPDX-License-Identifier: LGPL-2.1-or-later
# Host devices and host interfaces with the real virsh and python3-libvirt, side by side with
# Debian's libvirtd on the same host: the same node-device names, the same XML for the PCI
# devices, disks, network devices and the computer; the same interface list and XML for
# interfaces this test makes (a bridge with a port) and the host's own; test:///default's
# fixtures equal to libvirt's test driver's; what would change the host refused with
# VIR_ERR_NO_SUPPORT, and on a read-only connection not even that.
import os
import subprocess

import libvirt
import pytest

from framework.libvirtd import libvirtd  # noqa: F401 (fixture)
from framework.tools import corral, virsh


def their_host(sock):
    return f'qemu+unix:///session?socket={sock}'


def their_test(sock):
    return f'test+unix:///default?socket={sock}'


def lines(text):
    return [line for line in text.splitlines() if line]


def test_node_devices_match_libvirtd_on_this_host(daemon, libvirtd):
    ours = virsh(daemon.uri('qemu'), 'nodedev-list')
    theirs = virsh(their_host(libvirtd), 'nodedev-list')
    assert ours.rc == theirs.rc == 0, (ours.err, theirs.err)
    # libvirtd learns of network devices made after its start only from udev events (none in a
    # host without udevd); devices that stay put are compared whole.
    stable = [n for n in lines(theirs.out) if not n.startswith('net_')]
    assert [n for n in lines(ours.out) if not n.startswith('net_')] == stable
    assert 'computer' in stable and any(n.startswith('pci_') for n in stable)
    for name in stable + [n for n in lines(theirs.out) if n.startswith(('net_eth', 'net_lo_'))]:
        mine = virsh(daemon.uri('qemu'), 'nodedev-dumpxml', name)
        ref = virsh(their_host(libvirtd), 'nodedev-dumpxml', name)
        assert mine.rc == ref.rc == 0, (name, mine.err, ref.err)
        assert mine.out == ref.out, name
    for cap in ('pci', 'storage', 'system', 'usb_device', 'scsi_host'):
        assert virsh(daemon.uri('qemu'), 'nodedev-list', '--cap', cap).out == \
            virsh(their_host(libvirtd), 'nodedev-list', '--cap', cap).out, cap


def test_python_node_device_calls_match_libvirtd(daemon, libvirtd):
    mine = libvirt.openReadOnly(daemon.uri('qemu'))
    ref = libvirt.openReadOnly(their_host(libvirtd))
    try:
        pci_mine = sorted(mine.listDevices('pci', 0))
        assert pci_mine == sorted(ref.listDevices('pci', 0)) and pci_mine
        assert mine.numOfDevices('pci', 0) == len(pci_mine)
        assert sorted(d.name() for d in mine.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV)) == \
            pci_mine
        dev = mine.nodeDeviceLookupByName(pci_mine[0])
        theirs = ref.nodeDeviceLookupByName(pci_mine[0])
        assert (dev.listCaps(), dev.numOfCaps(), dev.parent()) == \
            (theirs.listCaps(), theirs.numOfCaps(), theirs.parent())
        assert mine.nodeDeviceLookupByName('computer').parent() is None
        with pytest.raises(libvirt.libvirtError) as e:
            mine.nodeDeviceLookupByName('pci_nope')
        assert e.value.get_error_code() == libvirt.VIR_ERR_NO_NODE_DEVICE
        assert e.value.get_error_domain() == libvirt.VIR_FROM_NODEDEV
    finally:
        mine.close()
        ref.close()


@pytest.fixture
def bridge_with_port():
    """A bridge with an address and one veth port, named after this test's pid."""
    pid = os.getpid() % 100000
    br, port, peer = f'ndbr{pid}', f'ndva{pid}', f'ndvb{pid}'
    for cmd in (['ip', 'link', 'add', br, 'type', 'bridge'],
                ['ip', 'link', 'add', port, 'type', 'veth', 'peer', 'name', peer],
                ['ip', 'link', 'set', port, 'master', br], ['ip', 'link', 'set', br, 'mtu', '1400']):
        subprocess.run(cmd, check=True)
    yield br, port, peer
    subprocess.run(['ip', 'link', 'del', port], check=False)
    subprocess.run(['ip', 'link', 'del', br], check=False)


def test_interfaces_match_libvirtd(daemon, libvirtd, bridge_with_port):
    br, port, peer = bridge_with_port
    for name in (br, port, peer, 'lo', 'eth0'):
        if not os.path.exists(f'/sys/class/net/{name}'):
            continue
        mine = virsh(daemon.uri('qemu'), 'iface-dumpxml', name)
        ref = virsh(their_host(libvirtd), 'iface-dumpxml', name)
        assert mine.rc == ref.rc == 0, (name, mine.err, ref.err)
        assert mine.out == ref.out, name
    assert f"<bridge stp='off'" in virsh(daemon.uri('qemu'), 'iface-dumpxml', br).out
    # The lists: a port is shown inside its bridge, not on its own.
    wanted = (br, port, peer, 'lo')
    rows = {u: [r for r in lines(virsh(u, 'iface-list', '--all').out) if r.split()[0] in wanted]
            for u in (daemon.uri('qemu'), their_host(libvirtd))}
    assert rows[daemon.uri('qemu')] == rows[their_host(libvirtd)]
    assert not any(r.split()[0] == port for r in rows[daemon.uri('qemu')])
    mac = open(f'/sys/class/net/{peer}/address').read().strip()
    for args in (('iface-mac', peer), ('iface-name', mac), ('iface-mac', 'nope'), ('iface-name', '00:11:22:33:44:55'),
                 ('iface-dumpxml', 'nope')):
        mine = virsh(daemon.uri('qemu'), *args)
        ref = virsh(their_host(libvirtd), *args)
        assert (mine.rc, mine.out, mine.err) == (ref.rc, ref.out, ref.err), args
    conn = libvirt.openReadOnly(daemon.uri('qemu'))
    try:
        active = conn.listInterfaces()
        inactive = conn.listDefinedInterfaces()
        assert peer in inactive and peer not in active and port not in inactive
        assert conn.numOfInterfaces() == len(active) and conn.numOfDefinedInterfaces() == len(inactive)
        iface = conn.interfaceLookupByMACString(mac)
        assert (iface.name(), iface.MACString(), iface.isActive()) == (peer, mac, 0)
        assert sorted(i.name() for i in conn.listAllInterfaces(libvirt.VIR_CONNECT_LIST_INTERFACES_INACTIVE)) == \
            sorted(inactive)
    finally:
        conn.close()


def test_test_driver_fixtures_match_libvirts_test_driver(daemon, libvirtd):
    mine = libvirt.open(daemon.uri('test'))
    ref = libvirt.open(their_test(libvirtd))
    try:
        assert sorted(mine.listDevices(None, 0)) == sorted(ref.listDevices(None, 0))
        assert mine.numOfDevices('scsi_host', 0) == ref.numOfDevices('scsi_host', 0) == 3
        for name in ref.listDevices(None, 0):
            a, b = mine.nodeDeviceLookupByName(name), ref.nodeDeviceLookupByName(name)
            assert (a.XMLDesc(0), a.parent(), a.listCaps()) == (b.XMLDesc(0), b.parent(), b.listCaps()), name
        assert (mine.listInterfaces(), mine.listDefinedInterfaces()) == \
            (ref.listInterfaces(), ref.listDefinedInterfaces())
        a, b = mine.interfaceLookupByName('eth1'), ref.interfaceLookupByName('eth1')
        assert (a.XMLDesc(0), a.MACString(), a.isActive()) == (b.XMLDesc(0), b.MACString(), b.isActive())
    finally:
        mine.close()
        ref.close()
    for args in (('iface-list', '--all'), ('iface-dumpxml', 'eth1'), ('iface-mac', 'eth1'),
                 ('iface-dumpxml', 'nope'), ('nodedev-dumpxml', 'scsi_host2'), ('nodedev-dumpxml', 'nope')):
        ours = virsh(daemon.uri('test'), *args)
        theirs = virsh(their_test(libvirtd), *args)
        assert (ours.rc, ours.out, ours.err) == (theirs.rc, theirs.out, theirs.err), args
    # virsh's nodedev-list asks for active devices, a flag libvirt's test driver refuses; ours lists.
    listed = virsh(daemon.uri('test'), 'nodedev-list', '--tree')
    assert listed.rc == 0, listed.err
    assert lines(listed.out) == ['computer', '  |', '  +- scsi_host1', '  |   |', '  |   +- scsi_host11',
                                 '  |     ', '  +- scsi_host2', '    ']


def test_what_would_change_the_host_is_refused(daemon, tmpdir_path):
    xml = os.path.join(tmpdir_path, 'iface.xml')
    with open(xml, 'w') as f:
        f.write("<interface type='ethernet' name='ndx0'><start mode='none'/></interface>")
    uri = daemon.uri('qemu')
    for args in (('nodedev-detach', 'computer'), ('nodedev-reattach', 'computer'), ('nodedev-reset', 'computer'),
                 ('nodedev-destroy', 'computer'), ('iface-define', xml), ('iface-start', 'lo'),
                 ('iface-destroy', 'lo'), ('iface-undefine', 'lo'), ('iface-begin',), ('iface-commit',),
                 ('iface-rollback',)):
        r = virsh(uri, *args)
        assert r.rc == 1, args
        assert 'this function is not supported by the connection driver' in r.err, (args, r.err)
    conn = libvirt.open(uri)
    try:
        with pytest.raises(libvirt.libvirtError) as e:
            conn.nodeDeviceLookupByName('computer').dettach()
        assert e.value.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT
        assert 'does not assign host devices' in str(e.value)
        with pytest.raises(libvirt.libvirtError) as e:
            conn.interfaceDefineXML(open(xml).read(), 0)
        assert e.value.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT
    finally:
        conn.close()
    # A read-only connection lists and reads, and is denied the rest before any driver runs.
    ro = daemon.uri('qemu', readonly=True)
    assert virsh(ro, 'nodedev-list', '--cap', 'system').out.strip() == 'computer'
    r = virsh(ro, 'nodedev-detach', 'computer')
    assert r.rc == 1 and 'read only access' in r.err, r.err
    # No interface appeared on the host.
    assert not os.path.exists('/sys/class/net/ndx0')


def corral_and_virsh_on_a_still_host(bin_dir, uri, args):
    """Both programs' answers to `args`, read while the host's network devices stayed the same.

    Tests running beside this one make and remove bridges and veths; a pair read across such a
    change differs for that reason alone, so it is read again (a real difference stays)."""
    for _ in range(20):
        before = sorted(os.listdir('/sys/class/net'))
        mine, ref = corral(bin_dir, uri, *args), virsh(uri, *args)
        if sorted(os.listdir('/sys/class/net')) == before:
            return mine, ref
    raise AssertionError(f'the host\'s network devices never stayed still during {args}')


def test_corral_cli_prints_what_virsh_prints(daemon, bin_dir):
    uri = daemon.uri('qemu')
    for args in (('nodedev-list',), ('nodedev-list', '--cap', 'pci'), ('nodedev-list', '--tree'),
                 ('nodedev-dumpxml', 'computer'), ('iface-dumpxml', 'lo'), ('iface-mac', 'lo'),
                 ('nodedev-dumpxml', 'nope'), ('iface-name', '00:00:00:00:00:00')):
        mine, ref = corral_and_virsh_on_a_still_host(bin_dir, uri, args)
        assert (mine.rc, mine.out, mine.err) == (ref.rc, ref.out, ref.err), args
    import json
    listed = json.loads(corral(bin_dir, uri, '--json', 'nodedev-list', '--cap', 'system').out)
    assert listed == ['computer']
    ifaces = json.loads(corral(bin_dir, daemon.uri('test'), '--json', 'iface-list', '--all').out)
    assert ifaces == [{'name': 'eth1', 'state': 'active', 'mac': 'aa:bb:cc:dd:ee:ff'}]
    assert json.loads(corral(bin_dir, daemon.uri('test'), '--json', 'iface-mac', 'eth1').out) == \
        {'mac': 'aa:bb:cc:dd:ee:ff'}
