# SPDX-License-Identifier: LGPL-2.1-or-later
# A libvirt-protocol client with no libvirt underneath, for sending what libvirt never would.
import socket
import struct

REMOTE = 0x20008086
CALL, REPLY, MESSAGE = 0, 1, 2
OK, ERROR = 0, 1


def xdr_string(s):
    b = s.encode()
    return struct.pack('>I', len(b)) + b + b'\0' * ((4 - len(b) % 4) % 4)


def xdr_opt_string(s):
    return struct.pack('>I', 0) if s is None else struct.pack('>I', 1) + xdr_string(s)


class RawClient:
    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.serial = 0

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, proc, payload=b'', prog=REMOTE, vers=1, mtype=CALL):
        body = struct.pack('>IIiIII', prog, vers, proc, mtype, self.serial, OK) + payload
        self.serial += 1
        self.sock.sendall(struct.pack('>I', len(body) + 4) + body)

    def recv_exact(self, n):
        buf = b''
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def recv(self):
        """(header tuple, payload) or None when the daemon closed the connection."""
        head = self.recv_exact(4)
        if head is None:
            return None
        (length,) = struct.unpack('>I', head)
        rest = self.recv_exact(length - 4)
        if rest is None:
            return None
        return struct.unpack('>IIiIII', rest[:24]), rest[24:]

    def call(self, proc, payload=b'', **kw):
        self.send(proc, payload, **kw)
        while True:
            got = self.recv()
            if got is None or got[0][3] == REPLY:
                return got

    def open(self, uri='test:///default', flags=0):
        return self.call(1, xdr_opt_string(uri) + struct.pack('>I', flags))

    def is_closed(self):
        try:
            return self.sock.recv(1) == b''
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True


def error_of(reply):
    """(code, message) of an ERROR reply."""
    header, payload = reply
    assert header[5] == ERROR, header
    code, _domain, present = struct.unpack('>iiI', payload[:12])
    msg = None
    if present:
        (n,) = struct.unpack('>I', payload[12:16])
        msg = payload[16:16 + n].decode()
    return code, msg
