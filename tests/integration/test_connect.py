# SPDX-License-Identifier: LGPL-2.1-or-later
# The real virsh and python3-libvirt connect to corrald and get host facts on every driver URI.
import libvirt
import pytest

from framework.host_kvm import kvm_usable
from framework.tools import virsh

DRIVERS = ['test', 'qemu', 'lxc']


@pytest.mark.parametrize('driver', DRIVERS)
def test_virsh_connects_and_lists(daemon, driver):
    r = virsh(daemon.uri(driver), 'list')
    assert r.rc == 0, r.err
    assert r.out.splitlines()[0].split() == ['Id', 'Name', 'State']
    assert r.err == ''


def test_virsh_host_commands(daemon):
    uri = daemon.uri('test')
    v = virsh(uri, 'version', '--daemon')
    assert v.rc == 0, v.err
    assert 'Using API: TEST 9.0.0' in v.out
    assert 'Running hypervisor: TEST 0.0.2' in v.out
    assert 'Running against daemon: 9.0.0' in v.out
    h = virsh(uri, 'hostname')
    assert h.rc == 0 and h.out.strip()
    u = virsh(uri, 'uri')
    assert u.out.strip() == uri
    n = virsh(uri, 'nodeinfo')
    assert 'CPU model:           i686' in n.out
    assert 'Memory size:         3145728 KiB' in n.out
    c = virsh(daemon.uri('qemu'), 'capabilities')
    assert c.rc == 0
    assert '<host>' in c.out and "<domain type='qemu'/>" in c.out
    # kvm only where KVM really runs guests (test_host_caps.py checks the rest of the document).
    assert ("<domain type='kvm'/>" in c.out) == kvm_usable()


def test_qemu_nodeinfo_reports_this_host(daemon):
    n = virsh(daemon.uri('qemu'), 'nodeinfo')
    assert n.rc == 0, n.err
    import os
    assert f'CPU(s):              {os.cpu_count()}' in n.out


def test_python_libvirt_connection_calls(daemon):
    conn = libvirt.open(daemon.uri('test'))
    try:
        assert conn.getType() == 'TEST'
        assert conn.getVersion() == 2
        assert conn.getLibVersion() == 9000000
        assert conn.getHostname()
        assert conn.getURI() == daemon.uri('test')  # the client library answers this itself
        assert '<capabilities>' in conn.getCapabilities()
        info = conn.getInfo()
        assert info[0] == 'i686' and info[2] == 16
        assert conn.isAlive() == 1
        assert conn.isSecure() == 1
        assert conn.getMaxVcpus(None) == 32
        assert [d.name() for d in conn.listAllDomains()] == ['test']
        assert conn.numOfDomains() == 1
        assert conn.listDomainsID() == [1]
    finally:
        conn.close()


def test_unknown_driver_uri_is_refused(daemon):
    r = virsh(daemon.uri('test').replace('test+unix:///default', 'xen+unix:///'), 'list')
    assert r.rc != 0
    assert 'no connection driver available for xen:///' in r.err
