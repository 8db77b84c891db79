#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Records the seed corpus of fuzz_xdr_decode: real virsh sessions with a real corrald, through a
# relay on a unix socket that keeps every byte each side sent. Each connection gives two files
# in tests/fuzz/corpus/xdr_decode/: SESSION-N.client (calls, keepalive) and SESSION-N.server
# (replies, errors, events). Run it again when the wire grows (as root, after a build):
#
#   /usr/bin/python3 tests/fuzz/capture_xdr_corpus.py build/bin tests/fuzz/corpus/xdr_decode
import os
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
from framework.daemon import CorralDaemon  # noqa: E402

QEMU_XML = ("<domain type='qemu'><name>seed</name><memory unit='MiB'>64</memory><vcpu>2</vcpu>"
            "<os><type arch='x86_64' machine='pc'>hvm</type></os>"
            "<devices><serial type='pty'/><graphics type='vnc' autoport='yes'/></devices></domain>")
TEST_XML = ("<domain type='test'><name>seed</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>"
            "<os><type>hvm</type></os></domain>")
LXC_XML = ("<domain type='lxc'><name>seed</name><memory unit='MiB'>64</memory>"
           "<os><type>exe</type><init>/sbin/init</init></os></domain>")
NET_XML = ("<network><name>seednet</name><bridge name='crlseed0'/>"
           "<ip address='10.254.77.1' netmask='255.255.255.0'/></network>")

# (session name, driver, [virsh argument lists]); one virsh process (one connection) per entry.
SESSIONS = [
    ('connect-info', 'test', [['version'], ['uri'], ['hostname'], ['nodeinfo'], ['sysinfo'], ['capabilities']]),
    ('domain-queries', 'test', [['list', '--all'], ['dominfo', 'test'], ['domstate', '--reason', 'test'],
                                ['dumpxml', 'test'], ['domid', 'test'], ['domuuid', 'test'], ['vcpuinfo', 'test'],
                                ['dommemstat', 'test'], ['domstats'], ['domblklist', 'test']]),
    ('lifecycle', 'test', [['define', '{TEST_XML}'], ['start', 'seed'], ['suspend', 'seed'], ['resume', 'seed'],
                           ['destroy', 'seed'], ['undefine', 'seed']]),
    ('tuning', 'test', [['schedinfo', 'test'], ['schedinfo', 'test', '--live', '--set', 'cpu_shares=512'],
                        ['memtune', 'test'], ['blkiotune', 'test'], ['vcpupin', 'test'],
                        ['desc', 'test', '--live', '--title', 'seed title']]),
    ('errors', 'test', [['dominfo', 'nosuch'], ['start', 'test'], ['define', '/dev/null'],
                        ['schedinfo', 'test', '--set', 'cpu_shares=x']]),
    ('readonly', 'test', [['-r', 'list', '--all'], ['-r', 'destroy', 'test']]),
    ('networks', 'qemu', [['net-list', '--all'], ['net-define', '{NET_XML}'], ['net-dumpxml', 'seednet'],
                          ['net-info', 'seednet'], ['net-undefine', 'seednet']]),
    ('qemu-config', 'qemu', [['define', '{QEMU_XML}'], ['dumpxml', 'seed'], ['dominfo', 'seed'],
                             ['qemu-monitor-command', 'seed', '{"execute":"query-status"}'],
                             ['autostart', 'seed'], ['undefine', 'seed']]),
    ('lxc', 'lxc', [['define', '{LXC_XML}'], ['list', '--all'], ['lxc-enter-namespace', 'seed', '--', '/bin/true'],
                    ['undefine', 'seed']]),
]


class Relay:
    """Accepts clients on `path`, connects each to `target` and keeps what each side sent."""

    def __init__(self, path, target):
        self.target = target
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(16)
        self.connections = []  # [client bytes, server bytes, done] per accepted connection
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            client, _ = self.listener.accept()
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.connect(self.target)
            record = [bytearray(), bytearray(), threading.Event()]  # client bytes, server bytes, done
            with self.lock:
                self.connections.append(record)
            threading.Thread(target=self._pump, args=(client, server, record), daemon=True).start()

    @staticmethod
    def _pump(client, server, record):
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, (server, record[0]))
        sel.register(server, selectors.EVENT_READ, (client, record[1]))
        open_ends = 2
        while open_ends:
            for key, _ in sel.select():
                peer, recorded = key.data
                data = key.fileobj.recv(65536)
                if not data:
                    sel.unregister(key.fileobj)
                    open_ends -= 1
                    try:
                        peer.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    continue
                recorded += data
                peer.sendall(data)
        client.close()
        server.close()
        record[2].set()

    def take(self):
        with self.lock:
            taken, self.connections = self.connections, []
        return taken


def main(argv):
    if len(argv) != 3:
        print('usage: capture_xdr_corpus.py BIN_DIR CORPUS_DIR', file=sys.stderr)
        return 2
    bin_dir, out_dir = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    os.makedirs(out_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix='corral-capture-')
    daemon = CorralDaemon(bin_dir, os.path.join(work, 'root')).start()
    relay_path = os.path.join(work, 'relay.sock')
    relay = Relay(relay_path, daemon.socket)
    files = {'{TEST_XML}': TEST_XML, '{QEMU_XML}': QEMU_XML, '{LXC_XML}': LXC_XML, '{NET_XML}': NET_XML}
    for placeholder, text in files.items():
        path = os.path.join(work, placeholder.strip('{}').lower() + '.xml')
        with open(path, 'w') as f:
            f.write(text)
        files[placeholder] = path
    path = {'test': '/default', 'qemu': '/system', 'lxc': '/'}
    try:
        for name, driver, commands in SESSIONS:
            uri = f'{driver}+unix://{path[driver]}?socket={relay_path}'
            for args in commands:
                args = [files.get(a, a) for a in args]
                subprocess.run(['virsh', '-c', uri] + args, capture_output=True, timeout=60)
            write(out_dir, name, relay, wait_for=len(commands))
        # Events (MESSAGE packets) and keepalive: a watcher with a 1 s keepalive idles long enough
        # to ping (and be answered), then sees another client change the test domain.
        uri = f'test+unix:///default?socket={relay_path}'
        watcher = subprocess.Popen(['virsh', '-k', '1', '-K', '5', '-c', uri, 'event', '--all', '--loop',
                                    '--timeout', '6'], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(3)  # idle: keepalive PINGs and PONGs
        direct = f'test+unix:///default?socket={daemon.socket}'  # not recorded: only the watcher's bytes
        for step in (['suspend', 'test'], ['resume', 'test'], ['desc', 'test', '--live', '--title', 'event'],
                     ['schedinfo', 'test', '--live', '--set', 'cpu_shares=700'], ['destroy', 'test'],
                     ['start', 'test']):
            subprocess.run(['virsh', '-c', direct] + step, capture_output=True, timeout=60)
        watcher.communicate(timeout=60)
        write(out_dir, 'events-keepalive', relay, wait_for=1)
    finally:
        daemon.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def write(out_dir, name, relay, wait_for):
    deadline = time.monotonic() + 30
    while len(relay.connections) < wait_for and time.monotonic() < deadline:
        time.sleep(0.05)
    taken = relay.take()
    for _, _, done in taken:
        done.wait(30)  # both sides closed and copied
    for i, (client, server, _) in enumerate(taken):
        for side, data in (('client', client), ('server', server)):
            if data:
                with open(os.path.join(out_dir, f'{name}-{i}.{side}'), 'wb') as f:
                    f.write(bytes(data))


if __name__ == '__main__':
    sys.exit(main(sys.argv))
