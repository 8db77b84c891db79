# SPDX-License-Identifier: LGPL-2.1-or-later
# The read-only socket and -r connections serve queries and refuse every modifying procedure.
import libvirt
import pytest

from framework.tools import domain_xml, virsh

# What one virsh call changes on test:///default must still be there for the next.
pytestmark = pytest.mark.usefixtures('held_test_state')


@pytest.mark.parametrize('args', [
    ['destroy', 'test'], ['suspend', 'test'], ['resume', 'test'], ['shutdown', 'test'],
    ['reboot', 'test'], ['undefine', 'test'], ['autostart', 'test'], ['start', 'off'],
    ['dumpxml', 'test', '--security-info'],
])
def test_ro_socket_refuses_modifications(daemon, write_file, args):
    assert virsh(daemon.uri('test'), 'define', write_file('off.xml', domain_xml('off'))).rc == 0
    r = virsh(daemon.uri('test', readonly=True), *args, readonly=True)
    assert r.rc == 1
    assert 'operation forbidden' in r.err, r.err


def test_ro_flag_on_rw_socket_is_enforced_by_the_daemon(daemon, write_file):
    r = virsh(daemon.uri('test'), 'define', write_file('x.xml', domain_xml('x')), readonly=True)
    assert r.rc == 1
    assert 'read only access prevents virDomainDefineXML' in r.err


def test_ro_socket_serves_queries(daemon):
    uri = daemon.uri('test', readonly=True)
    for args in (['list', '--all'], ['dominfo', 'test'], ['domstate', 'test', '--reason'],
                 ['dumpxml', 'test'], ['version'], ['nodeinfo'], ['capabilities']):
        r = virsh(uri, *args, readonly=True)
        assert r.rc == 0, (args, r.err)


def test_python_read_only_error_code(daemon):
    conn = libvirt.openReadOnly(daemon.uri('test', readonly=True))
    try:
        dom = conn.lookupByName('test')
        with pytest.raises(libvirt.libvirtError) as e:
            dom.destroy()
        assert e.value.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED
        with pytest.raises(libvirt.libvirtError) as e:
            conn.defineXML(domain_xml('nope'))
        assert e.value.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED
        assert dom.info()[0] == libvirt.VIR_DOMAIN_RUNNING
    finally:
        conn.close()


def test_socket_modes(daemon):
    import os
    import stat
    assert stat.S_IMODE(os.stat(daemon.socket).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(daemon.socket_ro).st_mode) == 0o777
    assert not os.path.exists(os.path.join(os.path.dirname(daemon.socket), 'virtqemud-sock'))
