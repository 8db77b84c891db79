# SPDX-License-Identifier: LGPL-2.1-or-later
# Host facts as libvirt's clients read them, checked against the host itself: capabilities name
# this host's QEMU (emulator, its machine types and aliases, kvm only where KVM really works),
# domain capabilities agree with what a define accepts, node statistics agree with /proc and
# sysfs, and the test driver answers with libvirt's own test driver's fixed values.
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import libvirt
import pytest

from framework.host_kvm import kvm_usable
from framework.tools import domain_xml, run, virsh
from test_libvirtd_compare import libvirtd  # noqa: F401 (its fixture: Debian's libvirtd beside corrald)

QEMU = shutil.which('qemu-system-x86_64')


def qemu_answers():
    """query-machines and query-cpu-definitions, asked of QEMU here, not through corrald."""
    cmds = ''.join(json.dumps({'execute': c}) + '\n'
                   for c in ('qmp_capabilities', 'query-machines', 'query-cpu-definitions', 'quit'))
    p = subprocess.run([QEMU, '-no-user-config', '-nodefaults', '-display', 'none', '-machine', 'none',
                        '-qmp', 'stdio'], input=cmds, capture_output=True, text=True, timeout=60)
    replies = [json.loads(line) for line in p.stdout.splitlines() if line.startswith('{"return"')]
    return replies[1]['return'], replies[2]['return']


def machine_help():
    """`-machine help`: name -> canonical name (itself unless the line says 'alias of')."""
    out = subprocess.run([QEMU, '-machine', 'help'], capture_output=True, text=True, check=True).stdout
    names = {}
    for line in out.splitlines()[1:]:
        m = re.match(r'(\S+)\s+.*?(?:\(alias of (\S+)\))?\s*(?:\(default\))?$', line)
        if m:
            names[m.group(1)] = m.group(2) or m.group(1)
    return names


def meminfo(path='/proc/meminfo'):
    out = {}
    for line in open(path):
        parts = line.replace('Node ', '').split()
        if path != '/proc/meminfo':
            parts = parts[1:]
        out[parts[0].rstrip(':')] = int(parts[1])
    return out


def proc_stat_ns(label):
    """libvirt's four counters from /proc/stat's line `label`, in ns."""
    tick = 1_000_000_000 // os.sysconf('SC_CLK_TCK')
    for line in open('/proc/stat'):
        f = line.split()
        if f[0] == label:
            v = [int(x) for x in f[1:8]]
            return {'user': (v[0] + v[1]) * tick, 'kernel': (v[2] + v[5] + v[6]) * tick,
                    'idle': v[3] * tick, 'iowait': v[4] * tick}
    raise KeyError(label)


def numa_nodes():
    text = open('/sys/devices/system/node/online').read().strip()
    nodes = []
    for part in text.split(','):
        lo, _, hi = part.partition('-')
        nodes += list(range(int(lo), int(hi or lo) + 1))
    return nodes


def test_capabilities_name_this_hosts_qemu_and_kvm_only_where_it_works(daemon):
    r = virsh(daemon.uri('qemu'), 'capabilities')
    assert r.rc == 0, r.err
    caps = ET.fromstring(r.out)
    help_names = machine_help()
    kvm = kvm_usable()
    guests = caps.findall('guest')
    assert {g.find('arch').get('name') for g in guests} == {'x86_64', 'i686'}
    for g in guests:
        arch = g.find('arch')
        assert g.findtext('os_type') == 'hvm'
        assert arch.findtext('emulator') == os.path.realpath(QEMU) or arch.findtext('emulator') == QEMU
        types = [d.get('type') for d in arch.findall('domain')]
        assert types == (['qemu', 'kvm'] if kvm else ['qemu']), (types, kvm)
        machines = {m.text: m for m in arch.findall('machine')}
        # Every machine listed is one QEMU has, each alias names QEMU's canonical machine ...
        for name, m in machines.items():
            assert name in help_names, name
            assert m.get('canonical', name) == help_names[name], name
            assert int(m.get('maxCpus')) > 0
        # ... and the ones virt-install asks for are there; those the driver cannot build are not.
        assert machines['q35'].get('canonical') == help_names['q35'] != 'q35'
        assert machines['pc'].get('canonical') == help_names['pc'] != 'pc'
        assert 'microvm' in machines and help_names['q35'] in machines
        assert 'isapc' not in machines and 'none' not in machines
    # The host's NUMA cells, with their memory and CPUs.
    cells = caps.findall('host/topology/cells/cell')
    assert sorted(int(c.get('id')) for c in cells) == numa_nodes()
    assert sum(int(c.findtext('memory')) for c in cells) == meminfo()['MemTotal']
    assert sorted(int(cpu.get('id')) for c in cells for cpu in c.findall('cpus/cpu')) == \
        list(range(os.cpu_count()))


