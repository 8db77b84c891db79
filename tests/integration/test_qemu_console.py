# SPDX-License-Identifier: LGPL-2.1-or-later
# QEMU consoles: a <serial type='pty'> guest reached with python3-libvirt's openConsole, the real
# virsh console and corral console; what the guest writes arrives, what is typed reaches it. One
# client at a time as libvirt allows (a second is refused, --force takes over), the console
# reachable only through the daemon, working again after a daemon restart, and ending cleanly
# when the guest is destroyed.
import os
import socket
import stat
import xml.etree.ElementTree as ET

import libvirt
import pytest

from framework.console import StreamConsole, Terminal
from framework.qemu_fixtures import guest_files, pytestmark, qemu  # noqa: F401
from framework.tools import virsh

PTY_CONSOLE = ("<serial type='pty'><target port='0'/></serial>"
               "<console type='pty'><target type='serial' port='0'/></console>")


def start_with_pty_console(qemu, name, extra=''):
    qemu.define(name, serial_device=PTY_CONSOLE + extra)
    r = virsh(qemu.uri, 'start', name)
    assert r.rc == 0, r.err


def cannot_connect_as_nobody(path):
    """Connects to `path` as uid/gid 65534 in a child: True when that is refused."""
    pid = os.fork()
    if pid == 0:
        code = 2
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            code = 1
        except PermissionError:
            code = 0
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def test_python_console_reads_and_types_one_client_at_a_time_and_ends_with_the_guest(qemu):
    extra = "<serial type='null'><target port='1'/></serial>"
    start_with_pty_console(qemu, 'pycon', extra)
    conn = libvirt.open(qemu.uri)
    try:
        dom = conn.lookupByName('pycon')
        # The live definition says where the console is, for the serial port and the console on
        # it alike: a socket only root can reach, in a directory only root can enter.
        live = ET.fromstring(dom.XMLDesc(0))
        serial_path = live.find("devices/serial/source").get('path')
        assert live.find("devices/console/source").get('path') == serial_path
        st = os.stat(serial_path)
        assert stat.S_ISSOCK(st.st_mode) and st.st_uid == 0 and st.st_mode & 0o077 == 0, oct(st.st_mode)
        assert os.stat(os.path.dirname(serial_path)).st_mode & 0o077 == 0
        assert cannot_connect_as_nobody(serial_path), 'an unprivileged user reached the guest console'
        assert ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)).find("devices/serial/source") is None

        first = StreamConsole(conn, dom)
        assert first.wait_for(b'counter ', 120), bytes(first.received)
        assert first.type_until(b'typed-by-python\r', b'CORRAL-GUEST-ECHO typed-by-python'), bytes(first.received)

        # A second client is refused while the first is connected, as libvirt's QEMU driver does.
        with pytest.raises(libvirt.libvirtError, match='Active console session exists for this domain'):
            StreamConsole(conn, dom)
        # With force it takes over: the first one's stream ends, the new one reaches the guest.
        second = StreamConsole(conn, dom, flags=libvirt.VIR_DOMAIN_CONSOLE_FORCE)
        assert first.ended.wait(30), 'the forced-out console kept its stream'
        assert second.type_until(b'after-force\r', b'CORRAL-GUEST-ECHO after-force'), bytes(second.received)

        # Names as libvirt gives them; a device that is not a pty cannot be a console.
        with pytest.raises(libvirt.libvirtError, match='cannot find character device serial7'):
            StreamConsole(conn, dom, devname='serial7')
        with pytest.raises(libvirt.libvirtError, match='character device serial1 is not using a PTY'):
            StreamConsole(conn, dom, devname='serial1')

        # Destroying the guest ends the open console's stream cleanly (no error).
        assert virsh(qemu.uri, 'destroy', 'pycon').rc == 0
        assert second.ended.wait(30), 'the console stream outlived its guest'
        assert second.error is None, second.error
        assert not os.path.exists(serial_path), 'the console socket outlived its guest'
    finally:
        conn.close()


def test_virsh_and_corral_console_force_and_a_daemon_restart(qemu, bin_dir):
    start_with_pty_console(qemu, 'termcon')
    virsh_console = Terminal(['virsh', '-c', qemu.uri, 'console', 'termcon'])
    try:
        assert virsh_console.read_until(b'Escape character is ^]'), virsh_console.seen
        assert virsh_console.read_until(b'counter ', 120), virsh_console.seen
        assert virsh_console.type_until(b'typed-in-virsh\r', b'CORRAL-GUEST-ECHO typed-in-virsh'), virsh_console.seen

        # corral console without --force is refused while virsh has it; with --force it takes
        # over, and virsh's console ends.
        refused = Terminal([os.path.join(bin_dir, 'corral'), '-c', qemu.uri, 'console', 'termcon'])
        assert refused.exited(60) == 1, refused.seen
        assert b'Active console session exists for this domain' in refused.seen, refused.seen
        refused.close()
        forced = Terminal([os.path.join(bin_dir, 'corral'), '-c', qemu.uri, 'console', 'termcon', '--force'])
        try:
            assert forced.type_until(b'typed-in-corral\r', b'CORRAL-GUEST-ECHO typed-in-corral'), forced.seen
            assert virsh_console.exited(30) is not None, 'virsh kept a console that was taken over'
            forced.type_until(b'\x1d', b'\0never\0', timeout=1)
            assert forced.exited(30) == 0, forced.seen
        finally:
            forced.close()
    finally:
        virsh_console.close()

    # The daemon dies with a console open and comes back: the guest's console works again.
    conn = libvirt.open(qemu.uri)
    held = StreamConsole(conn, conn.lookupByName('termcon'))
    assert held.type_until(b'before-restart\r', b'CORRAL-GUEST-ECHO before-restart'), bytes(held.received)
    qemu.daemon.kill9()
    assert held.ended.wait(30)
    try:
        conn.close()
    except libvirt.libvirtError:
        pass
    qemu.daemon.start()
    again = Terminal(['virsh', '-c', qemu.uri, 'console', 'termcon'])
    try:
        assert again.type_until(b'after-restart\r', b'CORRAL-GUEST-ECHO after-restart'), again.seen
        again.type_until(b'\x1d', b'\0never\0', timeout=1)
        assert again.exited(30) == 0, again.seen
    finally:
        again.close()
    assert virsh(qemu.uri, 'destroy', 'termcon').rc == 0
