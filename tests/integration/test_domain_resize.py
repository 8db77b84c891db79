# SPDX-License-Identifier: LGPL-2.1-or-later
# setmem, setmaxmem, setvcpus and domrename through the real virsh, python3-libvirt and corral:
# on the test driver step by step beside libvirt's own test driver, and on a real QEMU guest
# (TCG), whose balloon and vCPUs must really change. Attacks: memory above the maximum, the
# maximum of a running guest, names that would escape a directory, renaming onto a taken name,
# and clients renaming at once.
import json
import xml.etree.ElementTree as ET
import threading

import libvirt
import pytest

from framework.qemu_fixtures import guest_files, guest_xml, pytestmark, qemu, serial_text, wait_for  # noqa: F401
from framework.tools import corral, domain_xml, virsh

# What one virsh call changes on test:///default must still be there for the next.
pytestmark = pytest.mark.usefixtures('held_test_state')

LIBVIRT = 'test:///default'
LIVE, CONFIG = libvirt.VIR_DOMAIN_AFFECT_LIVE, libvirt.VIR_DOMAIN_AFFECT_CONFIG
MAXIMUM = libvirt.VIR_DOMAIN_VCPU_MAXIMUM


def outcome(fn):
    """What a client sees of a call: its value, or the error's code."""
    try:
        return ('ok', fn())
    except libvirt.libvirtError as e:
        return ('error', e.get_error_code())


