# SPDX-License-Identifier: LGPL-2.1-or-later
# VNC display options a definition or qemu.conf sets, each checked by what QEMU does with it,
# from the wire with an RFB client of our own: passwdValidTo (a password past its time is
# refused even when right), sharePolicy (force-shared turns away a client asking for an
# exclusive session, which by default pushes the others out), <listen type='none'> (no port at all, the display still there for
# screenshots), keymap (QEMU's -k), and qemu.conf's remote_display_port_min/max (autoport stays
# in the range, and a start with no port left fails with libvirt's words). Attacks: a keymap
# that is a path, times that are not times, an expiry without a password, ranges below 5900 or
# upside down.
import os
import re
import socket
import struct

import pytest

from framework.qemu_fixtures import qemu_pids
from framework.tools import virsh
from test_graphics_tls import recv_exact, vnc_des_response

VNC_AUTH, NO_AUTH = 2, 1


def guest_xml(name, graphics):
    return (f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
            f"<os><type arch='x86_64'>hvm</type></os><devices>{graphics}</devices></domain>")


@pytest.fixture
def vnc(daemon, tmpdir_path):
    uri = daemon.uri('qemu')
    names = []

    class V:
        pass

    v = V()
    v.uri = uri

    def define(name, graphics):
        path = os.path.join(tmpdir_path, name + '.xml')
        with open(path, 'w') as f:
            f.write(guest_xml(name, graphics))
        r = virsh(uri, 'define', path)
        if r.rc == 0:
            names.append(name)
        return r

    def start(name, graphics):
        r = define(name, graphics)
        assert r.rc == 0, r.err
        r = virsh(uri, 'start', name)
        assert r.rc == 0, r.err
        m = re.search(r"<graphics [^>]*? port='(\d+)'", virsh(uri, 'dumpxml', name).out)
        return int(m.group(1)) if m else None

    def configure(text):
        conf = os.path.join(daemon.root, 'etc', 'corral', 'qemu.conf')
        os.makedirs(os.path.dirname(conf), exist_ok=True)
        with open(conf, 'w') as f:
            f.write(text)
        daemon.stop()
        daemon.start()

    v.define, v.start, v.configure, v.daemon = define, start, configure, daemon
    yield v
    if daemon.alive():
        for n in names:
            virsh(uri, 'destroy', n)


def rfb_security(port, shared=True):
    """Connects and speaks RFB 3.8 to the security types; returns (socket, types)."""
    s = socket.create_connection(('127.0.0.1', port), timeout=30)
    assert recv_exact(s, 12).startswith(b'RFB 003.')
    s.sendall(b'RFB 003.008\n')
    count = recv_exact(s, 1)[0]
    return s, list(recv_exact(s, count))


def vnc_password_result(port, password):
    """VNC authentication with `password`; QEMU's SecurityResult (0: accepted)."""
    s, types = rfb_security(port)
    try:
        assert types == [VNC_AUTH], types
        s.sendall(bytes([VNC_AUTH]))
        challenge = recv_exact(s, 16)
        s.sendall(vnc_des_response(password, challenge))
        (result,) = struct.unpack('>I', recv_exact(s, 4))
        return result
    finally:
        s.close()


def open_session(port, shared):
    """A client past ServerInit (no authentication), asking for a shared or exclusive session."""
    s, types = rfb_security(port)
    assert types == [NO_AUTH], types
    s.sendall(bytes([NO_AUTH]))
    assert recv_exact(s, 4) == b'\0\0\0\0'
    s.sendall(b'\x01' if shared else b'\x00')
    head = recv_exact(s, 24)
    (name_len,) = struct.unpack('>I', head[20:24])
    recv_exact(s, name_len)
    return s


def still_served(s):
    """True when the server still answers this client: a framebuffer update request gets one."""
    try:
        s.sendall(struct.pack('>BBHHHH', 3, 0, 0, 0, 8, 8))
        return len(s.recv(1)) == 1
    except OSError:
        return False


def test_a_password_past_passwdValidTo_is_refused_even_when_right(vnc):
    open_port = vnc.start('pwok', "<graphics type='vnc' autoport='yes' passwd='s3cret'/>")
    assert vnc_password_result(open_port, 's3cret') == 0
    assert vnc_password_result(open_port, 'wrong') != 0
    # A time long past (whatever today is): QEMU has the password but takes it no more.
    past = vnc.start('pwold', "<graphics type='vnc' autoport='yes' passwd='s3cret' "
                              "passwdValidTo='2001-02-03T04:05:06'/>")
    assert vnc_password_result(past, 's3cret') != 0
    kept = virsh(vnc.uri, 'dumpxml', '--security-info', 'pwold').out
    assert "passwdValidTo='2001-02-03T04:05:06'" in kept, kept


@pytest.mark.parametrize('graphics, refusal', [
    ("passwd='x' passwdValidTo='tomorrow'", "passwdValidTo='tomorrow'>: not a time"),
    ("passwd='x' passwdValidTo='2001-13-03T04:05:06'", 'not a time (YYYY-MM-DDTHH:MM:SS, in UTC)'),
    ("passwd='x' passwdValidTo='2001-02-03T04:05:06Z,x'", 'not a time'),
    ("passwdValidTo='2001-02-03T04:05:06'", "passwdValidTo>: needs a password"),
    ("sharePolicy='everyone'", "sharePolicy='everyone'>: not a share policy"),
    ("keymap='../../../etc/passwd'", "keymap='../../../etc/passwd'>: not a keymap name"),
    ("keymap='fr,x=y'", 'not a keymap name'),
])
def test_what_is_not_a_valid_option_is_refused_at_define(vnc, graphics, refusal):
    r = vnc.define('bad', f"<graphics type='vnc' autoport='yes' {graphics}/>")
    assert r.rc != 0 and refusal in r.err, r.err