def test_lxc_connection_reports_the_same_host(daemon):
    """lxc:/// is the same host: the node statistics answer there too; its guest has no emulator."""
    caps = ET.fromstring(virsh(daemon.uri('lxc'), 'capabilities').out)
    (guest,) = caps.findall('guest')
    assert guest.findtext('os_type') == 'exe'
    assert guest.find('arch/emulator') is None
    assert [d.get('type') for d in guest.findall('arch/domain')] == ['lxc']
    r = virsh(daemon.uri('lxc'), 'nodememstats')
    assert r.rc == 0, r.err
    assert re.search(rf'^total\s*:\s*{meminfo()["MemTotal"]} KiB$', r.out, re.M), r.out
    r = virsh(daemon.uri('lxc'), 'domcapabilities')
    assert r.rc != 0 and 'virConnectGetDomainCapabilities' in r.err  # as libvirt's LXC driver


def test_domcapabilities_follow_the_machine_and_the_host(daemon):
    uri = daemon.uri('qemu')
    help_names = machine_help()
    default = ET.fromstring(virsh(uri, 'domcapabilities').out)
    assert default.findtext('path') in (QEMU, os.path.realpath(QEMU))
    assert default.findtext('domain') == ('kvm' if kvm_usable() else 'qemu')
    assert default.findtext('machine') == help_names['pc']  # QEMU's default machine
    assert default.findtext('arch') == 'x86_64'
    q35 = ET.fromstring(virsh(uri, 'domcapabilities', '--machine', 'q35', '--virttype', 'qemu').out)
    assert q35.findtext('machine') == help_names['q35']
    machines, _ = qemu_answers()
    assert int(q35.find('vcpu').get('max')) == next(m['cpu-max'] for m in machines if m['name'] == help_names['q35'])
    # TCG has no host CPU to pass through.
    modes = {m.get('name'): m.get('supported') for m in q35.findall('cpu/mode')}
    assert modes['host-passthrough'] == 'no' and modes['maximum'] == 'yes'
    if not kvm_usable():
        r = virsh(uri, 'domcapabilities', '--virttype', 'kvm')
        assert r.rc != 0 and 'KVM is not supported by' in r.err
    r = virsh(uri, 'domcapabilities', '--machine', 'isapc')
    assert r.rc != 0 and "the machine 'isapc' is not supported by emulator" in r.err
    r = virsh(uri, 'domcapabilities', '--arch', 'aarch64')
    assert r.rc != 0 and "unable to find any emulator to serve 'aarch64' architecture" in r.err


# Values libvirt's schema allows for each enum, so the test can also try the ones not listed.
CANDIDATES = {
    ('video', 'modelType'): ['vga', 'cirrus', 'vmvga', 'qxl', 'virtio', 'none', 'bochs', 'ramfb'],
    ('graphics', 'type'): ['sdl', 'vnc', 'spice', 'egl-headless', 'dbus'],
    ('disk', 'bus'): ['ide', 'scsi', 'virtio', 'usb', 'sata', 'fdc'],
}
TARGETS = {'ide': 'hda', 'scsi': 'sda', 'virtio': 'vda', 'usb': 'sda', 'sata': 'sda', 'fdc': 'fda'}


def device_xml(kind, value):
    if kind == 'video':
        return f"<video><model type='{value}'/></video>"
    if kind == 'graphics':
        return f"<graphics type='{value}'/>"
    device = 'floppy' if value == 'fdc' else 'disk'
    return (f"<disk type='file' device='{device}'><source file='/var/lib/corral/images/x.img'/>"
            f"<target dev='{TARGETS[value]}' bus='{value}'/></disk>")


