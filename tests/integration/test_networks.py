# SPDX-License-Identifier: LGPL-2.1-or-later
# Virtual networks with the real virsh: a NAT network is a bridge with the network's address, an
# nftables table and a dnsmasq; a QEMU guest on it gets a DHCP lease; everything survives a
# kill -9 of the daemon and is gone after net-destroy. Bad definitions are refused by name.
import os
import subprocess

from framework.qemu_fixtures import (guest_files, guest_xml, pytestmark, qemu, qemu_pids,  # noqa: F401
                                     serial_text, state, wait_for)
from framework.tools import corral, virsh


def net_xml(name, bridge, octet, forward="<forward mode='nat'/>", dhcp=True):
    rng = f"<dhcp><range start='10.{octet}.0.100' end='10.{octet}.0.150'/></dhcp>" if dhcp else ''
    return (f"<network><name>{name}</name>{forward}<bridge name='{bridge}'/>"
            f"<ip address='10.{octet}.0.1' netmask='255.255.255.0'>{rng}</ip></network>")


def dnsmasq_pids(conf_fragment):
    out = subprocess.run(['pgrep', '-f', f'dnsmasq --conf-file=.*{conf_fragment}'], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def nft_table(name):
    return subprocess.run(['nft', 'list', 'table', 'ip', f'corral_net_{name}'], capture_output=True, text=True)


def test_nat_network_serves_a_guest_and_survives_the_daemon(qemu, write_file):
    uri = qemu.uri
    octet = 100 + os.getpid() % 100
    bridge = f'crlnet{os.getpid() % 10000}'
    name = f'nat{os.getpid() % 10000}'
    assert virsh(uri, 'net-define', write_file('n.xml', net_xml(name, bridge, octet))).rc == 0
    listed = virsh(uri, 'net-list', '--all').out
    assert name in listed and 'inactive' in listed

    # A guest on an inactive network is refused, naming it.
    serial = qemu.define('netguest', cmdline_extra='corral.dhcp=1',
                extra_devices=f"<interface type='network'><mac address='52:54:00:aa:cc:01'/>"
                              f"<source network='{name}'/><model type='virtio'/></interface>")
    r = virsh(uri, 'start', 'netguest')
    assert r.rc == 1 and f"network '{name}' is not active" in r.err

    r = virsh(uri, 'net-start', name)
    assert r.rc == 0, r.err
    try:
        assert f'10.{octet}.0.1/24' in subprocess.run(['ip', '-br', 'addr', 'show', bridge],
                                                      capture_output=True, text=True).stdout
        rules = nft_table(name).stdout
        assert 'masquerade' in rules and f'10.{octet}.0.0/24' in rules
        assert len(dnsmasq_pids(name)) == 1
        assert f'Bridge:         {bridge}' in virsh(uri, 'net-info', name).out

        r = virsh(uri, 'start', 'netguest')
        assert r.rc == 0, r.err
        wait_for(lambda: 'CORRAL-GUEST-LEASE' in serial_text(serial), timeout=120, what='a DHCP lease')
        lease = serial_text(serial).split('CORRAL-GUEST-LEASE ')[1].split()[0]
        assert lease.startswith(f'10.{octet}.0.') and 100 <= int(lease.split('.')[-1]) <= 150
        live = virsh(uri, 'dumpxml', 'netguest').out
        assert f"bridge='{bridge}'" in live
        tap = live.split("<target dev='", 1)[1].split("'", 1)[0]
        assert tap in subprocess.run(['ip', '-o', 'link', 'show', 'master', bridge],
                                     capture_output=True, text=True).stdout

        # kill -9: the network and the guest stay, and the new daemon knows both.
        qemu.daemon.kill9()
        qemu.daemon.start()
        assert 'active' in virsh(uri, 'net-list').out.split(name, 1)[1].split('\n')[0]
        assert state(uri, 'netguest') == 'running (booted)'
        assert len(dnsmasq_pids(name)) == 1
        assert virsh(uri, 'destroy', 'netguest').rc == 0
    finally:
        r = virsh(uri, 'net-destroy', name)
    assert r.rc == 0, r.err
    assert subprocess.run(['ip', 'link', 'show', bridge], capture_output=True).returncode != 0
    assert nft_table(name).returncode != 0
    assert dnsmasq_pids(name) == []
    assert virsh(uri, 'net-undefine', name).rc == 0
    assert name not in virsh(uri, 'net-list', '--all').out


def test_isolated_and_transient_networks(qemu, write_file, bin_dir):
    uri = qemu.uri
    octet = 100 + (os.getpid() + 1) % 100
    name = f'iso{os.getpid() % 10000}'
    bridge = f'crliso{os.getpid() % 10000}'
    r = virsh(uri, 'net-create', write_file('iso.xml', net_xml(name, bridge, octet, forward='', dhcp=False)))
    assert r.rc == 0, r.err
    try:
        rules = nft_table(name).stdout
        assert 'masquerade' not in rules and 'reject' in rules
        assert 'Persistent:     no' in virsh(uri, 'net-info', name).out
        # corral prints what virsh prints.
        for cmd in (['net-list', '--all'], ['net-info', name], ['net-dumpxml', name]):
            assert corral(bin_dir, uri, *cmd).out == virsh(uri, *cmd).out, cmd
    finally:
        assert virsh(uri, 'net-destroy', name).rc == 0
    # A transient network is gone once destroyed.
    assert virsh(uri, 'net-info', name).rc == 1


def test_bad_network_definitions_are_refused_by_name(qemu, write_file):
    uri = qemu.uri
    cases = {
        "<network><name>b1</name><ip address='10.9.0.1' netmask='255.255.255.0'>"
        "<dhcp><range start='10.8.0.2' end='10.9.0.9'/></dhcp></ip></network>": "outside the network",
        "<network><name>b2</name><forward mode='passthrough'/></network>": "<forward mode='passthrough'>",
        "<network><name>b3</name><ip address='10.9.0.1' netmask='255.0.255.0'/></network>": "netmask",
        "<network><ip address='10.9.0.1'/></network>": "missing <name>",
        "<network><name>b5</name><portgroup name='x'/></network>": "<portgroup>",
        "<network><name>b6</name>": "(network_definition)",
    }
    for i, (xml, needle) in enumerate(cases.items()):
        r = virsh(uri, 'net-define', write_file(f'bad{i}.xml', xml))
        assert r.rc == 1 and needle in r.err, (xml, r.err)
    r = virsh(uri, 'net-info', 'nosuchnet')
    assert r.rc == 1 and 'nosuchnet' in r.err


def test_old_list_calls_name_active_and_inactive_networks(qemu, write_file):
    """virConnectNumOfNetworks/ListNetworks/NumOfDefinedNetworks/ListDefinedNetworks, which
    ansible's virt_net, Sys::Virt and python's listNetworks() use, agree with listAllNetworks."""
    import libvirt
    uri = qemu.uri
    octet = 100 + (os.getpid() + 2) % 100
    active = f'old{os.getpid() % 10000}'
    inactive = f'olddef{os.getpid() % 10000}'
    r = virsh(uri, 'net-create', write_file('old.xml', net_xml(active, f'crlold{os.getpid() % 10000}', octet,
                                                              forward='', dhcp=False)))
    assert r.rc == 0, r.err
    assert virsh(uri, 'net-define', write_file('olddef.xml', net_xml(inactive, f'crlodf{os.getpid() % 10000}',
                                                                    octet + 1))).rc == 0
    # Sys::Virt (Perl), as its users call it.
    perl = subprocess.run(['perl', '-MSys::Virt', '-e', 'my $c = Sys::Virt->new(uri => $ARGV[0]); '
                           'print join(",", map { $_->get_name } $c->list_networks), ";", '
                           'join(",", map { $_->get_name } $c->list_defined_networks), ";", '
                           '$c->num_of_networks, ";", $c->num_of_defined_networks, "\n"', uri],
                          capture_output=True, text=True)
    assert perl.returncode == 0, perl.stderr
    assert perl.stdout.strip() == f'{active};{inactive};1;1'
    conn = libvirt.open(uri)
    try:
        assert conn.listNetworks() == [active]
        assert conn.numOfNetworks() == 1
        assert conn.listDefinedNetworks() == [inactive]
        assert conn.numOfDefinedNetworks() == 1
        all_active = conn.listAllNetworks(libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE)
        assert [n.name() for n in all_active] == conn.listNetworks()
    finally:
        conn.close()
        assert virsh(uri, 'net-destroy', active).rc == 0
        assert virsh(uri, 'net-undefine', inactive).rc == 0


def test_static_hosts_change_live_and_leases_are_listed(qemu, write_file):
    """virsh net-update adds a static DHCP host to a running network: the guest with that MAC
    gets that address, net-dhcp-leases lists the lease; bad entries and wrong targets are
    refused, and a refused update changes nothing."""
    uri = qemu.uri
    octet = 100 + (os.getpid() + 3) % 100
    bridge = f'crlupd{os.getpid() % 10000}'
    name = f'upd{os.getpid() % 10000}'
    mac = '52:54:00:aa:cc:42'
    assert virsh(uri, 'net-define', write_file('n.xml', net_xml(name, bridge, octet))).rc == 0
    assert virsh(uri, 'net-start', name).rc == 0
    try:
        host = f"<host mac='{mac}' name='fixed42' ip='10.{octet}.0.42'/>"
        r = virsh(uri, 'net-update', name, 'add-last', 'ip-dhcp-host', host, '--live', '--config')
        assert r.rc == 0, r.err
        assert f"ip='10.{octet}.0.42'" in virsh(uri, 'net-dumpxml', name).out
        assert f"ip='10.{octet}.0.42'" in virsh(uri, 'net-dumpxml', '--inactive', name).out
        # The same entry twice, an address outside the network, a name that would add dnsmasq
        # options, another section, a read-only client: refused, the network as it was.
        before = virsh(uri, 'net-dumpxml', name).out
        for args, needle in (
                (['add-last', 'ip-dhcp-host', host], 'existing dhcp host entry'),
                (['add-last', 'ip-dhcp-host', f"<host mac='52:54:00:aa:cc:43' ip='10.{(octet + 1) % 256}.0.5'/>"],
                 'outside the network'),
                (['add-last', 'ip-dhcp-host', f"<host mac='52:54:00:aa:cc:44' name='a,dhcp-option=3' "
                                              f"ip='10.{octet}.0.44'/>"], 'not a host name'),
                (['add-last', 'dns-host', "<host ip='1.2.3.4'><hostname>x</hostname></host>"], "'dns-host'"),
                (['delete', 'ip-dhcp-host', "<host mac='52:54:00:aa:cc:99'/>"], 'matching dhcp host entry')):
            r = virsh(uri, 'net-update', name, *args, '--live')
            assert r.rc == 1 and needle in r.err, (args, r.err)
        r = virsh(uri, 'net-update', name, 'delete', 'ip-dhcp-host', host, '--live', readonly=True)
        assert r.rc == 1 and ('read only' in r.err.lower() or 'read-only' in r.err.lower()), r.err
        assert virsh(uri, 'net-dumpxml', name).out == before

        serial = qemu.define('updguest', cmdline_extra='corral.dhcp=1',
                             extra_devices=f"<interface type='network'><mac address='{mac}'/>"
                                           f"<source network='{name}'/><model type='virtio'/></interface>")
        assert virsh(uri, 'start', 'updguest').rc == 0
        wait_for(lambda: 'CORRAL-GUEST-LEASE' in serial_text(serial), timeout=120, what='a DHCP lease')
        assert serial_text(serial).split('CORRAL-GUEST-LEASE ')[1].split()[0] == f'10.{octet}.0.42'
        leases = virsh(uri, 'net-dhcp-leases', name).out
        assert mac in leases and f'10.{octet}.0.42/24' in leases and 'ipv4' in leases
        assert f'10.{octet}.0.42/24' in virsh(uri, 'net-dhcp-leases', name, '--mac', mac.upper()).out
        assert mac not in virsh(uri, 'net-dhcp-leases', name, '--mac', '52:54:00:00:00:01').out
        assert virsh(uri, 'destroy', 'updguest').rc == 0

        r = virsh(uri, 'net-update', name, 'delete', 'ip-dhcp-host', f"<host mac='{mac}'/>", '--live', '--config')
        assert r.rc == 0, r.err
        assert 'fixed42' not in virsh(uri, 'net-dumpxml', name).out
        assert 'fixed42' not in virsh(uri, 'net-dumpxml', '--inactive', name).out
    finally:
        virsh(uri, 'net-destroy', name)
        virsh(uri, 'net-undefine', name)
    # A transient network has no persistent definition to change.
    t = f'updt{os.getpid() % 10000}'
    assert virsh(uri, 'net-create', write_file('t.xml', net_xml(t, bridge + 't', (octet + 2) % 256))).rc == 0
    try:
        r = virsh(uri, 'net-update', t, 'add-last', 'ip-dhcp-host',
                  f"<host mac='{mac}' ip='10.{(octet + 2) % 256}.0.42'/>", '--config')
        assert r.rc == 1 and 'transient' in r.err
    finally:
        virsh(uri, 'net-destroy', t)
