# SPDX-License-Identifier: LGPL-2.1-or-later
# Remote management over TLS with client certificates and over SASL, with the real virsh and
# python3-libvirt as clients: what is accepted, what is refused (and audited), and that
# unauthenticated connections cannot crowd out authenticated clients.
import base64
import hashlib
import hmac
import os
import re
import shutil
import socket
import sqlite3
import struct
import subprocess
import time

import pytest

from framework.remote import RemotePki, auth_file, remote_config, sasl_setup
from framework.tools import virsh

pytestmark = pytest.mark.skipif(not os.path.exists('/usr/bin/certtool') or not os.path.exists('/usr/sbin/saslpasswd2'),
                                reason='gnutls-bin and sasl2-bin are needed (scripts/setup.sh installs them)')
# For the tests whose virsh calls build on each other: test:///default goes back to its
# fixtures when its last connection closes.
holds_test_state = pytest.mark.usefixtures('held_test_state')


@pytest.fixture
def pki(daemon, tmpdir_path):
    return RemotePki(daemon.root, os.path.join(tmpdir_path, 'pki'))


def tls_uri(port, pkipath, driver='test', path='/default', **extra):
    params = '&'.join([f'pkipath={pkipath}'] + [f'{k}={v}' for k, v in extra.items()])
    return f'{driver}+tls://127.0.0.1:{port}{path}?{params}'


