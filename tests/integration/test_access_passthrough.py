# SPDX-License-Identifier: LGPL-2.1-or-later
# The two calls that go around everything the daemon checks, under access rules: raw QMP
# (qemu-monitor-command) and a container's namespaces (lxc-enter-namespace, OPEN_NAMESPACE).
# Identities by TLS client certificate (DN) and by unix uid; the guests are real (a QEMU whose
# emulator is framework/hostile_qmp.py, a busybox container).
import json
import os

import pytest

from framework import hostile_qmp
from framework.container import build_rootfs, container_xml
from framework.qemu_fixtures import wait_for
from framework.remote import RemotePki, remote_config
from framework.tools import corral, virsh

pytestmark = pytest.mark.skipif(not os.path.exists('/usr/bin/certtool') or not os.path.exists('/bin/busybox'),
                                reason='gnutls-bin and busybox-static are needed (scripts/setup.sh installs them)')


def rules_and_tls(daemon, rules, tls=True):
    path = os.path.join(daemon.root, 'etc', 'corral', 'access.conf')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(rules)
    return remote_config(daemon, 'access_rules_file = "access.conf"\n', tls=tls)


def test_raw_qmp_needs_admin_even_from_a_guests_full_owner(daemon, tmpdir_path):
    """An identity (a certificate's DN) with every class on its guests but admin: read,
    lifecycle, config and console. Raw QMP commands (qemu-monitor-command, QMP and HMP) are the
    QEMU process's full control, beyond what config and console give, so they are refused it;
    an administrator's DN is allowed. Before, they were a 'console' operation and the owner got
    them."""
    conf = os.path.join(daemon.root, 'etc', 'corral', 'qemu.conf')
    os.makedirs(os.path.dirname(conf), exist_ok=True)
    with open(conf, 'w') as f:
        f.write('landlock = 0\n')  # hostile_qmp.py is Python: Landlock would not let it run
    pki = RemotePki(daemon.root, os.path.join(tmpdir_path, 'pki'))  # before the TLS listener starts
    ports = rules_and_tls(daemon, 'allow unix-uid=0 ops=*\n'
                                  'allow x509="C=GB,O=Test,CN=admin" ops=*\n'
                                  'allow x509="C=GB,O=Test,CN=owner" ops=read,lifecycle,config,console domains=mon-*\n'
                                  'deny any ops=*\n')
    directory = os.path.join(tmpdir_path, 'guest')
    os.makedirs(directory)
    os.chmod(directory, 0o755)
    emulator = hostile_qmp.install(directory, {})
    xml = os.path.join(directory, 'mon.xml')
    with open(xml, 'w') as f:
        f.write(f"<domain type='qemu'><name>mon-1</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
                f"<os><type arch='x86_64'>hvm</type></os><devices><emulator>{emulator}</emulator></devices></domain>")
    local = daemon.uri('qemu')
    assert virsh(local, 'define', xml).rc == 0
    r = virsh(local, 'start', 'mon-1')
    assert r.rc == 0, r.err

    def uri(name):
        return f'qemu+tls://127.0.0.1:{ports["tls"]}/system?pkipath={pki.client(name, f"C=GB,O=Test,CN={name}")}'

    owner, admin = uri('owner'), uri('admin')
    query = json.dumps({'execute': 'query-status'})
    try:
        # The owner runs its guest...
        assert virsh(owner, 'domstate', 'mon-1').out.strip() == 'running'
        assert virsh(owner, 'suspend', 'mon-1').rc == 0
        assert virsh(owner, 'resume', 'mon-1').rc == 0
        # ...but not its QEMU.
        for args in ([query], ['--hmp', 'info status']):
            r = virsh(owner, 'qemu-monitor-command', 'mon-1', *args)
            assert r.rc != 0, r.out
            assert ("access denied: 'admin' operation QEMU_DOMAIN_MONITOR_COMMAND on domain 'mon-1' is not allowed "
                    "for x509 client 'C=GB,O=Test,CN=owner'") in r.err, r.err
        r = virsh(admin, 'qemu-monitor-command', 'mon-1', query)
        assert r.rc == 0 and json.loads(r.out)['return']['status'] == 'running', r.out + r.err
        # The guest agent's raw commands run as root in the guest (guest-exec): admin too. This
        # guest has no agent channel, so the administrator gets past the rules to the driver.
        ping = '{"execute":"guest-ping"}'
        r = virsh(owner, 'qemu-agent-command', 'mon-1', ping)
        assert r.rc != 0 and ("access denied: 'admin' operation QEMU_DOMAIN_AGENT_COMMAND on domain 'mon-1' "
                              "is not allowed") in r.err, r.err
        r = virsh(admin, 'qemu-agent-command', 'mon-1', ping)
        assert r.rc != 0 and 'QEMU guest agent is not configured' in r.err, r.err
        # A DN the rules do not name is refused everything, passthrough included.
        stranger = uri('stranger')
        r = virsh(stranger, 'list', '--all')
        assert r.rc != 0 and 'access denied' in r.err and 'CN=stranger' in r.err, r.err
        r = virsh(stranger, 'qemu-monitor-command', 'mon-1', query)  # its lookup is refused first
        assert r.rc != 0 and 'running' not in r.out, r.out
    finally:
        virsh(local, 'destroy', 'mon-1')