@pytest.mark.parametrize('machine', ['pc', 'q35'])
def test_domcapabilities_agree_with_what_define_accepts(daemon, write_file, machine):
    """Each listed value is accepted by a define on that machine; each unlisted one is refused."""
    conn = libvirt.open(daemon.uri('qemu'))
    try:
        dc = ET.fromstring(conn.getDomainCapabilities(None, None, machine, 'qemu'))
        for (element, enum), candidates in CANDIDATES.items():
            listed = [v.text for v in dc.findall(f"devices/{element}/enum[@name='{enum}']/value")]
            assert listed, (element, enum)
            for value in candidates:
                name = f'dc{os.getpid()}-{element}-{value}'
                xml = domain_xml(name, dtype='qemu', extra_devices=device_xml(element, value)).replace(
                    "<type>hvm</type>", f"<type arch='x86_64' machine='{machine}'>hvm</type>")
                assert f"machine='{machine}'" in xml
                try:
                    conn.defineXML(xml).undefine()
                    accepted = True
                except libvirt.libvirtError:
                    accepted = False
                assert accepted == (value in listed), (machine, element, value, listed)
    finally:
        conn.close()


def test_cpu_models_are_qemus(daemon):
    r = virsh(daemon.uri('qemu'), 'cpu-models', 'x86_64')
    assert r.rc == 0, r.err
    _, cpus = qemu_answers()
    assert set(r.out.split()) == {c['name'] for c in cpus} - {'host'}
    r = virsh(daemon.uri('qemu'), 'cpu-models', 'sparc')
    assert r.rc != 0


def test_node_memory_agrees_with_proc_and_sysfs(daemon):
    conn = libvirt.open(daemon.uri('qemu'))
    try:
        before = meminfo()
        stats = conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS)
        after = meminfo()
        assert set(stats) == {'total', 'free', 'buffers', 'cached'}
        assert stats['total'] == before['MemTotal']
        # Free memory moves while we look: within what it was before and after, plus slack.
        slack = 64 * 1024
        assert min(before['MemFree'], after['MemFree']) - slack <= stats['free'] <= \
            max(before['MemFree'], after['MemFree']) + slack
        nodes = numa_nodes()
        for node in nodes:
            cell = conn.getMemoryStats(node)
            node_info = meminfo(f'/sys/devices/system/node/node{node}/meminfo')
            assert set(cell) == {'total', 'free'}
            assert cell['total'] == node_info['MemTotal']
        cells = conn.getCellsFreeMemory(0, len(nodes))
        free_now = sum(meminfo(f'/sys/devices/system/node/node{n}/meminfo')['MemFree'] for n in nodes) * 1024
        assert abs(sum(cells) - free_now) <= slack * 1024 * len(nodes)
        assert abs(conn.getFreeMemory() - free_now) <= slack * 1024 * len(nodes)
        with pytest.raises(libvirt.libvirtError, match=r'start cell \d+ out of range'):
            conn.getCellsFreeMemory(max(nodes) + 1, 1)
        with pytest.raises(libvirt.libvirtError, match='cellNum in virHostMemGetStats must be less than or equal'):
            conn.getMemoryStats(max(nodes) + 1)
    finally:
        conn.close()
    r = virsh(daemon.uri('qemu'), 'nodememstats')
    assert r.rc == 0, r.err
    assert re.search(rf'^total\s*:\s*{meminfo()["MemTotal"]} KiB$', r.out, re.M), r.out
    r = virsh(daemon.uri('qemu'), 'freecell', '--all')
    assert r.rc == 0, r.err
    assert len([line for line in r.out.splitlines() if re.match(r'\s*\d+:', line)]) == len(numa_nodes())


def test_node_cpu_facts_agree_with_proc_stat_and_sysfs(daemon):
    conn = libvirt.open(daemon.uri('qemu'))
    try:
        for cpu, label in [(libvirt.VIR_NODE_CPU_STATS_ALL_CPUS, 'cpu'), (0, 'cpu0'), (os.cpu_count() - 1,
                                                                                     f'cpu{os.cpu_count() - 1}')]:
            before = proc_stat_ns(label)
            got = conn.getCPUStats(cpu)
            after = proc_stat_ns(label)
            assert set(got) == {'kernel', 'user', 'idle', 'iowait'}
            for key in got:
                assert before[key] <= got[key] <= after[key], (label, key, before[key], got[key], after[key])
        with pytest.raises(libvirt.libvirtError, match='Invalid cpuNum in virHostCPUGetStatsLinux'):
            conn.getCPUStats(os.cpu_count() + 64)
    finally:
        conn.close()
    r = virsh(daemon.uri('qemu'), 'nodecpustats', '--cpu', '0')
    assert r.rc == 0, r.err
    assert re.search(r'^user:\s+\d+$', r.out, re.M), r.out
    r = virsh(daemon.uri('qemu'), 'nodecpumap')
    assert r.rc == 0, r.err
    present = open('/sys/devices/system/cpu/present').read().strip()
    last = int(present.split('-')[-1].split(',')[-1])
    assert f'CPUs present:   {last + 1}' in r.out
    assert f'CPUs online:    {os.cpu_count()}' in r.out


