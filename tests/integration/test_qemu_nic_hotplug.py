# SPDX-License-Identifier: LGPL-2.1-or-later
# Network interfaces added to and removed from a running QEMU guest with the real virsh
# (attach-interface, detach-interface, attach-device, detach-device) and python3-libvirt: corrald
# makes the tap as at start and hands it to QEMU over the monitor; the guest sees the NIC with
# its MAC come and go; the tap goes with it. Refusals (a MAC another guest has, a network that
# is not running, a bridge that does not exist or has a hostile name, a slot QEMU cannot plug
# into) leave no tap, netdev or fd behind.
import json
import os
import subprocess
import threading
import xml.etree.ElementTree as ET

import libvirt

from framework.event_loop import ensure_event_loop
from framework.qemu_fixtures import guest_files, pytestmark, qemu, qemu_pids, serial_text, wait_for  # noqa: F401
from framework.tools import corral, stop_watching, virsh

TAG = os.getpid() % 10000


def mac(n):
    """A MAC of this test process: 52:54:00:PID:n."""
    return '52:54:00:%02x:%02x:%02x' % ((os.getpid() >> 8) & 0xff, os.getpid() & 0xff, n)


def guest_nics(serial):
    """The guest's NICs as {name: MAC}, from its last CORRAL-GUEST-NICS line (None before one)."""
    lines = [l for l in serial_text(serial).splitlines() if l.startswith('CORRAL-GUEST-NICS')]
    if not lines:
        return None
    return dict(item.split('=', 1) for item in lines[-1].split()[1:])


def host_links(kind='tun'):
    """The host's network interfaces of this kind as {name: (MAC, master)}."""
    out = subprocess.run(['ip', '-j', '-d', 'link', 'show'], capture_output=True, text=True, check=True).stdout
    return {l['ifname']: (l.get('address', ''), l.get('master', '')) for l in json.loads(out)
            if l.get('linkinfo', {}).get('info_kind') == kind}


def taps_of(*macs):
    """The taps carrying the host side of these guest MACs (fe:... as corrald sets; a bridge
    takes its first port's MAC, so only taps count)."""
    wanted = {'fe' + m[2:] for m in macs}
    return [name for name, (address, _) in host_links().items() if address in wanted]


def netdevs(uri, name):
    """QEMU's netdevs of the guest (HMP info network), as ids."""
    out = virsh(uri, 'qemu-monitor-command', name, '--hmp', 'info network').out
    return sorted(set(w.rstrip(':') for w in out.split() if w.startswith('hostnet')))


def live_interfaces(uri, name, *flags):
    root = ET.fromstring(virsh(uri, 'dumpxml', name, *flags).out)
    return root.findall('devices/interface')


def make_bridge(name):
    subprocess.run(['ip', 'link', 'add', name, 'type', 'bridge'], check=True)
    subprocess.run(['ip', 'link', 'set', name, 'up'], check=True)


