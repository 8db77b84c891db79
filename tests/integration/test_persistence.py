# SPDX-License-Identifier: LGPL-2.1-or-later
# Definitions in the store survive kill -9 and restarts; bad configuration stops the daemon
# with file, line and key named.
import os
import subprocess

import libvirt

from framework.daemon import CorralDaemon
from framework.tools import domain_xml, virsh


def test_definitions_survive_kill9(daemon):
    uri = daemon.uri('qemu')
    conn = libvirt.open(uri)
    uuids = {}
    for i in range(25):
        dom = conn.defineXML(domain_xml(f'vm{i:02d}', dtype='qemu'))
        uuids[dom.name()] = dom.UUIDString()
        if i % 3 == 0:
            dom.setAutostart(1)
    conn.lookupByName('vm24').undefine()
    del uuids['vm24']
    conn.close()
    daemon.kill9()
    daemon.start()
    conn = libvirt.open(uri)
    try:
        doms = {d.name(): d for d in conn.listAllDomains(0)}
        assert {n: d.UUIDString() for n, d in doms.items()} == uuids
        for name, dom in doms.items():
            autostart = int(name[2:]) % 3 == 0
            assert dom.autostart() == (1 if autostart else 0), name
            # The new daemon started the autostart ones (real QEMU guests), and only those.
            assert dom.isActive() == (1 if autostart else 0), name
    finally:
        for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            dom.destroy()
        conn.close()


def test_generated_uuid_and_mac_are_stable_across_restart(daemon, write_file):
    uri = daemon.uri('qemu')
    xml = domain_xml('net', dtype='qemu', extra_devices="<interface type='network'><source network='default'/></interface>")
    assert virsh(uri, 'define', write_file('n.xml', xml)).rc == 0
    before = virsh(uri, 'dumpxml', 'net').out
    assert "<mac address='52:54:00:" in before
    daemon.stop()
    daemon.start()
    assert virsh(uri, 'dumpxml', 'net').out == before


def test_drivers_keep_separate_lists(daemon, write_file):
    assert virsh(daemon.uri('lxc'), 'define', write_file('c.xml', domain_xml('ct', dtype='lxc'))).rc == 0
    assert virsh(daemon.uri('qemu'), 'list', '--all', '--name').out.split() == []
    assert virsh(daemon.uri('lxc'), 'list', '--all', '--name').out.split() == ['ct']
    daemon.kill9()
    daemon.start()
    assert virsh(daemon.uri('lxc'), 'list', '--all', '--name').out.split() == ['ct']


def test_unknown_config_key_stops_daemon(bin_dir, tmpdir_path):
    root = os.path.join(tmpdir_path, 'bad')
    d = CorralDaemon(bin_dir, root)
    d.write_config('listen_tls = 0\n\nlisten_tsl = 1\n')
    p = subprocess.run([os.path.join(bin_dir, 'corrald'), '--root', root], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert f'{root}/etc/corral/corrald.conf:3' in p.stderr
    assert "key 'listen_tsl'" in p.stderr


def test_bad_config_value_names_key_and_value(bin_dir, tmpdir_path):
    root = os.path.join(tmpdir_path, 'bad2')
    d = CorralDaemon(bin_dir, root)
    d.write_config('auth_unix_rw = "bogus"\n')
    p = subprocess.run([os.path.join(bin_dir, 'corrald'), '--root', root], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "corrald.conf:1: key 'auth_unix_rw': invalid value 'bogus'" in p.stderr


def test_second_daemon_on_same_root_is_refused(daemon, bin_dir):
    p = subprocess.run([os.path.join(bin_dir, 'corrald'), '--root', daemon.root], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode != 0
    assert 'another daemon is already listening' in p.stderr
    assert daemon.alive()


def test_sigterm_stops_cleanly(daemon):
    assert daemon.stop() == 0
    assert not os.path.exists(daemon.socket)


def test_daemonize_reports_ready_and_errors(bin_dir, tmpdir_path):
    import signal
    root = os.path.join(tmpdir_path, 'bg')
    corrald = os.path.join(bin_dir, 'corrald')
    p = subprocess.run([corrald, '-d', '--root', root], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    pid = int(open(os.path.join(root, 'run', 'corral', 'corrald.pid')).read())
    try:
        uri = f'test+unix:///default?socket={root}/run/corral/corral-sock'
        assert virsh(uri, 'list').rc == 0  # serving with its worker threads after the fork
        again = subprocess.run([corrald, '-d', '--root', root], capture_output=True, text=True, timeout=30)
        assert again.returncode == 1
        assert again.stderr.count('another daemon is already listening') == 1
    finally:
        os.kill(pid, signal.SIGTERM)