def audit_rows(daemon, until=lambda rows: True, timeout=10):
    """The daemon's 'auth' audit rows, once `until` holds for them (or after `timeout` s): a
    refused client may exit on the TLS alert or the error before the daemon has written its row."""
    deadline = time.monotonic() + timeout
    while True:
        db = sqlite3.connect(os.path.join(daemon.root, 'lib', 'corral', 'corral.db'))
        try:
            rows = db.execute("SELECT subject, object, detail, success FROM audit WHERE kind = 'auth' "
                              "ORDER BY rowid").fetchall()
        finally:
            db.close()
        if until(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


@holds_test_state
def test_virsh_over_tls_with_a_client_certificate(daemon, pki):
    ports = remote_config(daemon, 'tls_allowed_dn_list = ["C=GB,O=Test,CN=client*"]\n')
    good = pki.client('good', 'C=GB,O=Test,CN=client1')
    r = virsh(tls_uri(ports['tls'], good), 'list', '--all')
    assert r.rc == 0, r.err + daemon.stderr()
    assert ' test ' in r.out and 'running' in r.out
    assert virsh(tls_uri(ports['tls'], good), 'suspend', 'test').rc == 0
    # python3-libvirt too, through the same files.
    import libvirt
    conn = libvirt.open(tls_uri(ports['tls'], good))
    try:
        assert conn.lookupByName('test').state()[0] == libvirt.VIR_DOMAIN_PAUSED
    finally:
        conn.close()
    assert any(row[0] == 'C=GB,O=Test,CN=client1' and row[1].startswith('tls 127.0.0.1;') and row[3] == 1
               for row in audit_rows(daemon))


@holds_test_state
def test_corral_over_tls(daemon, pki, bin_dir):
    from framework.tools import corral
    ports = remote_config(daemon)
    good = pki.client('good', 'C=GB,O=Test,CN=client1')
    r = corral(bin_dir, tls_uri(ports['tls'], good), 'list', '--all')
    assert r.rc == 0, r.err + daemon.stderr()
    assert ' test ' in r.out
    assert corral(bin_dir, tls_uri(ports['tls'], good), 'suspend', 'test').rc == 0
    assert virsh(daemon.uri(), 'domstate', 'test').out.strip() == 'paused'
    # A client that does not trust the server's CA refuses it, unless told not to check.
    distrust = pki.client('distrust', 'C=GB,O=Test,CN=client1')
    pki.foreign_client('unused', 'C=GB,O=Test,CN=x')  # makes the other CA
    shutil.copy(os.path.join(pki.other_ca, 'cacert.pem'), os.path.join(distrust, 'cacert.pem'))
    r = corral(bin_dir, tls_uri(ports['tls'], distrust), 'list')
    assert r.rc != 0 and 'certificate' in r.err, r.err
    r = corral(bin_dir, tls_uri(ports['tls'], distrust, no_verify=1, no_sanity=1), 'list')
    assert r.rc == 0, r.err


def gnutls_mapped(pid):
    with open(f'/proc/{pid}/maps') as f:
        return 'libgnutls' in f.read()


def loaded_gnutls(run_result):
    """Whether the dynamic loader opened GnuTLS in a program run with LD_DEBUG=files."""
    return re.search(r'file=libgnutls\.so', run_result.err) is not None


@holds_test_state
def test_gnutls_is_mapped_only_once_tls_is_set_up(daemon, pki, bin_dir):
    # README: "GnuTLS is opened only when TLS is set up" (docs/remote.md: a daemon serving unix
    # sockets never maps it). Calls that go through the RPC layer, the event and auth code first.
    from framework.tools import corral
    for args in (['list', '--all'], ['dominfo', 'test'], ['suspend', 'test'], ['resume', 'test']):
        assert virsh(daemon.uri(), *args).rc == 0
    assert virsh(daemon.uri(readonly=True), 'list', readonly=True).rc == 0
    assert not gnutls_mapped(daemon.pid)
    # The client, too: over a unix socket it never opens GnuTLS.
    local = corral(bin_dir, daemon.uri(), 'list', '--all', env={'LD_DEBUG': 'files'})
    assert local.rc == 0 and ' test ' in local.out, local.err[-2000:]
    assert 'file=libc.so' in local.err  # LD_DEBUG did report what was loaded
    assert not loaded_gnutls(local)

    # A TLS listener: the daemon opens GnuTLS at start; a qemu+tls:// client opens it to connect.
    ports = remote_config(daemon)  # ready: the unix sockets listen only after TLS is set up
    assert gnutls_mapped(daemon.pid)
    good = pki.client('good', 'C=GB,O=Test,CN=client1')
    remote = corral(bin_dir, tls_uri(ports['tls'], good), 'list', '--all', env={'LD_DEBUG': 'files'})
    assert remote.rc == 0 and ' test ' in remote.out, remote.err[-2000:]
    assert loaded_gnutls(remote)


def test_tls_refuses_bad_client_certificates(daemon, pki, tmpdir_path):
    ports = remote_config(daemon, 'tls_allowed_dn_list = ["C=GB,O=Test,CN=client*"]\n')
    cases = {
        'untrusted CA': pki.foreign_client('foreign', 'C=GB,O=Test,CN=client2'),
        'expired': pki.client('expired', 'C=GB,O=Test,CN=client3', '--valid-from', '2020-01-01 00:00:00 UTC',
                              '--valid-until', '2021-01-01 00:00:00 UTC'),
        'DN not allowed': pki.client('intruder', 'C=GB,O=Evil,CN=intruder'),
    }
    nocert = os.path.join(tmpdir_path, 'nocert')
    os.makedirs(nocert)
    with open(os.path.join(pki.ca_dir, 'cacert.pem')) as src, open(os.path.join(nocert, 'cacert.pem'), 'w') as dst:
        dst.write(src.read())
    cases['no client certificate'] = nocert
    for why, pkipath in cases.items():
        # no_sanity: virsh would refuse its own expired or foreign certificate before
        # connecting; here the daemon must be the one refusing.
        r = virsh(tls_uri(ports['tls'], pkipath, no_sanity=1), 'list', '--all')
        assert r.rc != 0, why
        assert 'TLS' in r.err or 'certificate' in r.err, (why, r.err)
    log = daemon.stderr()
    assert 'intruder' in log  # the refused DN is named in the daemon's log
    refused = [row[2] for row in audit_rows(daemon, lambda rows: sum(r[3] == 0 for r in rows) >= 4) if row[3] == 0]
    assert len(refused) == 4, refused
    for reason in ('expired', 'intruder', 'no certificate', 'not signed by a trusted CA'):
        assert any(reason in r for r in refused), (reason, refused)
    assert virsh(daemon.uri(), 'domstate', 'test').out.strip() == 'running'  # nothing happened


def test_a_revoked_client_certificate_is_refused(daemon, pki):
    good = pki.client('good', 'C=GB,O=Test,CN=client1')
    revoked = pki.client('revoked', 'C=GB,O=Test,CN=client9')
    pki.revoke(revoked)
    ports = remote_config(daemon)  # the CRL beside the CA is picked up at start
    assert virsh(tls_uri(ports['tls'], good), 'list').rc == 0
    r = virsh(tls_uri(ports['tls'], revoked), 'list')
    assert r.rc != 0
    def refusal_recorded(rows):
        return any('revoked' in row[2] and row[0] == 'C=GB,O=Test,CN=client9' for row in rows)
    assert refusal_recorded(audit_rows(daemon, refusal_recorded)), audit_rows(daemon)


def test_a_readable_server_key_is_refused_at_start(daemon, pki):
    key = os.path.join(pki.server_dir, 'private', 'serverkey.pem')
    os.chmod(key, 0o644)
    daemon.stop()
    daemon.write_config('listen_tls = 1\nlisten_addr = "127.0.0.1"\ntls_port = "1"\n')
    p = subprocess.run([os.path.join(daemon.bin_dir, 'corrald'), '--root', daemon.root], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode != 0
    assert key in p.stderr and 'chmod 600' in p.stderr, p.stderr


def test_sasl_scram_over_tls(daemon, pki, tmpdir_path):
    sasl_setup(daemon.root, {'alice': 'right horse battery', 'bob': 'staple'})
    ports = remote_config(daemon, 'auth_tls = "sasl"\nsasl_allowed_username_list = ["alice"]\n')
    client = pki.client('c', 'C=GB,O=Test,CN=client1')
    uri = tls_uri(ports['tls'], client)
    ok = virsh(uri, 'list', '--all', env={'LIBVIRT_AUTH_FILE': auth_file(tmpdir_path, 'alice', 'right horse battery')})
    assert ok.rc == 0, ok.err + daemon.stderr()
    assert ' test ' in ok.out
    wrong = virsh(uri, 'list', env={'LIBVIRT_AUTH_FILE': auth_file(tmpdir_path, 'alice', 'wrong')})
    assert wrong.rc != 0 and 'authentication failed' in wrong.err, wrong.err
    # bob's password is right, but he is not on sasl_allowed_username_list.
    bob = virsh(uri, 'list', env={'LIBVIRT_AUTH_FILE': auth_file(tmpdir_path, 'bob', 'staple')})
    assert bob.rc != 0 and 'authentication failed' in bob.err, bob.err
    # corral too, with the same auth file.
    from framework.tools import corral
    env = {'LIBVIRT_AUTH_FILE': auth_file(tmpdir_path, 'alice', 'right horse battery')}
    r = corral(daemon.bin_dir, uri, 'list', '--all', env=env)
    assert r.rc == 0 and ' test ' in r.out, r.err
    r = corral(daemon.bin_dir, uri, 'list', env={'LIBVIRT_AUTH_FILE': auth_file(tmpdir_path, 'alice', 'nope')})
    assert r.rc != 0 and 'authentication failed' in r.err, r.err
    rows = audit_rows(daemon, lambda rows: sum(r[3] == 0 for r in rows) >= 2)
    assert any(r[0] == 'alice' and r[3] == 1 and 'SCRAM-SHA-256' in r[2] for r in rows), rows
    assert sum(1 for r in rows if r[3] == 0) >= 2, rows


def test_plain_tcp_offers_only_mechanisms_with_a_security_layer(daemon, tmpdir_path):
    sasl_setup(daemon.root, {'alice': 'pw-of-alice'})
    # SCRAM has no security layer: over plain TCP nothing may be offered...
    ports = remote_config(daemon, tls=False, tcp=True)
    uri = f'test+tcp://127.0.0.1:{ports["tcp"]}/default'
    env = {'LIBVIRT_AUTH_FILE': auth_file(tmpdir_path, 'alice', 'pw-of-alice')}
    r = virsh(uri, 'list', env=env)
    assert r.rc != 0, r.out
    # ...until the deprecated DIGEST-MD5, which has one, is explicitly allowed: then the whole
    # session runs inside its layer.
    ports = remote_config(daemon, 'sasl_allow_digest_md5 = 1\n', tls=False, tcp=True)
    uri = f'test+tcp://127.0.0.1:{ports["tcp"]}/default'
    r = virsh(uri, 'list', '--all', env=env)
    assert r.rc == 0, r.err + daemon.stderr()
    assert ' test ' in r.out
    assert 'DIGEST-MD5' in daemon.stderr()  # the warning about the deprecated mechanism
    # corral inside the same layer: a few calls both ways, an event-free session.
    from framework.tools import corral
    r = corral(daemon.bin_dir, uri, 'dominfo', 'test', env=env)
    assert r.rc == 0 and 'Name:           test' in r.out, r.err


def test_unauthenticated_connections_do_not_stop_authenticated_clients(daemon, pki):
    ports = remote_config(daemon, 'auth_deadline = 3\nmax_anonymous_clients = 20\n')
    good = pki.client('good', 'C=GB,O=Test,CN=client1')
    import libvirt
    conn = libvirt.open(tls_uri(ports['tls'], good))
    idle = []
    try:
        for _ in range(300):
            s = socket.socket()
            s.connect(('127.0.0.1', ports['tls']))
            idle.append(s)
        # The authenticated connection keeps working, and so does the local socket.
        for _ in range(20):
            assert conn.lookupByName('test').isActive() == 1
        assert virsh(daemon.uri(), 'domstate', 'test').out.strip() == 'running'
        # Past the authentication deadline the idle ones are gone and new clients get in.
        time.sleep(5)
        r = virsh(tls_uri(ports['tls'], good), 'domstate', 'test')
        assert r.rc == 0, r.err
    finally:
        for s in idle:
            s.close()
        conn.close()


def access_rules(daemon, text):
    """Writes ROOT/etc/corral/access.conf and restarts the daemon with it: (path, ports)."""
    rules = os.path.join(daemon.root, 'etc', 'corral', 'access.conf')
    os.makedirs(os.path.dirname(rules), exist_ok=True)
    with open(rules, 'w') as f:
        f.write(text)
    return rules, remote_config(daemon, 'access_rules_file = "access.conf"\n')


@holds_test_state
def test_access_rules_by_certificate_and_by_unix_uid(daemon, pki, tmpdir_path):
    rules, ports = access_rules(daemon, '# operators may look and start/stop; other Test clients nothing\n'
                                        'allow x509="C=GB,O=Test,CN=operator*" ops=read,lifecycle\n'
                                        'deny  x509="C=GB,O=Test,CN=*" ops=*\n'
                                        'deny  unix-uid=0 ops=lifecycle domains=prod-*\n')
    operator = tls_uri(ports['tls'], pki.client('op', 'C=GB,O=Test,CN=operator1'))
    viewer = tls_uri(ports['tls'], pki.client('viewer', 'C=GB,O=Test,CN=viewer1'))
    assert virsh(operator, 'suspend', 'test').rc == 0
    assert virsh(operator, 'resume', 'test').rc == 0
    xml = os.path.join(tmpdir_path, 'prod.xml')
    with open(xml, 'w') as f:
        f.write("<domain type='test'><name>prod-db</name><memory>65536</memory><os><type>hvm</type></os></domain>")
    r = virsh(operator, 'define', xml)
    assert r.rc != 0
    assert "access denied: 'config' operation DOMAIN_DEFINE_XML" in r.err and 'operator1' in r.err, r.err
    r = virsh(viewer, 'list', '--all')
    assert r.rc != 0 and 'access denied' in r.err and 'viewer1' in r.err, r.err
    # The local root: everything but the lifecycle of prod-* domains.
    assert virsh(daemon.uri(), 'define', xml).rc == 0
    r = virsh(daemon.uri(), 'start', 'prod-db')
    assert r.rc != 0 and "'lifecycle' operation DOMAIN_CREATE" in r.err and "domain 'prod-db'" in r.err, r.err
    assert virsh(daemon.uri(), 'suspend', 'test').rc == 0
    # A handle naming an allowed domain but carrying the denied one's UUID (what the driver
    # acts on) is judged by the UUID.
    import struct
    import uuid as uuidlib
    from framework.rawclient import ERROR, RawClient, xdr_string
    prod_uuid = uuidlib.UUID(virsh(daemon.uri(), 'domuuid', 'prod-db').out.strip()).bytes
    c = RawClient(daemon.socket)
    assert c.open()[0][5] == 0
    reply = c.call(9, xdr_string('test') + prod_uuid + struct.pack('>i', -1))  # DOMAIN_CREATE
    assert reply[0][5] == ERROR and b"domain 'prod-db'" in reply[1], reply
    c.close()
    assert virsh(daemon.uri(), 'domstate', 'prod-db').out.strip() == 'shut off'
    # A rules file with a mistake stops the daemon, naming the line.
    with open(rules, 'a') as f:
        f.write('allow sasl=alice ops=reboot\n')
    daemon.stop()
    p = subprocess.run([os.path.join(daemon.bin_dir, 'corrald'), '--root', daemon.root], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode != 0 and 'access.conf:5' in p.stderr and "'reboot'" in p.stderr, p.stderr


@holds_test_state
def test_secure_xml_needs_console_or_config_on_that_domain(daemon, pki, tmpdir_path):
    """Issue 27.6: dumpxml --security-info counted as a read, so an identity allowed only to
    look (or only at domain a) read domain b's VNC password, however it named b."""
    import libvirt
    from framework.tools import domain_xml
    _, ports = access_rules(daemon, 'allow transport=unix unix-uid=0 ops=*\n'
                                    'allow x509="C=GB,O=Test,CN=viewer" ops=read,console domains=a\n'
                                    'allow x509="C=GB,O=Test,CN=*" ops=read\n'
                                    'deny  any ops=*\n')
    for name, password in (('a', 'pw-of-a'), ('b', 'pw-of-b')):
        path = os.path.join(tmpdir_path, name + '.xml')
        with open(path, 'w') as f:
            f.write(domain_xml(name, extra_devices=f"<graphics type='vnc' autoport='yes' passwd='{password}'/>"))
        assert virsh(daemon.uri(), 'define', path).rc == 0
    reader = tls_uri(ports['tls'], pki.client('reader', 'C=GB,O=Test,CN=reader'))
    viewer = tls_uri(ports['tls'], pki.client('viewer', 'C=GB,O=Test,CN=viewer'))
    uuid_b = virsh(daemon.uri(), 'domuuid', 'b').out.strip()
    # Plain XML is a read for both; the secure XML of b is refused however b is named.
    for who in (reader, viewer):
        r = virsh(who, 'dumpxml', 'b')
        assert r.rc == 0 and 'pw-of-b' not in r.out, r.err
        for ref in ('b', uuid_b):
            r = virsh(who, 'dumpxml', ref, '--security-info')
            assert r.rc != 0 and 'pw-of-b' not in r.out, r.out
            assert ("access denied: 'console' or 'config' operation DOMAIN_GET_XML_DESC with "
                    "VIR_DOMAIN_XML_SECURE on domain 'b'") in r.err, r.err
    # From a list, through python3-libvirt, the same.
    conn = libvirt.open(reader)
    try:
        for dom in conn.listAllDomains():
            with pytest.raises(libvirt.libvirtError) as e:
                dom.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE)
            assert e.value.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED
    finally:
        conn.close()
    # console on a: a's password, nobody else's.
    r = virsh(viewer, 'dumpxml', 'a', '--security-info')
    assert r.rc == 0 and "passwd='pw-of-a'" in r.out, r.err
    # The read-only socket refuses it through the same rule, even to root, whom a rule allows
    # everything on the read-write socket
    # (opened without the read-only flag, so that the client library does not refuse it first).
    conn = libvirt.open(daemon.uri(readonly=True))
    try:
        with pytest.raises(libvirt.libvirtError) as e:
            conn.lookupByName('a').XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE)
        assert e.value.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED
        assert 'read-only connection' in str(e.value), str(e.value)
        assert 'pw-of-a' not in conn.lookupByName('a').XMLDesc(0)
    finally:
        conn.close()


class ScramClient:
    """The client side of SCRAM-SHA-256 (RFC 5802/7677) over AUTH_SASL_START/STEP of a raw
    connection: what virsh sends, with any password, and how long each answer took."""

    def __init__(self, conn, user, password):
        self.conn, self.user, self.password = conn, user, password
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.bare = f'n={user},r={self.nonce}'
        self.server_first = None

    @staticmethod
    def xdr_chars(data):  # char<>: one 4-byte element per byte
        return struct.pack('>I', len(data)) + b''.join(struct.pack('>i', b) for b in data)

    @staticmethod
    def decode(reply):
        """(complete, data) of a START/STEP reply, or (None, error text) of an error."""
        from framework.rawclient import ERROR
        header, payload = reply
        if header[5] == ERROR:
            return None, payload
        complete, nil, n = struct.unpack('>iiI', payload[:12])
        chars = struct.unpack(f'>{n}i', payload[12:12 + 4 * n])
        return complete, None if nil else bytes(c & 0xff for c in chars).decode()

    def timed(self, proc, payload):
        start = time.monotonic()
        reply = self.conn.call(proc, payload)
        return self.decode(reply), time.monotonic() - start

    def start(self):
        """AUTH_SASL_INIT then START: ((complete, server-first), seconds START took)."""
        from framework.rawclient import xdr_string
        assert self.conn.call(67)[0][5] == 0  # AUTH_SASL_INIT
        (complete, data), took = self.timed(68, xdr_string('SCRAM-SHA-256') + struct.pack('>i', 0) +
                                            self.xdr_chars(f'n,,{self.bare}'.encode()))
        self.server_first = data
        return (complete, data), took

    def finish(self, wrong_proof=False):
        """AUTH_SASL_STEP with the proof: ((complete, data) or (None, error), seconds it took)."""
        return self.timed(69, self.step_payload(wrong_proof))

    def step_payload(self, wrong_proof=False):
        fields = dict(f.split('=', 1) for f in self.server_first.split(','))
        salted = hashlib.pbkdf2_hmac('sha256', self.password.encode(), base64.b64decode(fields['s']), int(fields['i']))
        client_key = hmac.new(salted, b'Client Key', hashlib.sha256).digest()
        stored = hashlib.sha256(client_key).digest()
        without_proof = f'c=biws,r={fields["r"]}'
        auth = f'{self.bare},{self.server_first},{without_proof}'.encode()
        signature = hmac.new(stored, auth, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        if wrong_proof:
            proof = bytes(32)
        final = f'{without_proof},p={base64.b64encode(proof).decode()}'
        return struct.pack('>i', 0) + self.xdr_chars(final.encode())


def sasl_unix_daemon(daemon, users, extra=''):
    sasl_setup(daemon.root, users, mechs='scram-sha-256')
    remote_config(daemon, 'auth_unix_rw = "sasl"\n' + extra, tls=False)


def test_failed_logins_are_slowed_and_capped_per_connection(daemon):
    from framework.rawclient import ERROR, RawClient
    sasl_unix_daemon(daemon, {'alice': 'secret'}, 'max_auth_attempts = 3\n')
    c = RawClient(daemon.socket, timeout=30)
    # Before authentication, nothing but AUTH_* is served.
    reply = c.call(1, struct.pack('>I', 0) + struct.pack('>I', 0))
    assert reply[0][5] == ERROR and b'authentication required' in reply[1]
    waits = []
    for attempt in range(3):
        scram = ScramClient(c, 'alice', 'not the password')
        (complete, first), start_took = scram.start()
        assert complete == 0 and first.startswith('r=' + scram.nonce), first
        (complete, error), step_took = scram.finish()
        assert complete is None and b'authentication failed' in error, error
        waits.append(start_took + step_took)
    # The first wrong guess is answered at once (its answer time was fixed before it was judged);
    # each one after waits for the waits queued by those before (1 s, then 2 s, at one-second
    # resolution), and the third failure ended the connection.
    assert waits[1] >= 0.9 and waits[2] >= 1.9, waits
    assert c.is_closed()
    failures = [r for r in audit_rows(daemon, lambda rows: sum(r[3] == 0 for r in rows) >= 3) if r[3] == 0]
    assert len(failures) == 3 and all('SCRAM-SHA-256' in r[2] and r[0] == 'alice' for r in failures), failures


def test_a_right_password_is_answered_no_sooner_than_a_wrong_one(daemon):
    """Issue 27.7: with only failures delayed, a guesser opening a connection per guess read a
    quick answer as "right" without waiting out the penalty."""
    from framework.rawclient import ERROR, RawClient
    sasl_unix_daemon(daemon, {'alice': 'secret'}, 'max_auth_attempts = 10\n')
    right = ScramClient(RawClient(daemon.socket, timeout=60), 'alice', 'secret')
    assert right.start()[0][0] == 0
    # Another connection of the same source guesses wrong: from now on the source is penalised.
    wrong = ScramClient(RawClient(daemon.socket, timeout=60), 'alice', 'guess')
    wrong.start()
    assert wrong.finish()[0][0] is None
    # The right password's answer waits for the penalty (1 s) as a wrong one's would; a call
    # sent right behind it is refused meanwhile, so it cannot tell the result early either.
    start = time.monotonic()
    right.conn.send(69, right.step_payload())
    right.conn.send(1, struct.pack('>I', 0) + struct.pack('>I', 0))  # CONNECT_OPEN
    replies = {}
    for _ in range(2):
        header, payload = right.conn.recv()
        replies[header[2]] = ((header, payload), time.monotonic() - start)
    (opened, _) = replies[1]
    assert opened[0][5] == ERROR and b'authentication required' in opened[1], opened
    (step, took) = replies[69]
    complete, data = ScramClient.decode(step)
    assert complete == 1 and data.startswith('v='), data
    assert took >= 0.8, took
    # Once the answer is out, the session is authenticated.
    assert right.conn.open()[0][5] == 0


def test_unknown_and_refused_users_are_answered_like_known_ones(daemon):
    """Issue 27.8: Cyrus refused AUTH_SASL_START at once for a user not in the database, and
    answered a known one with SCRAM's server-first message."""
    from framework.rawclient import RawClient
    sasl_unix_daemon(daemon, {'alice': 'secret', 'bob': 'staple'},
                     'max_auth_attempts = 10\nsasl_allowed_username_list = ["alice"]\n')
    form = re.compile(r'r=(?P<nonce>[A-Za-z0-9+/=]+),s=(?P<salt>[A-Za-z0-9+/]+=*),i=(?P<iterations>\d+)')
    seen = {}
    # A known user with a wrong password, an unknown one, and a known one with the right
    # password who is not on sasl_allowed_username_list.
    for user, password in (('alice', 'wrong'), ('mallory', 'anything'), ('bob', 'staple')):
        scram = ScramClient(RawClient(daemon.socket, timeout=60), user, password)
        (complete, first), _ = scram.start()
        assert complete == 0, (user, first)
        m = form.fullmatch(first)
        assert m, (user, first)
        assert m['nonce'].startswith(scram.nonce) and len(m['nonce']) == len(scram.nonce) + 32, (user, first)
        seen[user] = (len(base64.b64decode(m['salt'])), m['iterations'])
        # Each fails at the step where a wrong password fails, with the same words.
        (complete, error), _ = scram.finish()
        assert complete is None and b'authentication failed' in error, (user, error)
    assert seen['alice'] == seen['mallory'] == seen['bob'] == (32, '4096'), seen
    # The daemon's log still tells them apart.
    log = daemon.stderr()
    assert "'mallory' is not in the SASL database" in log and "'bob' is not on the list" in log, log


def tls_auth_list(port, pkipath):
    """Whether a TLS client with the certificate of `pkipath` gets through the handshake and
    libvirt's confirmation byte to an answered AUTH_LIST."""
    import ssl
    import struct
    from framework.pressure import auth_list_packet
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(os.path.join(pkipath, 'cacert.pem'))
    ctx.load_cert_chain(os.path.join(pkipath, 'clientcert.pem'), os.path.join(pkipath, 'clientkey.pem'))
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=10) as raw, ctx.wrap_socket(raw) as s:
            if s.recv(1) != b'\x01':
                return False
            s.sendall(auth_list_packet())
            head = b''
            while len(head) < 28:
                chunk = s.recv(28 - len(head))
                if not chunk:
                    return False
                head += chunk
            return struct.unpack('>IIiIII', head[4:28])[5] == 0
    except (OSError, ssl.SSLError):
        return False


@pytest.mark.parametrize('sources', [['127.0.0.2'], ['127.0.0.1'], [f'127.0.0.{i}' for i in range(10, 35)]],
                         ids=['one-other-address', 'the-clients-address', '25-addresses'])
def test_idle_tcp_peers_cannot_keep_tls_clients_from_auth_list(daemon, pki, sources):
    from framework.pressure import LatencyProbe, connect_from, is_closed_by_peer, rss_mib
    # libvirt's defaults: max_anonymous_clients = 20; Corral's max_anonymous_clients_per_source = 5.
    ports = remote_config(daemon)
    good = pki.client('good', 'C=GB,O=Test,CN=client1')
    rss_before = rss_mib(daemon)
    # 25 connections that never start a handshake, accepted before any client below.
    idle = [connect_from(sources[i % len(sources)], ports['tls']) for i in range(25)]
    try:
        with LatencyProbe(daemon) as probe:
            reached = sum(tls_auth_list(ports['tls'], good) for _ in range(40))
            probe.wait_rounds(3)
        held = sum(not is_closed_by_peer(s) for s in idle)
        print(f'\nidle TCP peers from {len(sources)} address(es): {held} of 25 still held; {reached} of 40 TLS '
              f'clients reached AUTH_LIST; RSS {rss_before:.1f} -> {rss_mib(daemon):.1f} MiB; root: {probe.figures()}')
        assert reached == 40
        probe.assert_served(2.0)
    finally:
        for s in idle:
            s.close()


def test_before_authentication_no_large_packet_is_taken(daemon):
    import struct
    from framework.rawclient import RawClient
    sasl_setup(daemon.root, {'alice': 'secret'}, mechs='scram-sha-256')
    remote_config(daemon, 'auth_unix_ro = "sasl"\n', tls=False)
    # The largest packet AUTH_SASL_START needs is about 256 KiB: a 1 MiB one is refused at
    # its length word, before any of it is held.
    c = RawClient(daemon.socket_ro)
    c.send_raw(struct.pack('>I', 1024 * 1024) + b'\0' * 24)
    assert c.is_closed()
    assert 'exceeds maximum 266268' in daemon.stderr()
    # After authenticating, the same client may send large packets: a different session here,
    # on the read-write socket without SASL.
    big = RawClient(daemon.socket, timeout=1)
    big.send_raw(struct.pack('>I', 1024 * 1024) + b'\0' * 24)
    assert not big.is_closed()
