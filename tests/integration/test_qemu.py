# SPDX-License-Identifier: LGPL-2.1-or-later
# The QEMU driver with real QEMU (TCG) and the tiny test guest, driven by the real virsh and
# python3-libvirt: lifecycle, ACPI power-off and reboot, panics, a QEMU that dies, daemon
# restart with running guests, broken definitions, taps on a bridge.
import os
import re
import signal
import subprocess
import threading
import time

from framework.event_loop import ensure_event_loop
from framework.qemu_fixtures import (guest_files, guest_xml, pytestmark, qemu, qemu_pids,  # noqa: F401
                                     serial_text, state, wait_for)
from framework.tools import virsh


def test_start_suspend_resume_destroy(qemu):
    serial = qemu.start_and_boot('life')
    assert state(qemu.uri, 'life') == 'running (booted)'
    info = virsh(qemu.uri, 'dominfo', 'life').out
    assert 'OS Type:        hvm' in info
    cpu = [line for line in info.splitlines() if line.startswith('CPU time:')][0]
    assert float(cpu.split()[-1].rstrip('s')) > 0

    assert virsh(qemu.uri, 'suspend', 'life').rc == 0
    assert state(qemu.uri, 'life') == 'paused (user)'
    frozen = serial_text(serial).count('counter')
    time.sleep(2.5)
    assert serial_text(serial).count('counter') == frozen, 'a paused guest kept running'
    assert virsh(qemu.uri, 'resume', 'life').rc == 0
    assert state(qemu.uri, 'life') == 'running (unpaused)'
    wait_for(lambda: serial_text(serial).count('counter') > frozen, what='the guest to run again')

    [pid] = qemu_pids('life')
    assert virsh(qemu.uri, 'destroy', 'life').rc == 0
    assert state(qemu.uri, 'life') == 'shut off (destroyed)'
    # Reaped at once: no process and no zombie left behind.
    assert not os.path.exists(f'/proc/{pid}')
    run_dir = os.path.join(qemu.daemon.root, 'run', 'corral', 'qemu')
    assert os.listdir(run_dir) == []


def test_acpi_shutdown_and_reboot(qemu):
    import libvirt
    ensure_event_loop()
    serial = qemu.start_and_boot('acpi')
    conn = libvirt.open(qemu.uri)
    rebooted = threading.Event()
    cb = conn.domainEventRegisterAny(conn.lookupByName('acpi'), libvirt.VIR_DOMAIN_EVENT_ID_REBOOT,
                                     lambda _c, dom, _o: rebooted.set(), None)
    try:
        assert virsh(qemu.uri, 'reboot', 'acpi').rc == 0
        wait_for(lambda: serial_text(serial).count('CORRAL-GUEST-READY') == 2, what='the guest to boot again')
        assert 'CORRAL-GUEST-POWEROFF' in serial_text(serial), 'reboot did not go through the guest'
        assert state(qemu.uri, 'acpi') == 'running (booted)'
        assert rebooted.wait(30), 'no reboot event'
    finally:
        conn.domainEventDeregisterAny(cb)
        conn.close()
    assert virsh(qemu.uri, 'shutdown', 'acpi').rc == 0
    wait_for(lambda: state(qemu.uri, 'acpi') == 'shut off (shutdown)', what='ACPI shutdown')
    assert qemu_pids('acpi') == []


def test_panic_preserve_is_crashed_then_destroy(qemu):
    qemu.start_and_boot('panicky', on_crash='preserve', cmdline_extra='corral.panic_after=1')
    wait_for(lambda: state(qemu.uri, 'panicky') == 'crashed (panicked)', what='the panic')
    assert len(qemu_pids('panicky')) == 1
    assert virsh(qemu.uri, 'destroy', 'panicky').rc == 0
    assert state(qemu.uri, 'panicky') == 'shut off (destroyed)'