def test_force_shared_turns_away_an_exclusive_client_instead_of_the_others(vnc):
    # QEMU's default (allow-exclusive): a client asking for an exclusive session ends the others.
    port = vnc.start('shdefault', "<graphics type='vnc' autoport='yes'/>")
    first = open_session(port, shared=True)
    second = open_session(port, shared=False)
    assert not still_served(first)
    assert still_served(second)
    first.close(), second.close()
    # force-shared: no exclusive session; QEMU turns away the client that asks for one, and the
    # others keep their sessions.
    port = vnc.start('shforced', "<graphics type='vnc' autoport='yes' sharePolicy='force-shared'/>")
    first = open_session(port, shared=True)
    with pytest.raises(ConnectionError):
        open_session(port, shared=False)
    assert still_served(first)
    first.close()


def test_listen_none_opens_no_port_and_keeps_the_display(vnc, tmpdir_path):
    port = vnc.start('nolisten', "<graphics type='vnc'><listen type='none'/></graphics>")
    assert port is None
    (pid,) = qemu_pids('nolisten')
    argv = open(f'/proc/{pid}/cmdline', 'rb').read().decode().split('\0')
    assert argv[argv.index('-vnc') + 1].split(',')[0] == 'none', argv
    # No TCP socket of that QEMU listens.
    inodes = {os.readlink(f'/proc/{pid}/fd/{fd}') for fd in os.listdir(f'/proc/{pid}/fd')}
    listening = set()
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        for line in open(table).read().splitlines()[1:]:
            fields = line.split()
            if fields[3] == '0A':  # LISTEN
                listening.add(f'socket:[{fields[9]}]')
    assert not inodes & listening
    # The display is there: a screenshot works.
    shot = os.path.join(tmpdir_path, 'nolisten.ppm')
    r = virsh(vnc.uri, 'screenshot', 'nolisten', shot)
    assert r.rc == 0 and open(shot, 'rb').read(2) == b'P6', r.err


def test_keymap_reaches_qemu_and_an_unknown_one_fails_the_start_by_name(vnc):
    vnc.start('kfr', "<graphics type='vnc' autoport='yes' keymap='fr'/>")
    (pid,) = qemu_pids('kfr')
    argv = open(f'/proc/{pid}/cmdline', 'rb').read().decode().split('\0')
    assert argv[argv.index('-k') + 1] == 'fr', argv
    assert vnc.define('knope', "<graphics type='vnc' autoport='yes' keymap='no-such-map'/>").rc == 0
    r = virsh(vnc.uri, 'start', 'knope')
    assert r.rc != 0 and 'no-such-map' in r.err, r.err


def free_range(width):
    """`width` consecutive free TCP ports on 127.0.0.1 above 6100, different per test process."""
    base = 6100 + (os.getpid() % 400) * 4
    for start in range(base, 9000, 4):
        ports = list(range(start, start + width))
        free = True
        for p in ports:
            s = socket.socket()
            try:
                s.bind(('127.0.0.1', p))
            except OSError:
                free = False
            finally:
                s.close()
        if free:
            return ports
    pytest.fail('no free range of ports')


@pytest.mark.daemon_log_errors(r'Unable to find an unused port')
def test_autoport_stays_in_qemu_confs_display_range(vnc):
    lo, hi = free_range(2)
    vnc.configure(f'remote_display_port_min = {lo}\nremote_display_port_max = {hi}\n')
    assert vnc.start('r1', "<graphics type='vnc' autoport='yes'/>") == lo
    assert vnc.start('r2', "<graphics type='vnc' autoport='yes'/>") == hi
    assert vnc.define('r3', "<graphics type='vnc' autoport='yes'/>").rc == 0
    r = virsh(vnc.uri, 'start', 'r3')
    assert r.rc != 0 and f"Unable to find an unused port in range 'display' ({lo}-{hi})" in r.err, r.err
    # A port given back at stop is given again.
    assert virsh(vnc.uri, 'destroy', 'r1').rc == 0
    assert virsh(vnc.uri, 'start', 'r3').rc == 0
    assert f"port='{lo}'" in virsh(vnc.uri, 'dumpxml', 'r3').out


@pytest.mark.parametrize('conf, refusal', [
    ('remote_display_port_min = 5000\n', 'remote_display_port_min: expected a port from 5900 to 65535'),
    ('remote_display_port_max = 70000\n', 'remote_display_port_max: expected a port from 5900 to 65535'),
    ('remote_display_port_min = 6000\nremote_display_port_max = 5990\n',
     'remote_display_port_min (6000) must not be greater than remote_display_port_max (5990)'),
])
def test_a_display_range_that_cannot_be_is_refused_at_daemon_start(vnc, conf, refusal):
    with pytest.raises(RuntimeError) as e:
        vnc.configure(conf)
    assert refusal in str(e.value), str(e.value)
    vnc.configure('')
