# SPDX-License-Identifier: LGPL-2.1-or-later
# Domain commands through the real virsh against corrald, compared with libvirt's own test
# driver (virsh -c test:///default runs it inside the client, no daemon).
import re

import pytest

from framework.tools import domain_xml, virsh

# What one virsh call changes on test:///default must still be there for the next.
pytestmark = pytest.mark.usefixtures('held_test_state')

LIBVIRT = 'test:///default'


def shape(text):
    """Output with values blanked: the same lines, labels and columns, not the same numbers."""
    return [re.sub(r'\s+', ' ', re.sub(r'[0-9a-f]{8}-[0-9a-f-]{27}|\d+(\.\d+)?', 'N', line)).strip()
            for line in text.splitlines()]


def both(daemon, *args):
    return virsh(daemon.uri('test'), *args), virsh(LIBVIRT, *args)


def test_list_matches_libvirt_test_driver(daemon):
    ours, theirs = both(daemon, 'list', '--all')
    assert ours.rc == theirs.rc == 0
    assert ours.out == theirs.out


def test_dominfo_shape_matches_libvirt(daemon):
    ours, theirs = both(daemon, 'dominfo', 'test')
    assert ours.rc == 0, ours.err
    # Both report libvirt's test driver's 'testSecurity' model and 'libvirt-test' label.
    assert shape(ours.out) == shape(theirs.out)
    assert 'Security model: testSecurity' in ours.out


def test_lookup_errors_match_libvirt(daemon):
    for cmd in (['dominfo', 'nope'], ['domstate', 'nope'], ['destroy', 'nope']):
        ours, theirs = both(daemon, *cmd)
        assert ours.rc == theirs.rc == 1
        assert ours.err.splitlines()[0] == theirs.err.splitlines()[0] == "error: failed to get domain 'nope'"


def test_full_lifecycle_messages_match_libvirt(daemon, write_file):
    path = write_file('vm1.xml', domain_xml('vm1'))
    steps = [
        ['define', path], ['domstate', 'vm1', '--reason'], ['domid', 'vm1'], ['start', 'vm1'],
        ['domstate', 'vm1', '--reason'], ['suspend', 'vm1'], ['domstate', 'vm1', '--reason'],
        ['resume', 'vm1'], ['reboot', 'vm1'], ['shutdown', 'vm1'], ['domstate', 'vm1', '--reason'],
        ['start', 'vm1'], ['destroy', 'vm1'], ['domstate', 'vm1', '--reason'], ['autostart', 'vm1'],
        ['autostart', 'vm1', '--disable'], ['undefine', 'vm1'],
    ]
    # One virsh session runs them all: libvirt's client-side test driver forgets between runs.
    script = ' ; '.join(' '.join(step) for step in steps)
    ours, theirs = both(daemon, script)
    assert ours.rc == theirs.rc == 0, (ours.err, theirs.err)
    assert shape(ours.out) == shape(theirs.out)
    assert ours.err == theirs.err == ''


def test_inactive_domain_has_id_minus_one(daemon, write_file):
    import libvirt
    virsh(daemon.uri('test'), 'define', write_file('off.xml', domain_xml('off')))
    r = virsh(daemon.uri('test'), 'list', '--all')
    assert re.search(r'^ -\s+off\s+shut off$', r.out, re.M), r.out
    conn = libvirt.open(daemon.uri('test'))
    try:
        assert conn.lookupByName('off').ID() == -1
        assert conn.lookupByName('test').ID() == 1
    finally:
        conn.close()


def test_list_filters(daemon, write_file):
    uri = daemon.uri('test')
    virsh(uri, 'define', write_file('a.xml', domain_xml('a')))
    virsh(uri, 'define', write_file('p.xml', domain_xml('p')))
    virsh(uri, 'start', 'p')
    virsh(uri, 'suspend', 'p')
    virsh(uri, 'autostart', 'a')
    virsh(uri, 'create', write_file('t.xml', domain_xml('t')))

    def names(*flags):
        r = virsh(uri, 'list', '--name', *flags)
        assert r.rc == 0, r.err
        return sorted(n for n in r.out.split() if n)

    assert names() == ['p', 't', 'test']
    assert names('--all') == ['a', 'p', 't', 'test']
    assert names('--inactive') == ['a']
    assert names('--state-running') == ['t', 'test']
    assert names('--state-paused') == ['p']
    assert names('--state-shutoff') == ['a']
    assert names('--state-other') == []
    assert names('--all', '--persistent') == ['a', 'p', 'test']
    assert names('--all', '--transient') == ['t']
    assert names('--all', '--autostart') == ['a']
    assert names('--all', '--no-autostart') == ['p', 't', 'test']
    uuids = virsh(uri, 'list', '--all', '--uuid').out.split()
    assert len(uuids) == 4 and all(len(u) == 36 for u in uuids)
    table = virsh(uri, 'list', '--all', '--table')
    assert table.out.splitlines()[0].split() == ['Id', 'Name', 'State']


