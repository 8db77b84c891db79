# SPDX-License-Identifier: LGPL-2.1-or-later
# Definitions in the store survive kill -9 and restarts; bad configuration stops the daemon
# with file, line and key named; a second daemon on the same root changes nothing; an emptied
# store is refused.
import os
import subprocess

import libvirt

from framework.daemon import CorralDaemon
from framework.qemu_fixtures import guest_files, qemu, qemu_pids, serial_text, state  # noqa: F401
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
    assert f"another daemon is already running on '{daemon.root}' (pid {daemon.pid})" in p.stderr, p.stderr
    assert daemon.alive()


def test_second_daemon_leaves_a_running_guest_and_the_first_daemon_alone(qemu, bin_dir):
    # Before: the second daemon reconnected to the first one's guests, failed ("cannot reconnect
    # ... stopping it"), killed every QEMU, and only then found the sockets taken.
    serial = qemu.start_and_boot('survivor')
    [pid] = qemu_pids('survivor')
    run_dir = os.path.join(qemu.daemon.root, 'run', 'corral')
    before = sorted(os.listdir(run_dir))
    store = os.path.join(qemu.daemon.root, 'lib', 'corral', 'corral.db')
    store_stat = os.stat(store)
    p = subprocess.run([os.path.join(bin_dir, 'corrald'), '--root', qemu.daemon.root], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 1
    assert f"another daemon is already running on '{qemu.daemon.root}' (pid {qemu.daemon.pid})" in p.stderr, p.stderr
    assert 'nothing was changed' in p.stderr
    assert 'cannot reconnect' not in p.stderr
    # Nothing changed: the guest runs on, its daemon still manages it, no file was touched.
    os.kill(pid, 0)
    assert qemu_pids('survivor') == [pid]
    assert state(qemu.uri, 'survivor') == 'running (booted)'
    assert sorted(os.listdir(run_dir)) == before
    assert (os.stat(store).st_ino, os.stat(store).st_mtime_ns) == (store_stat.st_ino, store_stat.st_mtime_ns)
    assert 'cannot reconnect' not in qemu.daemon.stderr()
    # And it still answers its monitor: the guest was not merely left running, it is managed.
    assert virsh(qemu.uri, 'suspend', 'survivor').rc == 0
    assert state(qemu.uri, 'survivor') == 'paused (user)'
    assert virsh(qemu.uri, 'resume', 'survivor').rc == 0
    assert 'CORRAL-GUEST-READY' in serial_text(serial)


def test_an_empty_store_file_is_refused_not_taken_for_a_new_install(bin_dir, tmpdir_path):
    root = os.path.join(tmpdir_path, 'emptied')
    state_dir = os.path.join(root, 'lib', 'corral')
    os.makedirs(state_dir)
    store = os.path.join(state_dir, 'corral.db')
    open(store, 'w').close()  # what a truncating copy or a repaired file system can leave
    p = subprocess.run([os.path.join(bin_dir, 'corrald'), '--root', root], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 1
    assert f"store '{store}' is empty (0 bytes)" in p.stderr and 'restore it from a backup' in p.stderr, p.stderr
    assert os.path.getsize(store) == 0
    # A root with no store at all is a new install: the store is created, whole.
    os.unlink(store)
    d = CorralDaemon(bin_dir, root)
    d.start()
    try:
        assert os.path.getsize(store) > 0 and not os.path.exists(store + '.new')
    finally:
        d.stop()


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
        assert again.stderr.count('another daemon is already running') == 1
    finally:
        os.kill(pid, signal.SIGTERM)