def test_a_containers_namespaces_need_console_on_it(daemon, tmpdir_path, bin_dir):
    """Namespace descriptors are a shell in the container: an identity without console on it
    (root on the unix socket here, with `deny unix-uid=0 ops=console domains=locked-*`) is
    refused them, through virsh and corral, as is the read-only socket; the console of the same
    container is refused to it too; another container is entered."""
    rootfs = build_rootfs(os.path.join(tmpdir_path, 'rootfs'))
    rules_and_tls(daemon, 'deny unix-uid=0 ops=console domains=locked-*\n'
                          'allow any ops=*\n', tls=False)
    uri = daemon.uri('lxc')
    for name in ('locked-1', 'open-1'):
        path = os.path.join(tmpdir_path, name + '.xml')
        with open(path, 'w') as f:
            f.write(container_xml(name, rootfs))
        assert virsh(uri, 'define', path).rc == 0
        r = virsh(uri, 'start', name)
        assert r.rc == 0, r.err
    log = os.path.join(daemon.root, 'log', 'corral', 'lxc', 'locked-1.log')
    wait_for(lambda: os.path.exists(log) and 'devices=' in open(log).read(), timeout=60, what='locked-1 to start')
    try:
        denied = ("access denied: 'console' operation LXC_DOMAIN_OPEN_NAMESPACE on domain 'locked-1' is not "
                  "allowed for unix uid 0")
        r = virsh(uri, 'lxc-enter-namespace', 'locked-1', '--noseclabel', '--', '/bin/true')
        assert r.rc != 0 and denied in r.err, r.err
        r = corral(bin_dir, uri, 'lxc-enter-namespace', 'locked-1', '--', '/bin/true')
        assert r.rc != 0 and denied in r.err, r.err
        r = virsh(daemon.uri('lxc', readonly=True), 'lxc-enter-namespace', 'locked-1', '--noseclabel', '--',
                  '/bin/true')
        assert r.rc != 0 and 'read only' in r.err, r.err
        import libvirt
        conn = libvirt.open(uri)
        try:
            with pytest.raises(libvirt.libvirtError, match="'console' operation DOMAIN_OPEN_CONSOLE"):
                conn.lookupByName('locked-1').openConsole(None, conn.newStream(0), 0)
        finally:
            conn.close()
        r = corral(bin_dir, uri, 'lxc-enter-namespace', 'open-1', '--', '/bin/echo', 'inside')
        assert r.rc == 0 and 'inside' in r.out, r.err
    finally:
        for name in ('locked-1', 'open-1'):
            virsh(uri, 'destroy', name)
