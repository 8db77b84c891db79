#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# A stand-in for QEMU that speaks QMP the way a compromised QEMU could: it behaves like QEMU
# for the commands corrald sends at start and stop, and answers chosen commands with a hostile
# message. Test-only; install() puts it where a guest's identity can run it and returns the
# path to use as the domain's <emulator>.
#
#   fake_qemu.py [--on COMMAND=ACTION ...] -- QEMU-ARGUMENTS...
#
# It serves the monitor socket corrald hands over (-chardev socket,id=charmonitor,fd=N) and
# writes what it does to stderr (the domain's QEMU log), one line per step, "fake-qemu: ...".
# ACTIONS (add one per hostile behaviour, each a function below):
#   array-line:BYTES   reply with one line of BYTES bytes: {"return": [0,0,0,...]}
#   bad-utf8-event     emit BLOCK_IO_ERROR whose device and reason are not UTF-8, then reply {}
# Landlock lets a guest run only programs under /usr and /lib: a domain using it needs
# `landlock = 0` in qemu.conf.
import json
import os
import re
import shutil
import socket
import sys

GREETING = b'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "fake"}, "capabilities": []}}\n'


def log(text):
    sys.stderr.write(f'fake-qemu: {text}\n')
    sys.stderr.flush()


def reply(conn, value='{}'):
    conn.sendall(b'{"return": ' + value.encode() + b'}\n')


def array_line(conn, arg):
    size = int(arg)
    head, tail = b'{"return": [0', b']}\n'
    count = max(0, (size - len(head) - len(tail)) // 2)
    # Sent in pieces: the whole line never exists at once in this process either.
    conn.sendall(head)
    piece = b',0' * 65536
    left = count
    while left > 0:
        n = min(left, 65536)
        conn.sendall(piece if n == 65536 else b',0' * n)
        left -= n
    conn.sendall(tail)
    log(f'sent a line of {len(head) + 2 * count + len(tail)} bytes')


def bad_utf8_event(conn, _arg):
    # 0xff and 0xfe never occur in UTF-8; 0xc3 0x28 is a lead byte without its continuation;
    # 0xed 0xa0 0x80 encodes a surrogate; 0xc0 0xaf is an overlong '/'.
    conn.sendall(b'{"event": "BLOCK_IO_ERROR", "data": {"device": "disk\xff\xfe", "node-name": "no-such-node", '
                 b'"operation": "write", "action": "report", "nospace": false, '
                 b'"reason": "bad \xc3\x28 bytes \xed\xa0\x80 \xc0\xaf end"}, '
                 b'"timestamp": {"seconds": 1, "microseconds": 0}}\n')
    reply(conn)
    log('sent an event with invalid UTF-8')


ACTIONS = {'array-line': array_line, 'bad-utf8-event': bad_utf8_event}


def monitor_fd(args):
    for i, a in enumerate(args[:-1]):
        if a == '-chardev' and 'id=charmonitor' in args[i + 1]:
            m = re.search(r'(?:^|,)fd=(\d+)', args[i + 1])
            if m:
                return int(m.group(1))
    raise SystemExit('fake-qemu: no -chardev socket,id=charmonitor,fd=N in the arguments')


def serve(conn, hostile, paused):
    reader = conn.makefile('rb')
    conn.sendall(GREETING)
    for raw in reader:
        try:
            cmd = json.loads(raw)
        except ValueError:
            conn.sendall(b'{"error": {"class": "GenericError", "desc": "bad JSON"}}\n')
            continue
        name = cmd.get('execute', '')
        log(f'command {name}')
        if name in hostile:
            action, _, arg = hostile[name].partition(':')
            ACTIONS[action](conn, arg)
        elif name == 'query-status':
            state = 'paused' if paused else 'running'
            reply(conn, f'{{"status": "{state}", "running": {"false" if paused else "true"}, "singlestep": false}}')
        elif name in ('query-cpus-fast', 'query-iothreads'):
            reply(conn, '[]')  # no thread ids: corrald has nothing to place
        elif name in ('cont', 'stop'):
            paused = name == 'stop'
            reply(conn)
            event = 'STOP' if paused else 'RESUME'
            conn.sendall(b'{"event": "' + event.encode() + b'", "timestamp": {"seconds": 1, "microseconds": 0}}\n')
        elif name in ('qmp_capabilities', 'set_password', 'system_powerdown', 'system_reset'):
            reply(conn)
        else:
            conn.sendall(b'{"error": {"class": "CommandNotFound", "desc": "The command ' + name.encode() +
                         b' has not been found"}}\n')
    log('monitor closed')


def install(directory, hostile=()):
    """Copies this program into `directory` with a wrapper that answers each (COMMAND, ACTION)
    of `hostile` as described above; returns the wrapper's path, for <emulator>."""
    program = os.path.join(directory, 'fake_qemu.py')
    shutil.copyfile(__file__, program)
    os.chmod(program, 0o644)
    options = ' '.join(f"--on '{c}={a}'" for c, a in hostile)
    wrapper = os.path.join(directory, 'fake-qemu')
    with open(wrapper, 'w') as f:
        f.write(f'#!/bin/sh\nexec /usr/bin/python3 -I {program} {options} -- "$@"\n')
    os.chmod(wrapper, 0o755)
    return wrapper


def main(argv):
    hostile = {}
    while argv and argv[0] != '--':
        if argv[0] == '--on' and len(argv) > 1 and '=' in argv[1]:
            command, action = argv[1].split('=', 1)
            if action.partition(':')[0] not in ACTIONS:
                raise SystemExit(f'fake-qemu: unknown action {action!r}')
            hostile[command] = action
            argv = argv[2:]
        else:
            raise SystemExit(f'fake-qemu: unexpected option {argv[0]!r}')
    args = argv[1:]
    listener = socket.socket(fileno=monitor_fd(args))
    listener.setblocking(True)
    log(f'listening, hostile: {hostile}')
    conn, _ = listener.accept()
    serve(conn, hostile, paused='-S' in args)


if __name__ == '__main__':
    main(sys.argv[1:])