def test_nic_hotplug_on_a_network_and_a_bridge(qemu, write_file):
    uri = qemu.uri
    bridge = f'crlnhb{TAG}'
    net, netbridge = f'nhnet{TAG}', f'crlnhn{TAG}'
    octet = 100 + (os.getpid() + 7) % 100
    make_bridge(bridge)
    assert virsh(uri, 'net-create', write_file('n.xml', f"<network><name>{net}</name><bridge name='{netbridge}'/>"
                                                         f"<ip address='10.{octet}.1.1' netmask='255.255.255.0'/>"
                                                         "</network>")).rc == 0
    ensure_event_loop()
    conn = libvirt.open(uri)
    got = []
    removed = threading.Semaphore(0)

    def added(_c, dom, alias, _o):
        got.append(('added', alias))

    def gone(_c, dom, alias, _o):
        got.append(('removed', alias))
        removed.release()

    ids = [conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, added, None),
           conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, gone, None)]
    try:
        serial = qemu.start_and_boot('nh', cmdline_extra='corral.watch_nics=1')
        wait_for(lambda: guest_nics(serial) == {}, what='the guest to list its NICs')

        # On the network: the MAC is made as at define, the tap joins the network's bridge.
        r = virsh(uri, 'attach-interface', 'nh', 'network', net, '--model', 'virtio', '--live')
        assert r.rc == 0, r.err
        (iface,) = live_interfaces(uri, 'nh')
        first = iface.find('mac').get('address')
        assert first.startswith('52:54:00:')
        assert iface.find('alias').get('name') == 'net0'
        assert iface.find('source').get('bridge') == netbridge
        tap = iface.find('target').get('dev')
        assert host_links()[tap] == ('fe' + first[2:], netbridge)
        assert live_interfaces(uri, 'nh', '--inactive') == []  # --live only
        wait_for(lambda: list((guest_nics(serial) or {}).values()) == [first], timeout=60,
                 what='the guest to see the new NIC')

        # On a bridge, live and persistent, with its own MAC.
        second = mac(2)
        r = virsh(uri, 'attach-interface', 'nh', 'bridge', bridge, '--model', 'virtio', '--mac', second,
                  '--live', '--config')
        assert r.rc == 0, r.err
        assert [i.find('mac').get('address') for i in live_interfaces(uri, 'nh')] == [first, second]
        assert [i.find('mac').get('address') for i in live_interfaces(uri, 'nh', '--inactive')] == [second]
        assert [i.find('alias').get('name') for i in live_interfaces(uri, 'nh')] == ['net0', 'net1']
        (tap2,) = taps_of(second)
        assert host_links()[tap2][1] == bridge
        wait_for(lambda: sorted((guest_nics(serial) or {}).values()) == sorted([first, second]), timeout=60,
                 what='the guest to see the second NIC')

        # The same MAC again: refused, nothing changes.
        r = virsh(uri, 'attach-interface', 'nh', 'bridge', bridge, '--model', 'virtio', '--mac', second, '--live')
        assert r.rc != 0 and f'interface with MAC address {second} already exists' in r.err, r.err

        # Two clients plugging into the same slot at once: one gets it, the other is refused.
        slot_xml = [f"<interface type='bridge'><mac address='{mac(n)}'/><source bridge='{bridge}'/>"
                    f"<model type='virtio'/><address type='pci' domain='0x0000' bus='0x00' slot='0x1c' "
                    f"function='0x0'/></interface>" for n in (3, 4)]
        results = [None, None]

        def plug(i):
            c = libvirt.open(uri)
            try:
                c.lookupByName('nh').attachDeviceFlags(slot_xml[i], libvirt.VIR_DOMAIN_AFFECT_LIVE)
                results[i] = 'ok'
            except libvirt.libvirtError as e:
                results[i] = e.get_error_message()
            finally:
                c.close()

        threads = [threading.Thread(target=plug, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results, key=lambda x: x != 'ok')[0] == 'ok', results
        loser = 1 if results[0] == 'ok' else 0
        assert 'Attempted double use of PCI Address 0000:00:1c.0' in results[loser], results
        assert taps_of(mac(4 if loser else 3)) == []
        winner = mac(3 if loser else 4)
        assert len(taps_of(winner)) == 1
        assert netdevs(uri, 'nh') == ['hostnet0', 'hostnet1', 'hostnet2']

        # Detach through virsh's detach-interface (it sends the live XML of the interface).
        r = virsh(uri, 'detach-interface', 'nh', 'network', '--mac', first, '--live')
        assert r.rc == 0, r.err
        assert removed.acquire(timeout=60), got
        wait_for(lambda: first not in (guest_nics(serial) or {first: 0}).values(), timeout=60,
                 what='the guest to lose the NIC')
        wait_for(lambda: tap not in host_links(), timeout=30, what='the tap to go')
        assert [i.find('mac').get('address') for i in live_interfaces(uri, 'nh')] == [second, winner]
        assert netdevs(uri, 'nh') == ['hostnet1', 'hostnet2']
        # The id net0 is free again; net1 keeps its own, so update-device still finds it.
        (kept,) = [i for i in live_interfaces(uri, 'nh') if i.find('mac').get('address') == second]
        ET.SubElement(kept, 'link', state='down')
        r = virsh(uri, 'update-device', 'nh', write_file('link.xml', ET.tostring(kept, encoding='unicode')), '--live')
        assert r.rc == 0, r.err

        r = virsh(uri, 'detach-interface', 'nh', 'bridge', '--mac', second, '--live', '--config')
        assert r.rc == 0, r.err
        assert removed.acquire(timeout=60), got
        assert live_interfaces(uri, 'nh', '--inactive') == []
        wait_for(lambda: taps_of(second) == [], timeout=30, what='the second tap to go')
        wait_for(lambda: list((guest_nics(serial) or {}).values()) == [winner], timeout=60,
                 what='the guest to keep only the third NIC')

        # A NIC the guest does not have.
        other = write_file('other.xml', f"<interface type='bridge'><mac address='{mac(9)}'/>"
                                        f"<source bridge='{bridge}'/></interface>")
        r = virsh(uri, 'detach-device', 'nh', other, '--live')
        assert r.rc == 1 and f'no device matching MAC address {mac(9)} found' in r.err, r.err

        # Plugging while the guest is destroyed: whichever wins, no tap is left.
        late = write_file('late.xml', f"<interface type='bridge'><mac address='{mac(5)}'/>"
                                      f"<source bridge='{bridge}'/><model type='virtio'/></interface>")
        attacher = threading.Thread(target=lambda: virsh(uri, 'attach-device', 'nh', late, '--live'))
        attacher.start()
        assert virsh(uri, 'destroy', 'nh').rc == 0
        attacher.join()
        wait_for(lambda: taps_of(first, second, mac(3), mac(4), mac(5)) == [], timeout=30,
                 what='every tap of the guest to go')
        assert qemu_pids('nh') == []
    finally:
        stop_watching(conn, ids, [])
        virsh(uri, 'net-destroy', net)
        subprocess.run(['ip', 'link', 'del', bridge])
    assert ('added', 'net0') in got and ('removed', 'net0') in got and ('removed', 'net1') in got, got


def test_nic_hotplug_refusals_leave_nothing_behind(qemu, write_file, bin_dir):
    uri = qemu.uri
    bridge = f'crlnrb{TAG}'
    net = f'nhoff{TAG}'
    make_bridge(bridge)
    try:
        # A guest defined (not running) with the MAC an attacker wants to reuse.
        qemu.define('nho', extra_devices=f"<interface type='user'><mac address='{mac(20)}'/></interface>")
        assert virsh(uri, 'net-define', write_file('off.xml', f"<network><name>{net}</name>"
                                                             f"<bridge name='crlnho{TAG}'/></network>")).rc == 0
        # q35: a new NIC goes on the spare pcie-root-port a define adds (beside the balloon's);
        # the root bus takes no hotplug.
        serial = qemu.start_and_boot('nhr', machine='q35', cmdline_extra='corral.watch_nics=1')
        wait_for(lambda: guest_nics(serial) == {}, what='the guest to list its NICs')

        def attach(xml_text, n):
            return virsh(uri, 'attach-device', 'nhr', write_file(f'a{n}.xml', xml_text), '--live')

        def nic(n, source="<source bridge='%s'/>" % bridge, typ='bridge', extra=''):
            return (f"<interface type='{typ}'><mac address='{mac(n)}'/>{source}<model type='virtio'/>{extra}"
                    "</interface>")

        cases = [
            (nic(20), f"interface with MAC address {mac(20)}: the MAC address is already used by domain 'nho'"),
            (nic(21, f"<source network='{net}'/>", 'network'), net),
            (nic(22, f"<source bridge='crlnone{TAG}'/>"), f"bridge 'crlnone{TAG}' does not exist"),
            (nic(23, "<source bridge='a,b'/>"), "bridge 'a,b' does not exist"),
            (nic(24, "<source bridge='..'/>"), ''),
            (nic(25, extra="<address type='pci' domain='0x0000' bus='0x00' slot='0x09' function='0x0'/>"),
             'does not support hotplugging'),
            (nic(26, "<source dev='eth0' mode='bridge'/>", 'direct'), "<interface type='direct'>"),
        ]
        for n, (xml_text, words) in enumerate(cases):
            r = attach(xml_text, n)
            assert r.rc != 0 and words in r.err, (xml_text, r.err)
        assert taps_of(*(mac(n) for n in range(20, 27))) == []
        assert netdevs(uri, 'nhr') == []
        assert live_interfaces(uri, 'nhr') == []
        (pid,) = qemu_pids('nhr')
        # No tap descriptor stayed in QEMU either.
        assert not any(os.readlink(f'/proc/{pid}/fd/{fd}') == '/dev/net/tun' for fd in os.listdir(f'/proc/{pid}/fd'))

        # After all that, a good one plugs into the spare root port and the guest sees it.
        r = attach(nic(27), 27)
        assert r.rc == 0, r.err
        (iface,) = live_interfaces(uri, 'nhr')
        assert iface.find('address').get('slot') == '0x00' and iface.find('address').get('bus') != '0x00'
        wait_for(lambda: list((guest_nics(serial) or {}).values()) == [mac(27)], timeout=60,
                 what='the guest to see the NIC on the root port')

        # corral's own attach-interface and detach-interface: virsh's document and words.
        args = ['attach-interface', 'nhr', 'bridge', bridge, '--mac', mac(28), '--model', 'virtio']
        assert corral(bin_dir, uri, *args, '--print-xml').out == virsh(uri, *args, '--print-xml').out
        r = corral(bin_dir, uri, 'detach-interface', 'nhr', 'bridge', '--mac', mac(27), '--live')
        assert r.rc == 0 and 'Interface detached successfully' in r.out, r.err
        wait_for(lambda: guest_nics(serial) == {}, timeout=60, what='the guest to lose the NIC')
        wait_for(lambda: taps_of(mac(27)) == [], timeout=30, what='the tap to go')
        r = corral(bin_dir, uri, 'detach-interface', 'nhr', 'bridge', '--mac', mac(27), '--live')
        assert r.rc == 1 and f'No interface with MAC address {mac(27)} was found' in r.err, r.err
        r = corral(bin_dir, uri, *args, '--live')
        assert r.rc == 0 and 'Interface attached successfully' in r.out, r.err
        wait_for(lambda: list((guest_nics(serial) or {}).values()) == [mac(28)], timeout=60,
                 what='the guest to see the NIC corral attached')
    finally:
        virsh(uri, 'destroy', 'nhr')
        virsh(uri, 'net-undefine', net)
        subprocess.run(['ip', 'link', 'del', bridge])
