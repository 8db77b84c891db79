# SPDX-License-Identifier: LGPL-2.1-or-later
# VNC over TLS with client certificates (qemu.conf vnc_tls, vnc_tls_x509_verify, vnc_password),
# checked from the wire with an RFB client of our own: what the server offers before TLS, who
# gets through the handshake, and the password behind it. Also where the server key lives.
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from framework.qemu_fixtures import qemu_pids
from framework.remote import RemotePki
from framework.tools import virsh

VENCRYPT = 19
X509_NONE, X509_VNC, X509_PLAIN = 260, 261, 262


def recv_exact(sock, n):
    data = b''
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f'closed after {len(data)} of {n} bytes')
        data += chunk
    return data


def vencrypt_offer(port):
    """Connects, speaks RFB 3.8 up to VeNCrypt's subtype list; returns (socket, security types,
    subtypes). The subtypes are empty when VeNCrypt is not among the types."""
    s = socket.create_connection(('127.0.0.1', port), timeout=30)
    version = recv_exact(s, 12)
    assert version.startswith(b'RFB 003.'), version
    s.sendall(b'RFB 003.008\n')
    count = recv_exact(s, 1)[0]
    types = list(recv_exact(s, count))
    if VENCRYPT not in types:
        return s, types, []
    s.sendall(bytes([VENCRYPT]))
    assert recv_exact(s, 2) == b'\x00\x02'
    s.sendall(b'\x00\x02')
    assert recv_exact(s, 1) == b'\x00'
    n = recv_exact(s, 1)[0]
    subtypes = list(struct.unpack(f'>{n}I', recv_exact(s, 4 * n)))
    return s, types, subtypes


def tls_session(port, subtype, pki, client_dir=None):
    """Selects `subtype`, completes the TLS handshake (with the client certificate of
    `client_dir`, or none) and returns the TLS socket."""
    s, _, subtypes = vencrypt_offer(port)
    assert subtype in subtypes, subtypes
    s.sendall(struct.pack('>I', subtype))
    assert recv_exact(s, 1) == b'\x01'
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(pki.ca_dir, 'cacert.pem'))
    if client_dir:
        ctx.load_cert_chain(os.path.join(client_dir, 'clientcert.pem'), os.path.join(client_dir, 'clientkey.pem'))
    t = ctx.wrap_socket(s, server_hostname='127.0.0.1')
    return t


def vnc_des_response(password, challenge):
    # VNC authentication: DES-ECB of the challenge, keyed by the password with each byte's bits
    # in reverse order (RFC 6143 7.2.2 and its erratum).
    key = bytes(int(f'{b:08b}'[::-1], 2) for b in password.encode()[:8].ljust(8, b'\0'))
    enc = Cipher(algorithms.TripleDES(key * 3), modes.ECB()).encryptor()
    return enc.update(challenge) + enc.finalize()


def only_pid(name):
    pids = qemu_pids(name)
    assert len(pids) == 1, pids
    return pids[0]


def server_init(t):
    """ClientInit (shared), then the ServerInit's desktop name."""
    t.sendall(b'\x01')
    head = recv_exact(t, 24)
    (name_len,) = struct.unpack('>I', head[20:24])
    return recv_exact(t, name_len).decode()


@pytest.fixture
def tls_vnc(daemon, tmpdir_path):
    pki = RemotePki(daemon.root, tmpdir_path)
    certs = os.path.join(tmpdir_path, 'vnc-pki')
    os.makedirs(certs)
    shutil.copy(os.path.join(pki.ca_dir, 'cacert.pem'), os.path.join(certs, 'ca-cert.pem'))
    shutil.copy(os.path.join(pki.server_dir, 'servercert.pem'), os.path.join(certs, 'server-cert.pem'))
    shutil.copy(os.path.join(pki.server_dir, 'private', 'serverkey.pem'), os.path.join(certs, 'server-key.pem'))
    os.chmod(os.path.join(certs, 'server-key.pem'), 0o600)
    conf = os.path.join(daemon.root, 'etc', 'corral', 'qemu.conf')
    os.makedirs(os.path.dirname(conf), exist_ok=True)

    def configure(extra=''):
        with open(conf, 'w') as f:
            f.write(f'vnc_tls = 1\nvnc_tls_x509_cert_dir = "{certs}"\n'
                    f'spice_tls = 1\nspice_tls_x509_cert_dir = "{certs}"\n{extra}')
        daemon.stop()
        daemon.start()

    def start(name, graphics="<graphics type='vnc' autoport='yes'/>"):
        xml = os.path.join(tmpdir_path, name + '.xml')
        with open(xml, 'w') as f:
            f.write(f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
                    "<os><type arch='x86_64'>hvm</type></os>"
                    f"<devices>{graphics}</devices></domain>")
        uri = daemon.uri('qemu')
        assert virsh(uri, 'define', xml).rc == 0
        r = virsh(uri, 'start', name)
        assert r.rc == 0, r.err
        dumped = virsh(uri, 'dumpxml', name).out
        if 'spice' in graphics:
            return dumped
        return int(re.search(r"<graphics [^>]*? port='(\d+)'", dumped).group(1))

    class T:
        pass

    t = T()
    t.pki, t.certs, t.configure, t.start, t.daemon = pki, certs, configure, start, daemon
    yield t
    for name in ('tls', 'pw', 'spice', 'spicesecure'):
        virsh(daemon.uri('qemu'), 'destroy', name)