def test_sysinfo_is_the_hosts_smbios_or_a_clear_refusal(daemon):
    r = virsh(daemon.uri('qemu'), 'sysinfo')
    dmi = '/sys/class/dmi/id'
    if os.path.isdir(dmi) and os.path.exists(f'{dmi}/sys_vendor'):
        assert r.rc == 0, r.err
        info = ET.fromstring(r.out)
        vendor = open(f'{dmi}/sys_vendor').read().strip()
        assert info.findtext("system/entry[@name='manufacturer']") == vendor
    else:
        # This host has no SMBIOS in sysfs (libvirtd says the same here).
        assert r.rc != 0
        assert 'Host SMBIOS information is not available' in r.err


# (nodememstats and domcapabilities are not supported by libvirt's test driver, nor by ours.)
TEST_DRIVER_COMMANDS = [['nodecpustats'], ['nodecpustats', '--cpu', '3'], ['freecell'], ['freecell', '--all'],
                        ['freecell', '1'], ['freecell', '5'], ['nodecpumap'], ['sysinfo'],
                        ['cpu-models', 'x86_64'], ['cpu-models', 'ppc64'], ['cpu-models', 'bogus']]


@pytest.mark.parametrize('cmd', TEST_DRIVER_COMMANDS, ids=lambda c: ' '.join(c))
def test_test_driver_answers_as_libvirts_test_driver(daemon, cmd):
    """virsh -c test:///default runs libvirt's own test driver in the client: the reference."""
    ours = virsh(daemon.uri('test'), *cmd)
    theirs = virsh('test:///default', *cmd)
    assert (ours.rc, ours.out, ours.err) == (theirs.rc, theirs.out, theirs.err)


def test_virt_install_accepts_machine_q35(daemon):
    if shutil.which('virt-install') is None:
        pytest.fail('virt-install is missing (scripts/setup.sh installs virtinst)')
    r = run(['virt-install', '--connect', daemon.uri('qemu'), '--print-xml', '--name', f'vi{os.getpid()}',
             '--memory', '256', '--vcpus', '1', '--machine', 'q35', '--virt-type', 'qemu', '--osinfo', 'generic',
             '--disk', 'none', '--import', '--graphics', 'none', '--noautoconsole'], timeout=120)
    assert r.rc == 0, r.err
    assert re.search(r"<type arch=\"x86_64\" machine=\"(q35|pc-q35-[0-9.]+)\">hvm</type>", r.out), r.out
    assert '<domain type="qemu">' in r.out
    # The capabilities offer ACPI, so the guest gets it (without it, virsh shutdown cannot work).
    assert '<acpi/>' in r.out and '<apic/>' in r.out


