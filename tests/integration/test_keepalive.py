# SPDX-License-Identifier: LGPL-2.1-or-later
# Keepalive: PINGs are answered; clients that asked for keepalive are pinged, and dropped when
# they stop answering; clients that did not ask are never pinged.
import socket
import struct
import time

import pytest

from framework.daemon import CorralDaemon
from framework.rawclient import MESSAGE, RawClient
from framework.tools import virsh

KEEPALIVE = 0x6b656570
PING, PONG = 1, 2


@pytest.fixture
def fast_keepalive(bin_dir, tmpdir_path):
    import os
    d = CorralDaemon(bin_dir, os.path.join(tmpdir_path, 'ka'))
    d.write_config('keepalive_interval = 1\nkeepalive_count = 2\n')
    d.start()
    yield d
    d.stop()


def ask_keepalive(c):
    reply = c.call(60, struct.pack('>i', 10))  # SUPPORTS_FEATURE(PROGRAM_KEEPALIVE)
    assert struct.unpack('>i', reply[1])[0] == 1


def test_server_answers_ping(daemon):
    c = RawClient(daemon.socket)
    c.send(PING, prog=KEEPALIVE, mtype=MESSAGE)
    header, payload = c.recv()
    assert header[0] == KEEPALIVE and header[2] == PONG and header[3] == MESSAGE and payload == b''


def test_silent_client_is_dropped(fast_keepalive):
    c = RawClient(fast_keepalive.socket, timeout=30)
    ask_keepalive(c)
    pings = 0
    while True:
        got = c.recv()
        if got is None:
            break
        header, _ = got
        assert header[0] == KEEPALIVE and header[2] == PING
        pings += 1
    assert pings == 2  # keepalive_count unanswered PINGs, then the daemon hung up
    assert virsh(fast_keepalive.uri('test'), 'list').rc == 0


def test_answering_client_stays(fast_keepalive):
    c = RawClient(fast_keepalive.socket, timeout=30)
    ask_keepalive(c)
    answered = 0
    while answered < 4:
        header, _ = c.recv()
        assert header[2] == PING
        c.send(PONG, prog=KEEPALIVE, mtype=MESSAGE)
        answered += 1
    c.open()  # still connected and usable


def test_client_that_did_not_ask_is_never_pinged(fast_keepalive):
    c = RawClient(fast_keepalive.socket, timeout=3.5)
    c.open()
    with pytest.raises(socket.timeout):
        c.recv()


def test_virsh_keepalive_with_short_interval(fast_keepalive):
    from framework.tools import run
    r = run(['virsh', '-k', '1', '-K', '2', '-c', fast_keepalive.uri('test'), 'event', '--all', '--loop',
             '--timeout', '4'])
    # virsh pinged every second of silence and got PONGs: the loop ran to its timeout.
    assert 'event loop timed out' in r.out, (r.out, r.err)
    assert r.err == ''