def test_vnc_with_tls_offers_only_x509_vencrypt_and_refuses_clients_without_a_certificate(tls_vnc):
    tls_vnc.configure()
    port = tls_vnc.start('tls')
    # Before TLS: VeNCrypt alone (no None, no plain VNC authentication), x509 subtypes alone.
    s, types, subtypes = vencrypt_offer(port)
    s.close()
    assert types == [VENCRYPT], types
    assert subtypes and set(subtypes) <= {X509_NONE, X509_VNC, X509_PLAIN}, subtypes
    # No client certificate: the server ends the handshake.
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        t = tls_session(port, X509_NONE, tls_vnc.pki)
        server_init(t)
    # A certificate from a CA the server does not trust: refused too.
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        t = tls_session(port, X509_NONE, tls_vnc.pki, tls_vnc.pki.foreign_client('stranger', 'C=GB,O=X,CN=stranger'))
        server_init(t)
    # The CA's client gets the screen.
    t = tls_session(port, X509_NONE, tls_vnc.pki, tls_vnc.pki.client('viewer', 'C=GB,O=Test,CN=viewer'))
    assert recv_exact(t, 4) == b'\x00\x00\x00\x00'  # SecurityResult: OK
    assert 'tls' in server_init(t)
    t.close()


def websocket_upgrade(port, pki, client_dir=None):
    """A TLS connection to a websocket port and an HTTP upgrade request; the answer's status line."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(pki.ca_dir, 'cacert.pem'))
    if client_dir:
        ctx.load_cert_chain(os.path.join(client_dir, 'clientcert.pem'), os.path.join(client_dir, 'clientkey.pem'))
    raw = socket.create_connection(('127.0.0.1', port), timeout=30)
    t = ctx.wrap_socket(raw, server_hostname='127.0.0.1')
    try:
        t.sendall(b'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
                  b'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'
                  b'Sec-WebSocket-Protocol: binary\r\n\r\n')
        answer = t.recv(200)
        if not answer:
            raise ConnectionError('closed')
        return answer.split(b'\r\n', 1)[0].decode()
    finally:
        t.close()


def test_the_websocket_speaks_tls_with_the_displays_certificates(tls_vnc):
    # noVNC's way in (docs/graphics.md) is held to the same rules as the display: TLS, and a
    # client certificate signed by the CA.
    tls_vnc.configure()
    tls_vnc.start('tls', "<graphics type='vnc' autoport='yes' websocket='-1'/>")
    ws = int(re.search(r"<graphics [^>]*?websocket='(\d+)'", virsh(tls_vnc.daemon.uri('qemu'), 'dumpxml', 'tls').out)
             .group(1))
    # In the clear: no websocket handshake is answered.
    plain = socket.create_connection(('127.0.0.1', ws), timeout=30)
    plain.sendall(b'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
    try:
        assert not plain.recv(200).startswith(b'HTTP/1.1 101')
    except OSError:
        pass
    finally:
        plain.close()
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        websocket_upgrade(ws, tls_vnc.pki)
    viewer = tls_vnc.pki.client('viewer', 'C=GB,O=Test,CN=viewer')
    assert websocket_upgrade(ws, tls_vnc.pki, viewer) == 'HTTP/1.1 101 Switching Protocols'


def test_without_verification_a_client_needs_no_certificate(tls_vnc):
    # The refusal above is the verification's doing: turned off, the same client gets through.
    tls_vnc.configure('vnc_tls_x509_verify = 0\n')
    port = tls_vnc.start('tls')
    t = tls_session(port, X509_NONE, tls_vnc.pki)
    assert recv_exact(t, 4) == b'\x00\x00\x00\x00'
    assert 'tls' in server_init(t)
    t.close()


def test_the_server_key_is_a_copy_only_the_guests_qemu_reads_and_it_goes_at_stop(tls_vnc):
    tls_vnc.configure()
    tls_vnc.start('tls')
    staged = os.path.join(tls_vnc.daemon.root, 'run', 'corral', 'qemu')
    dirs = [d for d in os.listdir(staged) if d.endswith('.vnc-tls')]
    assert len(dirs) == 1, os.listdir(staged)
    key = os.path.join(staged, dirs[0], 'server-key.pem')
    st = os.stat(key)
    qemu_uid = [int(line.split()[1]) for line in open(f'/proc/{only_pid("tls")}/status')
                if line.startswith('Uid:')][0]
    assert st.st_uid == qemu_uid and qemu_uid != 0, (st.st_uid, qemu_uid)
    assert st.st_mode & 0o777 == 0o400, oct(st.st_mode)
    # The administrator's file is untouched: still root's, still 0600.
    original = os.stat(os.path.join(tls_vnc.certs, 'server-key.pem'))
    assert original.st_uid == 0 and original.st_mode & 0o777 == 0o600
    # The run directory above it admits no guest by name (QEMU reaches the copy by descriptor).
    assert os.stat(staged).st_mode & 0o077 == 0, oct(os.stat(staged).st_mode)
    assert virsh(tls_vnc.daemon.uri('qemu'), 'destroy', 'tls').rc == 0
    assert not os.path.exists(os.path.join(staged, dirs[0]))


def test_vnc_password_from_qemu_conf_is_asked_after_tls(tls_vnc):
    tls_vnc.configure('vnc_password = "s3cret-pw"\n')
    port = tls_vnc.start('pw')
    s, types, subtypes = vencrypt_offer(port)
    s.close()
    assert types == [VENCRYPT] and subtypes == [X509_VNC], (types, subtypes)
    viewer = tls_vnc.pki.client('viewer', 'C=GB,O=Test,CN=viewer')
    for password, accepted in (('wrong', False), ('s3cret-pw', True)):
        t = tls_session(port, X509_VNC, tls_vnc.pki, viewer)
        challenge = recv_exact(t, 16)
        t.sendall(vnc_des_response(password, challenge))
        result = struct.unpack('>I', recv_exact(t, 4))[0]
        assert (result == 0) == accepted, (password, result)
        if accepted:
            assert 'pw' in server_init(t)
        t.close()
    # The password is on no command line.
    with open(f'/proc/{only_pid("pw")}/cmdline', 'rb') as f:
        assert b's3cret-pw' not in f.read()


def test_vnc_tls_without_its_certificates_stops_the_daemon_naming_the_file(tls_vnc):
    os.unlink(os.path.join(tls_vnc.certs, 'server-key.pem'))
    with pytest.raises(RuntimeError) as failed:
        tls_vnc.configure()
    assert f"vnc_tls = 1 needs '{tls_vnc.certs}/server-key.pem'" in str(failed.value)
    conf = os.path.join(tls_vnc.daemon.root, 'etc', 'corral', 'qemu.conf')
    os.unlink(conf)
    tls_vnc.daemon.start()


def gnutls_handshake(port, ca):
    r = subprocess.run(['gnutls-cli', '--x509cafile', ca, '--port', str(port), '127.0.0.1'],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    return 'Handshake was completed' in r.stdout, r.stdout + r.stderr


def attr(xml, name):
    found = re.search(rf"<graphics [^>]*? {name}='(-?\d+)'", xml)
    return int(found.group(1)) if found else None


def test_spice_tls_port_completes_a_handshake_with_the_ca_and_secure_mode_leaves_no_plain_port(tls_vnc):
    tls_vnc.configure()
    ca = os.path.join(tls_vnc.pki.ca_dir, 'cacert.pem')
    # defaultMode any: a plain port and a TLS port, each allocated.
    dumped = tls_vnc.start('spice', "<graphics type='spice' autoport='yes'/>")
    plain, tls = attr(dumped, 'port'), attr(dumped, 'tlsPort')
    assert plain and tls and plain != tls, dumped
    completed, out = gnutls_handshake(tls, ca)
    assert completed, out
    # The TLS port's certificate is the CA's: a client trusting another CA refuses it.
    tls_vnc.pki.foreign_client('stranger', 'C=GB,O=X,CN=stranger')
    completed, out = gnutls_handshake(tls, os.path.join(tls_vnc.pki.other_ca, 'cacert.pem'))
    assert not completed, out
    # defaultMode secure: every channel over TLS, no plain port anywhere.
    dumped = tls_vnc.start('spicesecure', "<graphics type='spice' autoport='yes' defaultMode='secure'/>")
    tls = attr(dumped, 'tlsPort')
    assert tls and attr(dumped, 'port') in (None, -1), dumped
    with open(f'/proc/{only_pid("spicesecure")}/cmdline', 'rb') as f:
        argv = f.read().split(b'\0')
    spice = argv[argv.index(b'-spice') + 1].decode()
    assert 'tls-channel=default' in spice and not re.search(r'(^|,)port=', spice), spice
    completed, out = gnutls_handshake(tls, ca)
    assert completed, out


@pytest.mark.parametrize('graphics,refusal', [
    ("defaultMode='secure'", "<graphics type='spice'>: a secure channel needs spice_tls = 1 in qemu.conf"),
    ("tlsPort='5999'", "<graphics type='spice' tlsPort='5999'>: needs spice_tls = 1 in qemu.conf"),
])
def test_without_spice_tls_what_asks_for_tls_is_refused_at_define(daemon, tmpdir_path, graphics, refusal):
    xml = os.path.join(tmpdir_path, 'secure.xml')
    with open(xml, 'w') as f:
        f.write("<domain type='qemu'><name>secure</name><memory unit='MiB'>64</memory>"
                "<os><type arch='x86_64'>hvm</type></os><devices>"
                f"<graphics type='spice' autoport='yes' {graphics}/></devices></domain>")
    r = virsh(daemon.uri('qemu'), 'define', xml)
    assert r.rc != 0 and f'unsupported configuration: {refusal}' in r.err, r
    assert virsh(daemon.uri('qemu'), 'domstate', 'secure').rc != 0  # nothing was defined