def test_panic_destroy_is_shut_off_crashed(qemu):
    qemu.start_and_boot('panic2', cmdline_extra='corral.panic_after=1')
    wait_for(lambda: state(qemu.uri, 'panic2') == 'shut off (crashed)', what='the panic to stop the guest')
    assert qemu_pids('panic2') == []


def test_restart_actions_boot_the_guest_again(qemu):
    # on_poweroff=restart: the guest's power-off becomes a reset of the same QEMU.
    serial = qemu.start_and_boot('offr', on_poweroff='restart')
    [pid] = qemu_pids('offr')
    assert virsh(qemu.uri, 'shutdown', 'offr').rc == 0
    wait_for(lambda: serial_text(serial).count('CORRAL-GUEST-READY') == 2, what='the guest to boot again')
    assert state(qemu.uri, 'offr') == 'running (booted)' and qemu_pids('offr') == [pid]
    assert virsh(qemu.uri, 'destroy', 'offr').rc == 0

    # on_crash=rename-restart (as restart, like libvirt's libxl and test drivers): a new QEMU boots.
    serial = qemu.start_and_boot('crashr', on_crash='rename-restart', cmdline_extra='corral.panic_after=1')
    [first] = qemu_pids('crashr')
    wait_for(lambda: serial_text(serial).count('CORRAL-GUEST-READY') >= 2, what='a restart after the panic')
    wait_for(lambda: qemu_pids('crashr') not in ([], [first]), what='a new QEMU')
    assert virsh(qemu.uri, 'dominfo', 'crashr').rc == 0
    # It panics again after each boot (same kernel argument). A destroy that succeeds hits a
    # running instance, and no restart follows it; one that lands between two instances fails
    # ("not running") and is tried again.
    wait_for(lambda: virsh(qemu.uri, 'destroy', 'crashr').rc == 0, what='a destroy of a running instance')
    assert state(qemu.uri, 'crashr') == 'shut off (destroyed)'
    assert qemu_pids('crashr') == []


def test_qemu_killed_is_crashed_and_reported(qemu):
    import libvirt
    ensure_event_loop()
    qemu.define('victim')
    conn = libvirt.open(qemu.uri)
    events = []
    stopped = threading.Event()

    def callback(_conn, dom, event, detail, _opaque):
        events.append((dom.name(), event, detail))
        if event == libvirt.VIR_DOMAIN_EVENT_STOPPED:
            stopped.set()

    cb = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, callback, None)
    try:
        dom = conn.lookupByName('victim')
        dom.create()
        [pid] = qemu_pids('victim')
        os.kill(pid, signal.SIGKILL)
        assert stopped.wait(30), events
        assert ('victim', libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED) in events
        assert ('victim', libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_FAILED) in events
        assert dom.state() == [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_CRASHED]
    finally:
        conn.domainEventDeregisterAny(cb)
        conn.close()


def test_daemon_kill9_reconnects_running_guests(qemu):
    for name in ('keep1', 'keep2'):
        qemu.start_and_boot(name)
    assert virsh(qemu.uri, 'suspend', 'keep2').rc == 0
    ids = {n: virsh(qemu.uri, 'domid', n).out.strip() for n in ('keep1', 'keep2')}
    pids = {n: qemu_pids(n) for n in ('keep1', 'keep2')}
    qemu.daemon.kill9()
    qemu.daemon.start()
    for n in ('keep1', 'keep2'):
        assert virsh(qemu.uri, 'domid', n).out.strip() == ids[n]
        assert qemu_pids(n) == pids[n]
    assert state(qemu.uri, 'keep1') == 'running (booted)'
    assert state(qemu.uri, 'keep2') == 'paused (user)'
    # Managed again: the monitor answers and a power-off is seen by the new daemon.
    assert virsh(qemu.uri, 'resume', 'keep2').rc == 0
    assert virsh(qemu.uri, 'shutdown', 'keep1').rc == 0
    wait_for(lambda: state(qemu.uri, 'keep1') == 'shut off (shutdown)', what='shutdown after reconnect')
    assert virsh(qemu.uri, 'destroy', 'keep2').rc == 0
    assert qemu_pids('keep1') == [] and qemu_pids('keep2') == []


