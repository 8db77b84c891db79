# SPDX-License-Identifier: LGPL-2.1-or-later
# A client on plain TCP that tries to get in with less than the daemon demands: no SASL at all,
# a mechanism the daemon does not offer there (DIGEST-MD5 while it is not allowed, PLAIN, LOGIN,
# ANONYMOUS, CRAM-MD5, SCRAM without a security layer, GSSAPI without Kerberos), or DIGEST-MD5
# (allowed) with a layer weaker than tcp_min_ssf (qop=auth, auth-int). Every Cyrus plugin
# behind these names is installed and listed in mech_list, so only corrald's own checks stand in
# the way. The client is raw (framework/rawclient.py over TCP): no library picks for it.
import hashlib
import os
import re
import socket
import struct

import pytest

from framework.rawclient import ERROR, RawClient, error_of, xdr_opt_string, xdr_string
from framework.remote import remote_config, sasl_setup

pytestmark = pytest.mark.skipif(not os.path.exists('/usr/sbin/saslpasswd2'),
                                reason='sasl2-bin is needed (scripts/setup.sh installs it)')

AUTH_LIST, AUTH_SASL_INIT, AUTH_SASL_START, AUTH_SASL_STEP = 66, 67, 68, 69
CONNECT_OPEN, LOOKUP_BY_NAME = 1, 23
ALL_MECHS = 'scram-sha-256 scram-sha-1 digest-md5 plain login anonymous cram-md5 gssapi'


def tcp_client(port):
    c = RawClient.__new__(RawClient)
    c.sock = socket.create_connection(('127.0.0.1', port), timeout=30)
    c.serial = 0
    return c


def xdr_chars(data):  # char<>: one 4-byte element per byte
    return struct.pack('>I', len(data)) + b''.join(struct.pack('>i', b) for b in data)


def sasl_reply(reply):
    """(complete, data) of a START/STEP reply, or raises with the error."""
    if reply is None:
        raise PermissionError('authentication failed: the daemon closed the connection')
    header, payload = reply
    if header[5] == ERROR:
        raise PermissionError(error_of(reply)[1])
    complete, nil, n = struct.unpack('>iiI', payload[:12])
    chars = struct.unpack(f'>{n}i', payload[12:12 + 4 * n])
    return complete, None if nil else bytes(c & 0xff for c in chars)


def start(c, mech, data):
    return c.call(AUTH_SASL_START, xdr_string(mech) + (struct.pack('>i', 0) + xdr_chars(data) if data is not None
                                                       else struct.pack('>i', 1) + struct.pack('>I', 0)))


def assert_not_let_in(c):
    """Neither a connection nor a lookup is served to `c`."""
    for proc, payload in ((CONNECT_OPEN, xdr_opt_string('test:///default') + struct.pack('>I', 0)),
                          (LOOKUP_BY_NAME, xdr_string('test'))):
        reply = c.call(proc, payload)
        if reply is None:
            return  # the daemon closed the connection: nothing served either
        assert reply[0][5] == ERROR, (proc, reply)
        assert 'authentication' in (error_of(reply)[1] or ''), error_of(reply)


def test_plain_tcp_refuses_calls_before_sasl_and_every_mechanism_without_a_layer(daemon):
    """Bounds: none; each attempt is refused with an error naming the mechanism, and no call is
    served on the connection afterwards."""
    sasl_setup(daemon.root, {'alice': 'pw-of-alice'}, mechs=ALL_MECHS)
    ports = remote_config(daemon, tls=False, tcp=True)
    c = tcp_client(ports['tcp'])
    header, payload = c.call(AUTH_LIST)
    assert header[5] == 0 and struct.unpack('>II', payload[:8]) == (1, 1), payload  # [REMOTE_AUTH_SASL]
    assert_not_let_in(c)
    reply = c.call(AUTH_SASL_INIT)
    offered = '' if reply[0][5] == ERROR else reply[1][4:4 + struct.unpack('>I', reply[1][:4])[0]].decode()
    assert offered == '' or not set(offered.split()) & {m.upper() for m in ALL_MECHS.split()}, offered
    c.close()
    attempts = {'DIGEST-MD5': None, 'PLAIN': b'\0alice\0pw-of-alice', 'LOGIN': None, 'ANONYMOUS': b'anon',
                'CRAM-MD5': None, 'SCRAM-SHA-256': b'n,,n=alice,r=abcdefghijkl', 'SCRAM-SHA-1': b'n,,n=alice,r=abcd',
                'GSSAPI': None}
    for mech, data in attempts.items():
        c = tcp_client(ports['tcp'])
        c.call(AUTH_SASL_INIT)
        with pytest.raises(PermissionError) as refused:
            sasl_reply(start(c, mech, data))
        assert 'authentication failed' in str(refused.value), (mech, str(refused.value))
        assert_not_let_in(c)
        c.close()


