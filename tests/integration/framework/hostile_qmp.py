#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A QEMU that its guest has taken over, for tests: used as a domain's <emulator>, it speaks just
enough QMP for corrald to start it, query it, pause, resume and stop it, and answers what a test
tells it to, such as thread ids that are not its own or messages meant to exhaust corrald (the
one fake QEMU of the tests: test_qemu_thread_ids.py, test_qemu_hostile.py, test_access_passthrough.py).

A test installs it with install(directory, script): this file is copied as an executable
DIRECTORY/hostile-qemu (put that path in <emulator>) with its script, DIRECTORY/hostile-qemu.json,
beside it. The script is read again for every command, so write_script() changes the answers of
a guest that is running. The keys (all optional):

  cpus       what query-cpus-fast reports as the thread-id of vCPU 0, 1, ...: "own" (a real
             thread of this process, one per vCPU), "main" (this process's pid) or any number
             (another process's pid or tid, reported as is); default: one "own" thread
  iothreads  the same for query-iothreads' iothread1, iothread2, ...; default: none
  on         {COMMAND: ACTION}: answer COMMAND (any name, "x-..." for one QEMU lacks) with a
             hostile message instead, one ACTION per behaviour (a function below):
               array-line:BYTES  one line of BYTES bytes, {"return": [0,0,0,...]}, sent in
                                 pieces (the whole line never exists at once here either)
               bad-utf8-event    BLOCK_IO_ERROR whose device and reason are not UTF-8, then {}

Everything else corrald may send is answered the way QEMU answers it, or with CommandNotFound.
The program runs as the guest's confined process: only the Python standard library, no writes.
Landlock must be off in qemu.conf (landlock = 0): it would not let Python read its modules.
"""
import json
import os
import shutil
import signal
import socket
import sys
import threading
import time

PROGRAM = 'hostile-qemu'


def install(directory, script):
    """Copies this program into `directory` with `script`; returns the path for <emulator>."""
    path = os.path.join(directory, PROGRAM)
    shutil.copyfile(os.path.abspath(__file__), path)
    os.chmod(path, 0o755)
    write_script(path, script)
    return path


def write_script(emulator, script):
    """Replaces the script of an installed fake (atomically: a running one reads it any time)."""
    tmp = emulator + '.json.tmp'
    with open(tmp, 'w') as f:
        json.dump(script, f)
    os.chmod(tmp, 0o644)  # the guest's own uid reads it
    os.replace(tmp, emulator + '.json')


# ---- the fake QEMU itself ----

def array_line(conn, arg):
    size = int(arg)
    head, tail = b'{"return": [0', b']}\n'
    count = max(0, (size - len(head) - len(tail)) // 2)
    conn.sendall(head)
    piece = b',0' * 65536
    left = count
    while left > 0:
        n = min(left, 65536)
        conn.sendall(piece if n == 65536 else b',0' * n)
        left -= n
    conn.sendall(tail)


def bad_utf8_event(conn, _arg):
    # 0xff and 0xfe never occur in UTF-8; 0xc3 0x28 is a lead byte without its continuation;
    # 0xed 0xa0 0x80 encodes a surrogate; 0xc0 0xaf is an overlong '/'.
    conn.sendall(b'{"event": "BLOCK_IO_ERROR", "data": {"device": "disk\xff\xfe", "node-name": "no-such-node", '
                 b'"operation": "write", "action": "report", "nospace": false, '
                 b'"reason": "bad \xc3\x28 bytes \xed\xa0\x80 \xc0\xaf end"}, '
                 b'"timestamp": {"seconds": 1, "microseconds": 0}}\n')
    conn.sendall(b'{"return": {}}\n')


ACTIONS = {'array-line': array_line, 'bad-utf8-event': bad_utf8_event}


class OwnThreads:
    """Real threads of this process, made on demand, that report their ids."""

    def __init__(self):
        self.ids = []

    def get(self, index):
        while len(self.ids) <= index:
            ready = threading.Event()
            box = []

            def park():
                box.append(threading.get_native_id())
                ready.set()
                threading.Event().wait()

            threading.Thread(target=park, daemon=True).start()
            ready.wait()
            self.ids.append(box[0])
        return self.ids[index]


class Refusal:
    def __init__(self, cls, desc):
        self.cls = cls
        self.desc = desc


def thread_id(spec, slot, own):
    if spec == 'own':
        return own.get(slot)
    if spec == 'main':
        return os.getpid()
    return int(spec)


class Fake:
    def __init__(self, argv):
        self.script_path = os.path.realpath(argv[0]) + '.json'
        self.paused = '-S' in argv
        self.own = OwnThreads()
        self.monitor_fd = None
        for i, arg in enumerate(argv):
            if arg == '-chardev' and i + 1 < len(argv) and 'id=charmonitor' in argv[i + 1]:
                for part in argv[i + 1].split(','):
                    if part.startswith('fd='):
                        self.monitor_fd = int(part[3:])

    def script(self):
        try:
            with open(self.script_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    @staticmethod
    def event(name, data=None):
        now = time.time()
        msg = {'event': name, 'timestamp': {'seconds': int(now), 'microseconds': int(now % 1 * 1e6)}}
        if data is not None:
            msg['data'] = data
        return msg

    def answer(self, command):
        """The reply ({'return': ...} or {'error': ...}), events to send after it, and whether to
        exit then."""
        reply, events, leave = self.result(command)
        if isinstance(reply, Refusal):
            return {'error': {'class': reply.cls, 'desc': reply.desc}}, events, leave
        return {'return': reply}, events, leave

    def result(self, command):
        script = self.script()
        if command == 'qmp_capabilities' or command in ('set_password', 'migrate-set-parameters', 'system_reset'):
            return {}, [], False
        if command == 'query-cpus-fast':
            specs = script.get('cpus', ['own'])
            return [{'cpu-index': i, 'qom-path': f'/machine/unattached/device[{i}]',
                     'thread-id': thread_id(spec, i, self.own), 'target': 'x86_64',
                     'props': {'core-id': 0, 'thread-id': 0, 'node-id': 0, 'socket-id': i}}
                    for i, spec in enumerate(specs)], [], False
        if command == 'query-iothreads':
            specs = script.get('iothreads', [])
            cpus = len(script.get('cpus', ['own']))
            return [{'id': f'iothread{i + 1}', 'thread-id': thread_id(spec, cpus + i, self.own),
                     'poll-max-ns': 32768, 'poll-grow': 0, 'poll-shrink': 0, 'aio-max-batch': 0}
                    for i, spec in enumerate(specs)], [], False
        if command == 'query-status':
            status = 'paused' if self.paused else 'running'
            return {'status': status, 'singlestep': False, 'running': not self.paused}, [], False
        if command == 'stop':
            self.paused = True
            return {}, [self.event('STOP')], False
        if command == 'cont':
            # What a real guest would run on first: are its vCPU threads in their groups yet?
            # Written to stderr, which corrald puts in the domain's log.
            cpus = len(script.get('cpus', ['own']))
            print(f'hostile-qemu: cont while paused={self.paused} vcpus-placed={self.vcpus_placed(cpus)}',
                  file=sys.stderr, flush=True)
            self.paused = False
            return {}, [self.event('RESUME')], False
        if command == 'system_powerdown':
            shutdown = self.event('SHUTDOWN', {'guest': True, 'reason': 'guest-shutdown'})
            return {}, [self.event('POWERDOWN'), shutdown], True
        if command == 'quit':
            return {}, [self.event('SHUTDOWN', {'guest': False, 'reason': 'host-qmp-quit'})], True
        if command in ('query-balloon', 'query-blockstats', 'query-pci', 'query-fdsets'):
            return [] if command != 'query-balloon' else {'actual': 0}, [], False
        return Refusal('CommandNotFound', f'The command {command} has not been found'), [], False

    def vcpus_placed(self, cpus):
        """Whether each of the first `cpus` own threads is in its vcpuN group."""
        for i in range(cpus):
            try:
                with open(f'/proc/self/task/{self.own.get(i)}/cgroup') as f:
                    if f'/vcpu{i}' not in f.read():
                        return False
            except OSError:
                return False
        return True

    def serve(self, conn):
        def send(obj):
            conn.sendall(json.dumps(obj).encode() + b'\r\n')

        send({'QMP': {'version': {'qemu': {'micro': 0, 'minor': 2, 'major': 7}, 'package': ''},
                      'capabilities': ['oob']}})
        buf = b''
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                if not line.strip():
                    continue
                try:
                    request = json.loads(line)
                except ValueError:
                    send({'error': {'class': 'GenericError', 'desc': 'JSON parse error'}})
                    continue
                command = request.get('execute', '')
                hostile = self.script().get('on', {}).get(command)
                if hostile:
                    action, _, arg = hostile.partition(':')
                    ACTIONS[action](conn, arg)
                    continue
                reply, events, leave = self.answer(command)
                if 'id' in request:
                    reply['id'] = request['id']
                send(reply)
                for e in events:
                    send(e)
                if leave:
                    os._exit(0)

    def run(self):
        if self.monitor_fd is None:
            print('hostile-qemu: no -chardev ...,id=charmonitor,fd=N on the command line', file=sys.stderr)
            return 1
        listener = socket.socket(fileno=self.monitor_fd)
        script = self.script()
        specs = script.get('cpus', ['own']) + script.get('iothreads', [])
        for i, spec in enumerate(specs):
            if spec == 'own':
                self.own.get(i)  # the threads exist before the first query, as vCPUs do
        while True:
            conn, _ = listener.accept()
            try:
                self.serve(conn)
            except OSError:
                pass
            finally:
                conn.close()


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    sys.exit(Fake(sys.argv).run())