def test_same_facts_as_libvirtd_on_this_host(daemon, libvirtd):
    """Debian's libvirtd (qemu:///session, as nobody) asked the same questions on the same host."""
    theirs_uri = f'qemu:///session?socket={libvirtd}'
    ours_uri = daemon.uri('qemu')

    def guest_of(uri, arch):
        caps = ET.fromstring(virsh(uri, 'capabilities', timeout=180).out)
        return next(g for g in caps.findall('guest') if g.find('arch').get('name') == arch).find('arch')

    for arch in ('x86_64', 'i686'):
        ours, theirs = guest_of(ours_uri, arch), guest_of(theirs_uri, arch)
        assert [d.get('type') for d in ours.findall('domain')] == [d.get('type') for d in theirs.findall('domain')]
        their_machines = {m.text: (m.get('canonical'), m.get('maxCpus')) for m in theirs.findall('machine')}
        for m in ours.findall('machine'):
            assert their_machines.get(m.text) == (m.get('canonical'), m.get('maxCpus')), m.text
        # Guest features: the ones offered here are offered by libvirtd, with the same defaults.
        ours_caps = ET.fromstring(virsh(ours_uri, 'capabilities').out)
        theirs_caps = ET.fromstring(virsh(theirs_uri, 'capabilities', timeout=180).out)
        our_features = {f.tag: dict(f.attrib) for g in ours_caps.findall('guest')
                        if g.find('arch').get('name') == arch for f in g.findall('features/*')}
        their_features = {f.tag: dict(f.attrib) for g in theirs_caps.findall('guest')
                          if g.find('arch').get('name') == arch for f in g.findall('features/*')}
        assert {'acpi', 'apic'} <= set(our_features)
        for tag, attrs in our_features.items():
            assert their_features.get(tag) == attrs, (arch, tag)
        if arch == 'x86_64':
            assert ours.findtext('emulator') == theirs.findtext('emulator')
            # Every machine libvirtd lists that the driver can build is listed here too.
            missing = [n for n in their_machines if re.match(r'(pc|q35|pc-i440fx-.*|pc-q35-.*|microvm)$', n)
                       and n not in {m.text for m in ours.findall('machine')}]
            assert missing == []
    for machine in (None, 'q35'):
        args = ['domcapabilities', '--virttype', 'qemu'] + (['--machine', machine] if machine else [])
        ours = ET.fromstring(virsh(ours_uri, *args).out)
        theirs = ET.fromstring(virsh(theirs_uri, *args, timeout=180).out)
        for field in ('path', 'domain', 'machine', 'arch'):
            assert ours.findtext(field) == theirs.findtext(field), field
        assert ours.find('vcpu').get('max') == theirs.find('vcpu').get('max')
    for cmd in (['nodecpumap'], ['sysinfo']):
        o, t = virsh(ours_uri, *cmd), virsh(theirs_uri, *cmd)
        assert (o.rc, o.out, o.err) == (t.rc, t.out, t.err), cmd
    o, t = virsh(ours_uri, 'nodememstats'), virsh(theirs_uri, 'nodememstats')
    assert o.out.splitlines()[0] == t.out.splitlines()[0]  # total


def test_domcapabilities_runs_no_program_a_client_names(daemon, tmpdir_path, write_file):
    """An attacker with a read-write connection names a program of theirs as the emulator to
    probe: corrald would run it as root. It is refused, and the program never runs."""
    marker = os.path.join(tmpdir_path, 'ran')
    program = write_file('fake-qemu', f'#!/bin/sh\ntouch {marker}\n')
    os.chmod(program, 0o755)
    r = virsh(daemon.uri('qemu'), 'domcapabilities', '--emulatorbin', program)
    assert r.rc != 0
    assert f"emulator '{program}' is not the one this driver probes" in r.err
    assert not os.path.exists(marker)
    # The real emulator, named explicitly, is fine.
    r = virsh(daemon.uri('qemu'), 'domcapabilities', '--emulatorbin', QEMU)
    assert r.rc == 0, r.err


def test_without_qemu_the_capabilities_offer_no_qemu_guests(daemon):
    """A host whose qemu.conf emulator does not exist: the host part is still reported, no
    <guest> is (nothing could run), and domcapabilities says what is missing."""
    daemon.stop()
    conf = os.path.join(daemon.root, 'etc', 'corral')
    os.makedirs(conf, exist_ok=True)
    with open(os.path.join(conf, 'qemu.conf'), 'w') as f:
        f.write('emulator = "/nonexistent/qemu-system-x86_64"\n')
    daemon.start()
    r = virsh(daemon.uri('qemu'), 'capabilities')
    assert r.rc == 0, r.err
    caps = ET.fromstring(r.out)
    assert caps.find('host/cpu/arch').text == os.uname().machine
    assert caps.findall('guest') == []
    r = virsh(daemon.uri('qemu'), 'domcapabilities')
    assert r.rc != 0 and "Cannot find '/nonexistent/qemu-system-x86_64' in path" in r.err


def test_sys_virt_reads_the_same_node_facts(daemon):
    """Sys::Virt (Perl) gets the host's numbers, not the zeros a missing call turns into."""
    script = ('my $c = Sys::Virt->new(uri => $ARGV[0]); '
              'my $m = $c->get_node_memory_stats(-1); my @cells = $c->get_node_cells_free_memory(0, 64); '
              'my $s = $c->get_node_cpu_stats(-1); '
              'print join(" ", $m->{total}, $c->get_node_free_memory, scalar(@cells), $s->{user} > 0 ? 1 : 0), "\\n";')
    p = subprocess.run(['perl', '-MSys::Virt', '-e', script, daemon.uri('qemu')], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    total, free, ncells, user = (int(x) for x in p.stdout.split())
    assert total == meminfo()['MemTotal']
    assert free > 0 and abs(free - meminfo()['MemFree'] * 1024) < 512 * 1024 * 1024
    assert ncells == len(numa_nodes())
    assert user == 1