def resize_steps(conn):
    """The same calls on the running domain 'test' of a test driver, with what each returned."""
    dom = conn.lookupByName('test')
    maximum = dom.maxMemory()
    steps = [
        outcome(lambda: dom.setMemory(maximum + 1024)),                # above the maximum
        outcome(lambda: dom.setMemory(maximum // 2)),
        outcome(lambda: dom.info()[2] == maximum // 2),
        outcome(lambda: dom.setMaxMemory(maximum * 2)),                # running: refused
        outcome(lambda: dom.setMemoryFlags(maximum // 4, CONFIG)),
        outcome(lambda: dom.setVcpusFlags(1, LIVE)),
        outcome(lambda: dom.vcpusFlags(LIVE)),
        outcome(lambda: dom.setVcpusFlags(dom.vcpusFlags(MAXIMUM | LIVE) + 1, LIVE)),  # above the maximum
        outcome(lambda: dom.setVcpusFlags(3, CONFIG | MAXIMUM)),
        outcome(lambda: dom.vcpusFlags(CONFIG | MAXIMUM)),
        outcome(lambda: dom.setVcpusFlags(100000, CONFIG | MAXIMUM)),  # above the driver's maximum
        outcome(lambda: dom.vcpusFlags(CONFIG)),
        outcome(lambda: dom.rename('other', 0)),                       # running: refused
    ]
    return steps


def test_resize_steps_match_libvirt_test_driver(daemon):
    ours = libvirt.open(daemon.uri('test'))
    theirs = libvirt.open(LIBVIRT)
    try:
        assert resize_steps(ours) == resize_steps(theirs)
    finally:
        ours.close()
        theirs.close()


def rename_steps(conn, xml_a, xml_b):
    conn.defineXML(xml_a)
    conn.defineXML(xml_b)
    a = conn.lookupByName('ra')
    steps = [
        outcome(lambda: a.rename('rb', 0)),                            # taken by another domain
        outcome(lambda: a.rename('ra', 0)),                            # itself
        outcome(lambda: a.rename('rc', 0)),
        outcome(lambda: conn.lookupByName('rc').UUIDString() == a.UUIDString()),
        outcome(lambda: conn.lookupByName('ra')),
        outcome(lambda: sorted(conn.listDefinedDomains())),
    ]
    conn.lookupByName('rb').undefine()
    conn.lookupByName('rc').undefine()
    return steps


def test_rename_steps_match_libvirt_test_driver(daemon):
    xml_a, xml_b = domain_xml('ra'), domain_xml('rb')
    ours = libvirt.open(daemon.uri('test'))
    theirs = libvirt.open(LIBVIRT)
    try:
        mine = rename_steps(ours, xml_a, xml_b)
        assert mine == rename_steps(theirs, xml_a, xml_b)
        assert mine[2] == ('ok', 0), mine
        # Through a daemon the client's handle takes the new name (libvirt's remote driver does
        # that; its in-process test driver keeps the old one, so this is not compared).
        ours.defineXML(domain_xml('rh'))
        handle = ours.lookupByName('rh')
        handle.rename('rh2', 0)
        assert handle.name() == 'rh2'
        handle.undefine()
    finally:
        ours.close()
        theirs.close()


@pytest.mark.parametrize('name', ['a/b', '../x', '..', '.', 'a,b', 'a\nb', ''])
def test_rename_refuses_names_that_escape(daemon, write_file, name):
    uri = daemon.uri('test')
    assert virsh(uri, 'define', write_file('esc.xml', domain_xml('esc'))).rc == 0
    conn = libvirt.open(uri)
    try:
        with pytest.raises(libvirt.libvirtError):
            conn.lookupByName('esc').rename(name, 0)
        assert conn.lookupByName('esc').name() == 'esc'
        assert 'esc' in conn.listDefinedDomains()
    finally:
        conn.close()


def test_rename_emits_undefined_and_defined_renamed(daemon, write_file):
    uri = daemon.uri('test')
    assert virsh(uri, 'define', write_file('ev.xml', domain_xml('ev'))).rc == 0
    libvirt.virEventRegisterDefaultImpl()
    conn = libvirt.open(uri)
    got = []
    done = threading.Event()

    def on_event(_c, dom, event, detail, _o):
        got.append((dom.name(), event, detail))
        if len(got) == 2:
            done.set()

    stop = threading.Event()

    def loop():
        while not stop.is_set():
            libvirt.virEventRunDefaultImpl()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    cb = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, on_event, None)
    try:
        assert virsh(uri, 'domrename', 'ev', 'ev2').rc == 0
        assert done.wait(20), got
        assert got == [('ev', libvirt.VIR_DOMAIN_EVENT_UNDEFINED, libvirt.VIR_DOMAIN_EVENT_UNDEFINED_RENAMED),
                       ('ev2', libvirt.VIR_DOMAIN_EVENT_DEFINED, libvirt.VIR_DOMAIN_EVENT_DEFINED_RENAMED)], got
    finally:
        conn.domainEventDeregisterAny(cb)
        stop.set()
        conn.close()


def test_concurrent_renames_leave_one_name(daemon, write_file):
    uri = daemon.uri('test')
    for round_ in range(10):
        names = [f'cr{round_}a', f'cr{round_}b']
        for n in names:
            assert virsh(uri, 'define', write_file(n + '.xml', domain_xml(n))).rc == 0
        conns = [libvirt.open(uri) for _ in range(4)]
        original = {conns[0].lookupByName(n).UUIDString() for n in names}
        results = [None] * 4
        barrier = threading.Barrier(4)

        def run(i):
            # Clients 0 and 1 rename the same domain; 2 and 3 rename two domains onto one name.
            src, dst = [(names[0], f'cr{round_}x'), (names[0], f'cr{round_}y'),
                        (names[1], f'cr{round_}z'), (f'cr{round_}y', f'cr{round_}z')][i]
            barrier.wait()
            try:
                conns[i].lookupByName(src).rename(dst, 0)
                results[i] = 'ok'
            except libvirt.libvirtError as e:
                results[i] = e.get_error_code()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        defined = set(conns[0].listDefinedDomains())
        mine = {n for n in defined if n.startswith(f'cr{round_}')}
        # Two domains, each under exactly one name; one UUID per name.
        assert len(mine) == 2, (results, mine)
        uuids = {conns[0].lookupByName(n).UUIDString() for n in mine}
        assert len(uuids) == 2, (results, mine)
        # A handle names its domain by UUID (as in libvirt): the second rename of the same
        # domain may rename it again, or find the old object gone ("no domain").
        assert results[0] == 'ok' or results[1] == 'ok', results
        assert all(r in ('ok', libvirt.VIR_ERR_NO_DOMAIN, libvirt.VIR_ERR_OPERATION_INVALID) for r in results), results
        assert uuids == original and names[0] not in mine, (results, mine)
        for n in mine:
            conns[0].lookupByName(n).undefine()
        for c in conns:
            c.close()


def test_corral_commands_match_virsh(daemon, bin_dir, write_file):
    uri = daemon.uri('test')
    assert virsh(uri, 'define', write_file('cv.xml', domain_xml('cv'))).rc == 0
    for args in (['setmaxmem', 'cv', '256M', '--config'], ['setmem', 'cv', '200M', '--config'],
                 ['setvcpus', 'cv', '4', '--maximum', '--config'], ['setvcpus', 'cv', '2', '--config'],
                 ['vcpucount', 'cv'], ['setmem', 'cv', '300M', '--config'], ['setmem', 'cv', '100M'],
                 ['setvcpus', 'cv', '5', '--config'], ['setmem', 'cv', 'lots']):
        v = virsh(uri, *args)
        c = corral(bin_dir, uri, *args)
        assert (c.rc, c.out, c.err) == (v.rc, v.out, v.err), args
    r = corral(bin_dir, uri, 'vcpucount', 'cv')
    assert r.out.split('\n')[:2] == ['maximum      config         4', 'current      config         2'], r.out
    assert json.loads(corral(bin_dir, uri, '--json', 'vcpucount', 'cv').out) == \
        {'maximum': {'config': 4}, 'current': {'config': 2}}
    xml = virsh(uri, 'dumpxml', 'cv', '--inactive').out
    assert "<memory unit='KiB'>262144</memory>" in xml and "<currentMemory unit='KiB'>204800</currentMemory>" in xml
    assert "<vcpu placement='static' current='2'>4</vcpu>" in xml, xml
    v = virsh(uri, 'domrename', 'cv', 'cv2')
    c = corral(bin_dir, uri, 'domrename', 'cv2', 'cv')
    assert (v.rc, v.out) == (c.rc, c.out) == (0, 'Domain successfully renamed\n\n'), (v.out, c.out)
    v = virsh(uri, 'domrename', 'cv', 'test')
    c = corral(bin_dir, uri, 'domrename', 'cv', 'test')
    assert (c.rc, c.err) == (v.rc, v.err) and v.rc == 1, (v.err, c.err)


def test_qemu_guest_balloon_and_vcpu_hotplug(qemu):
    uri = qemu.uri
    # The definition names no balloon: a define adds libvirt's virtio balloon (and its PS/2
    # inputs and audio backend), but not libvirt's USB controller.
    serial = qemu.define('rs', vcpus=2)
    defined = virsh(uri, 'dumpxml', 'rs', '--inactive').out
    for wanted in ("<memballoon model='virtio'>", "<input type='mouse' bus='ps2'/>",
                   "<input type='keyboard' bus='ps2'/>", "<audio id='1' type='none'/>"):
        assert wanted in defined, (wanted, defined)
    assert "<controller type='usb'" not in defined, defined
    # --config first: one vCPU of two, and 176 MiB of 192, for the next start.
    assert virsh(uri, 'setvcpus', 'rs', '1', '--config').rc == 0
    huge = virsh(uri, 'setvcpus', 'rs', '100000', '--maximum', '--config')
    assert huge.rc == 1 and 'exceeds maximum supported amount (100000 > 255)' in huge.err, huge.err
    assert virsh(uri, 'setmem', 'rs', '176M', '--config').rc == 0
    bad = virsh(uri, 'setmem', 'rs', '200M', '--config')
    assert bad.rc == 1 and 'cannot set memory higher than max memory' in bad.err, bad.err
    assert virsh(uri, 'start', 'rs').rc == 0
    wait_for(lambda: 'CORRAL-GUEST-READY' in serial_text(serial), what='rs to boot')
    assert virsh(uri, 'vcpucount', 'rs', '--live', '--active').out.strip() == '1'
    wait_for(lambda: 'actual 180224' in virsh(uri, 'dommemstat', 'rs').out, what='the balloon at 176 MiB')

    # Live: the balloon follows, and QEMU gets a second vCPU.
    r = virsh(uri, 'setmem', 'rs', '128M', '--live')
    assert r.rc == 0, r.err
    wait_for(lambda: 'actual 131072' in virsh(uri, 'dommemstat', 'rs').out, what='the balloon at 128 MiB')
    assert "<currentMemory unit='KiB'>131072</currentMemory>" in virsh(uri, 'dumpxml', 'rs').out
    r = virsh(uri, 'setvcpus', 'rs', '2', '--live')
    assert r.rc == 0, r.err
    cpus = json.loads(virsh(uri, 'qemu-monitor-command', 'rs', '{"execute":"query-cpus-fast"}').out)['return']
    assert len(cpus) == 2, cpus
    assert virsh(uri, 'vcpucount', 'rs', '--live', '--active').out.strip() == '2'
    assert virsh(uri, 'vcpuinfo', 'rs').out.count('VCPU:') == 2

    # Attacks: beyond the maximum, the maximum of a running guest, unplugging.
    above = virsh(uri, 'setmem', 'rs', '1G', '--live')
    assert above.rc == 1 and 'cannot set memory higher than max memory' in above.err, above.err
    maxmem = virsh(uri, 'setmaxmem', 'rs', '256M')
    assert maxmem.rc == 1 and 'cannot resize the maximum memory on an active domain' in maxmem.err, maxmem.err
    too_many = virsh(uri, 'setvcpus', 'rs', '3', '--live')
    assert too_many.rc == 1 and 'greater than max allowable vcpus' in too_many.err, too_many.err
    fewer = virsh(uri, 'setvcpus', 'rs', '1', '--live')
    assert fewer.rc == 1 and 'removing vCPUs from running domain' in fewer.err, fewer.err
    assert len(json.loads(virsh(uri, 'qemu-monitor-command', 'rs',
                                '{"execute":"query-cpus-fast"}').out)['return']) == 2
    running = virsh(uri, 'domrename', 'rs', 'rs2')
    assert running.rc == 1 and 'cannot rename active domain' in running.err, running.err
    # The persistent definition kept its own values.
    inactive = virsh(uri, 'dumpxml', 'rs', '--inactive').out
    assert "current='1'>2</vcpu>" in inactive and "<currentMemory unit='KiB'>180224</currentMemory>" in inactive

    # Without a balloon (asked for: model='none') the memory of a running guest cannot change.
    qemu.define('nb', extra_devices="<memballoon model='none'/>")
    assert virsh(uri, 'start', 'nb').rc == 0
    nb = virsh(uri, 'setmem', 'nb', '128M')
    assert nb.rc == 1 and 'without the balloon device' in nb.err, nb.err


def test_qemu_rename_inactive_guest(qemu):
    uri = qemu.uri
    qemu.define('rn1')
    qemu.define('rn2')
    taken = virsh(uri, 'domrename', 'rn1', 'rn2')
    assert taken.rc == 1 and "domain with name 'rn2' already exists" in taken.err, taken.err
    r = virsh(uri, 'domrename', 'rn1', 'rn3')
    assert r.rc == 0, r.err
    assert 'rn3' in virsh(uri, 'list', '--all', '--name').out.split()
    # The new name is what the store keeps: a restarted daemon has it.
    assert qemu.daemon.stop() == 0
    qemu.daemon.start()
    names = virsh(uri, 'list', '--all', '--name').out.split()
    assert 'rn3' in names and 'rn1' not in names, names
    assert virsh(uri, 'undefine', 'rn3').rc == 0


def test_read_only_clients_cannot_resize_or_rename(daemon):
    uri = daemon.uri('test')
    for args in (['setmem', 'test', '1024'], ['setmaxmem', 'test', '1024', '--config'],
                 ['setvcpus', 'test', '1'], ['domrename', 'test', 'other']):
        r = virsh(uri, *args, readonly=True)
        assert r.rc == 1 and 'read only access prevents' in r.err, (args, r.err)
    assert virsh(uri, 'vcpucount', 'test', readonly=True).rc == 0
    assert 'test' in virsh(uri, 'list', '--name').out.split()


def machine_limits(uri):
    """{machine name: maxCpus} of the x86_64 qemu guest in the capabilities."""
    caps = ET.fromstring(virsh(uri, 'capabilities').out)
    for guest in caps.findall('guest'):
        if guest.find('arch').get('name') == 'x86_64':
            return {m.text: int(m.get('maxCpus')) for m in guest.find('arch').findall('machine')}
    raise AssertionError('no x86_64 guest in the capabilities')


def test_qemu_vcpus_above_the_machine_limit_are_refused(qemu, write_file, guest_files):
    # libvirt refuses more vCPUs than the machine type takes (at start); corral at define, with
    # libvirt's words and error code, against the limit QEMU reports for that machine.
    limits = machine_limits(qemu.uri)
    pc, q35 = limits['pc'], limits['q35']
    conn = libvirt.open(qemu.uri)
    try:
        for count, machine in ((100000, 'pc'), (pc + 1, 'pc'), (q35 + 1, 'q35')):
            xml = guest_xml('toomany', guest_files, '/dev/null', vcpus=count, machine=machine)
            with pytest.raises(libvirt.libvirtError) as err:
                conn.defineXML(xml)
            limit = pc if machine == 'pc' else q35
            assert err.value.get_error_code() == libvirt.VIR_ERR_CONFIG_UNSUPPORTED
            assert f'Maximum CPUs greater than specified machine type limit {limit}' in err.value.get_error_message()
            r = virsh(qemu.uri, 'define', write_file('toomany.xml', xml))
            assert r.rc == 1 and f'machine type limit {limit}' in r.err, r.err
        assert virsh(qemu.uri, 'list', '--all', '--name').out.split() == []
        # At the limit it is accepted; one more through setvcpus --maximum is refused (by the
        # host's maximum, virConnectGetMaxVcpus, which is the same figure here).
        conn.defineXML(guest_xml('atlimit', guest_files, '/dev/null', vcpus=pc, machine='pc'))
        r = virsh(qemu.uri, 'setvcpus', 'atlimit', str(pc + 1), '--maximum', '--config')
        assert r.rc == 1 and f'({pc + 1} > {pc})' in r.err, r.err
        assert conn.lookupByName('atlimit').vcpusFlags(libvirt.VIR_DOMAIN_VCPU_MAXIMUM | CONFIG) == pc
        conn.lookupByName('atlimit').undefine()
    finally:
        conn.close()