def qmp_while_daemon_down(qemu, name, command):
    """Runs one QMP command on the guest's monitor socket, which is free while no corrald holds it."""
    import json
    import socket
    path = os.path.join(qemu.daemon.root, 'run', 'corral', 'qemu', name + '.monitor')
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(path)
        stream = s.makefile('rw')
        json.loads(stream.readline())  # the greeting
        for execute in ('qmp_capabilities', command):
            stream.write(json.dumps({'execute': execute}) + '\n')
            stream.flush()
            while True:
                reply = json.loads(stream.readline())
                if 'return' in reply or 'error' in reply:
                    assert 'return' in reply, reply
                    break


def test_state_changed_while_daemon_down_is_believed(qemu):
    # Paused or resumed behind the daemon's back (here through QEMU's own monitor while no
    # corrald runs): the restarted daemon reports what the guest is, not what it recorded.
    qemu.start_and_boot('moved')
    qemu.daemon.kill9()
    qmp_while_daemon_down(qemu, 'moved', 'stop')
    qemu.daemon.start()
    assert state(qemu.uri, 'moved') == 'paused (unknown)'
    assert 'changed state while the daemon was down' in open(qemu.daemon.stderr_path).read()
    qemu.daemon.kill9()
    qmp_while_daemon_down(qemu, 'moved', 'cont')
    qemu.daemon.start()
    assert state(qemu.uri, 'moved') == 'running (unpaused)'
    # Recorded too: a second restart with no change keeps it.
    qemu.daemon.kill9()
    qemu.daemon.start()
    assert state(qemu.uri, 'moved') == 'running (unpaused)'
    assert virsh(qemu.uri, 'suspend', 'moved').rc == 0 and virsh(qemu.uri, 'destroy', 'moved').rc == 0


def test_guest_gone_while_daemon_down_is_shut_off(qemu):
    qemu.start_and_boot('gone')
    [pid] = qemu_pids('gone')
    qemu.daemon.kill9()
    os.kill(pid, signal.SIGKILL)
    qemu.daemon.start()
    assert state(qemu.uri, 'gone') == 'shut off (daemon)'


def test_transient_guest_disappears_after_destroy(qemu, tmpdir_path, guest_files):
    path = os.path.join(tmpdir_path, 't.xml')
    with open(path, 'w') as f:
        f.write(guest_xml('transient1', guest_files, os.path.join(tmpdir_path, 't.serial')))
    r = virsh(qemu.uri, 'create', path)
    assert r.rc == 0, r.err
    assert virsh(qemu.uri, 'dominfo', 'transient1').out.count('Persistent:     no') == 1
    assert virsh(qemu.uri, 'destroy', 'transient1').rc == 0
    assert 'failed to get domain' in virsh(qemu.uri, 'dominfo', 'transient1').err


