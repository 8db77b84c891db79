# SPDX-License-Identifier: LGPL-2.1-or-later
# Run as an unprivileged uid by framework.pressure.UnixFlood: opens COUNT connections to SOCKET,
# sends AUTH_LIST on each, prints "held H refused R" once every one is answered or closed, and
# keeps the answered ones open until its standard input closes.
import socket
import struct
import sys

path, count = sys.argv[1], int(sys.argv[2])
body = struct.pack('>IIiIII', 0x20008086, 1, 66, 0, 0, 0)
call = struct.pack('>I', len(body) + 4) + body
conns, refused = [], 0
for _ in range(count):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    try:
        s.connect(path)
        s.sendall(call)
        conns.append(s)
    except OSError:
        s.close()
        refused += 1
held = []
for s in conns:
    try:
        head = s.recv(4)
    except OSError:
        head = b''
    if len(head) == 4:
        held.append(s)
    else:
        s.close()
        refused += 1
print(f'held {len(held)} refused {refused}', flush=True)
sys.stdin.read()