def digest_response(challenge, user, password, qop, cipher=None):
    fields = {k: a or b for k, a, b in re.findall(r'(\w[\w-]*)=(?:"([^"]*)"|([^,]*))', challenge.decode())}
    realm, nonce = fields.get('realm', ''), fields['nonce']
    cnonce, nc, uri = 'corralcnonce0123', '00000001', 'libvirt/127.0.0.1'
    a1 = hashlib.md5(f'{user}:{realm}:{password}'.encode()).digest() + f':{nonce}:{cnonce}'.encode()
    a2 = f'AUTHENTICATE:{uri}' + (':' + '0' * 32 if qop != 'auth' else '')
    hex_a1 = hashlib.md5(a1).hexdigest()
    hex_a2 = hashlib.md5(a2.encode()).hexdigest()
    response = hashlib.md5(f'{hex_a1}:{nonce}:{nc}:{cnonce}:{qop}:{hex_a2}'.encode()).hexdigest()
    text = (f'username="{user}",realm="{realm}",nonce="{nonce}",cnonce="{cnonce}",nc={nc},qop={qop},'
            f'digest-uri="{uri}",response={response},charset=utf-8,maxbuf=65536')
    if cipher:
        text += f',cipher={cipher}'
    return text.encode(), fields


def test_digest_md5_with_a_layer_weaker_than_tcp_min_ssf_is_refused(daemon):
    """With DIGEST-MD5 allowed on plain TCP (sasl_allow_digest_md5 = 1), the right password with
    no layer (qop=auth) or integrity only (auth-int, SSF 1) is refused: tcp_min_ssf (56) asks for
    encryption. The same exchange with auth-conf (encryption) is accepted, so the refusals are
    the layer's and nothing else's."""
    sasl_setup(daemon.root, {'alice': 'pw-of-alice'}, mechs=ALL_MECHS)
    ports = remote_config(daemon, 'sasl_allow_digest_md5 = 1\n', tls=False, tcp=True)
    outcomes = {}
    for qop in ('auth-conf', 'auth', 'auth-int'):  # the control first, before any failure counts
        c = tcp_client(ports['tcp'])
        assert c.call(AUTH_SASL_INIT)[0][5] == 0
        complete, challenge = sasl_reply(start(c, 'DIGEST-MD5', None))
        assert complete == 0 and b'nonce=' in challenge, challenge
        offered = re.search(rb'qop="([^"]*)"', challenge).group(1).decode().split(',')
        cipher = None
        if qop == 'auth-conf':
            ciphers = re.search(rb'cipher="([^"]*)"', challenge).group(1).decode().split(',')
            cipher = next(x for x in ('rc4', 'rc4-56') if x in ciphers)  # 3des, des: not in OpenSSL 3
        data, _ = digest_response(challenge, 'alice', 'pw-of-alice', qop, cipher)
        try:
            sasl_reply(c.call(AUTH_SASL_STEP, struct.pack('>i', 0) + xdr_chars(data)))
            outcomes[qop] = ('accepted', offered)
        except PermissionError as e:
            outcomes[qop] = (str(e), offered)
            assert_not_let_in(c)
        c.close()
    print(f'\nDIGEST-MD5 on plain TCP: {outcomes}')
    assert outcomes['auth-conf'][0] == 'accepted', outcomes
    for qop in ('auth', 'auth-int'):
        assert 'authentication failed' in outcomes[qop][0], outcomes