def test_broken_definitions_are_refused_naming_the_element(qemu, write_file, guest_files):
    bad_machine = guest_xml('bad1', guest_files, '/dev/null', machine='isapc-nope')
    r = virsh(qemu.uri, 'define', write_file('b1.xml', bad_machine))
    assert r.rc == 1 and "machine='isapc-nope'" in r.err

    usb_disk = guest_xml('bad2', guest_files, '/dev/null',
                         extra_devices="<disk type='file' device='disk'><source file='/tmp/x.img'/>"
                                       "<target dev='sda' bus='usb'/></disk>")
    r = virsh(qemu.uri, 'define', write_file('b2.xml', usb_disk))
    assert r.rc == 1 and "target 'sda'" in r.err and "bus 'usb'" in r.err

    # What only QEMU can notice (a missing image) is reported with QEMU's own words.
    missing = guest_xml('bad3', guest_files, '/dev/null',
                        extra_devices="<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                                      "<source file='/nonexistent/disk.qcow2'/><target dev='vda' bus='virtio'/></disk>")
    assert virsh(qemu.uri, 'define', write_file('b3.xml', missing)).rc == 0
    r = virsh(qemu.uri, 'start', 'bad3')
    assert r.rc == 1
    assert '/nonexistent/disk.qcow2' in r.err and 'unexpectedly closed the monitor' not in r.err
    assert state(qemu.uri, 'bad3') == 'shut off (failed)'
    assert qemu_pids('bad3') == []
    virsh(qemu.uri, 'undefine', 'bad3')


def test_disks_of_every_bus_and_vnc(qemu, tmpdir_path):
    raw = os.path.join(tmpdir_path, 'data.raw')
    qcow = os.path.join(tmpdir_path, 'data.qcow2')
    subprocess.run(['qemu-img', 'create', '-f', 'raw', raw, '16M'], check=True, capture_output=True)
    subprocess.run(['qemu-img', 'create', '-f', 'qcow2', qcow, '16M'], check=True, capture_output=True)
    disks = (f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{qcow}'/>"
             f"<target dev='vda' bus='virtio'/></disk>"
             f"<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{raw}'/>"
             f"<target dev='sdb' bus='scsi'/><readonly/></disk>"
             f"<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/></disk>"
             f"<graphics type='vnc' autoport='yes'/><graphics type='spice' autoport='yes'/>")
    qemu.start_and_boot('disks', extra_devices=disks)
    blk = virsh(qemu.uri, 'domblklist', 'disks').out
    assert qcow in blk and raw in blk
    display = virsh(qemu.uri, 'vncdisplay', 'disks').out.strip()
    assert display.startswith('127.0.0.1:')
    port = 5900 + int(display.split(':')[1])
    import socket
    with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
        assert s.recv(12).startswith(b'RFB ')
    # SPICE took the next free port from 5900 up; the live XML shows it and QEMU listens there.
    live = virsh(qemu.uri, 'dumpxml', 'disks').out
    spice = live.split("<graphics type='spice'", 1)[1].split('>', 1)[0]
    spice_port = int(re.search(r" port='(\d+)'", spice).group(1))
    assert spice_port >= 5900 and spice_port != port and "listen='127.0.0.1'" in spice
    listeners = subprocess.run(['ss', '-Hltnp', f'sport = :{spice_port}'], capture_output=True, text=True).stdout
    assert 'qemu-system' in listeners, listeners


def test_tap_on_a_bridge(qemu):
    bridge = 'crlbr%d' % (os.getpid() % 10000)
    subprocess.run(['ip', 'link', 'add', bridge, 'type', 'bridge'], check=True)
    try:
        iface = (f"<interface type='bridge'><mac address='52:54:00:aa:bb:01'/><source bridge='{bridge}'/>"
                 f"<model type='virtio'/></interface>")
        qemu.define('tapped', extra_devices=iface)
        r = virsh(qemu.uri, 'start', 'tapped')
        assert r.rc == 0, r.err
        xml = virsh(qemu.uri, 'dumpxml', 'tapped').out
        tap = xml.split("<target dev='", 1)[1].split("'", 1)[0]
        links = subprocess.run(['ip', '-o', 'link', 'show', 'master', bridge], capture_output=True, text=True).stdout
        assert tap in links
        assert 'fe:54:00:aa:bb:01' in subprocess.run(['ip', 'link', 'show', tap], capture_output=True, text=True).stdout
        assert virsh(qemu.uri, 'destroy', 'tapped').rc == 0
        assert subprocess.run(['ip', 'link', 'show', tap], capture_output=True).returncode != 0
    finally:
        subprocess.run(['ip', 'link', 'del', bridge])

    r = virsh(qemu.uri, 'define', '/dev/stdin',
              input=guest_xml('nobridge', ('/boot/x', '/boot/y'), '/dev/null',
                              extra_devices="<interface type='bridge'><source bridge='nosuchbr0'/></interface>"))
    assert r.rc == 0
    r = virsh(qemu.uri, 'start', 'nobridge')
    assert r.rc == 1 and "bridge 'nosuchbr0' does not exist" in r.err