def test_domid_domname_domuuid(daemon):
    uri = daemon.uri('test')
    assert virsh(uri, 'domid', 'test').out.strip() == '1'
    assert virsh(uri, 'domname', '1').out.strip() == 'test'
    uuid = virsh(uri, 'domuuid', 'test').out.strip()
    assert uuid == '6695eb01-f6a4-8304-79aa-97f2502e193f'
    assert virsh(uri, 'domname', uuid).out.strip() == 'test'


def test_dumpxml_flags(daemon, write_file):
    uri = daemon.uri('test')
    xml = domain_xml('g', extra_devices="<graphics type='vnc' autoport='yes' passwd='s3cret'/>")
    assert virsh(uri, 'define', write_file('g.xml', xml)).rc == 0
    assert virsh(uri, 'start', 'g').rc == 0
    live = virsh(uri, 'dumpxml', 'g').out
    assert re.search(r"<domain type='test' id='\d+'>", live)
    assert 's3cret' not in live
    assert "passwd='s3cret'" in virsh(uri, 'dumpxml', 'g', '--security-info').out
    inactive = virsh(uri, 'dumpxml', 'g', '--inactive').out
    assert "<domain type='test'>" in inactive


def test_define_validate_refuses_unknown_elements(daemon, write_file):
    uri = daemon.uri('test')
    path = write_file('u.xml', domain_xml('u').replace('</domain>', '<bogus/></domain>'))
    r = virsh(uri, 'define', '--validate', path)
    assert r.rc == 1
    assert "unknown child element 'bogus'" in r.err
    r = virsh(uri, 'define', path)
    assert r.rc == 0, r.err
    # Kept verbatim: nothing dropped silently.
    assert '<bogus/>' in virsh(uri, 'dumpxml', 'u').out


def test_edit_changes_and_no_change(daemon, tmpdir_path, write_file):
    uri = daemon.uri('test')
    virsh(uri, 'define', write_file('e.xml', domain_xml('e', memory_mib=128)))
    editor = write_file('editor.sh', "#!/bin/sh\nsed -i 's/131072/262144/g' \"$1\"\n")
    import os
    os.chmod(editor, 0o755)
    r = virsh(uri, 'edit', 'e', env={'EDITOR': editor, 'VISUAL': None})
    assert r.rc == 0, r.err
    assert "Domain 'e' XML configuration edited." in r.out
    assert '262144' in virsh(uri, 'dumpxml', 'e', '--inactive').out
    r = virsh(uri, 'edit', 'e', env={'EDITOR': 'true', 'VISUAL': None})
    assert r.rc == 0
    assert "Domain 'e' XML configuration not changed." in r.out


def test_undefine_running_domain_becomes_transient(daemon, write_file):
    import libvirt
    uri = daemon.uri('test')
    virsh(uri, 'define', write_file('r.xml', domain_xml('r')))
    virsh(uri, 'start', 'r')
    assert virsh(uri, 'undefine', 'r').rc == 0
    conn = libvirt.open(uri)
    try:
        dom = conn.lookupByName('r')
        assert dom.isActive() == 1 and dom.isPersistent() == 0
        dom.destroy()
        with pytest.raises(libvirt.libvirtError) as e:
            conn.lookupByName('r')
        assert e.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
    finally:
        conn.close()


def test_python_domain_api(daemon, write_file):
    import libvirt
    conn = libvirt.open(daemon.uri('test'))
    try:
        dom = conn.defineXML(domain_xml('py'))
        assert dom.ID() == -1
        assert dom.info()[0] == libvirt.VIR_DOMAIN_SHUTOFF
        dom.create()
        assert dom.ID() > 0
        assert dom.state() == [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_BOOTED]
        assert dom.vcpusFlags(libvirt.VIR_DOMAIN_VCPU_MAXIMUM | libvirt.VIR_DOMAIN_AFFECT_CONFIG) == 1
        assert dom.maxMemory() == 131072
        assert dom.OSType() == 'linux'
        dom.suspend()
        assert dom.state()[0] == libvirt.VIR_DOMAIN_PAUSED
        dom.resume()
        dom.destroyFlags(0)
        assert dom.state() == [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED]
        dom.setAutostart(1)
        assert dom.autostart() == 1
        dom.undefineFlags(0)
        with pytest.raises(libvirt.libvirtError) as e:
            conn.lookupByName('py')
        assert e.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
        t = conn.createXML(domain_xml('transient'), 0)
        assert t.isPersistent() == 0 and t.isActive() == 1
        with pytest.raises(libvirt.libvirtError) as e:
            t.create()
        assert e.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    finally:
        conn.close()
