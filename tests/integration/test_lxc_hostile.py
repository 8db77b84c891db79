# SPDX-License-Identifier: LGPL-2.1-or-later
# A compromised container init that spends what it is given (framework/ct_hostile.c), and
# clients that abuse consoles: neither may grow corrald's memory, stop it serving other clients,
# fill the host's disk, or keep a container from being destroyed. Each test states its bounds:
# generous figures, never a timing the test depends on otherwise.
import os
import re
import struct
import threading
import time

import libvirt
import pytest

from framework import cgroups
from framework.container import build_rootfs, container_xml
from framework.pressure import LatencyProbe, rss_mib
from framework.qemu_fixtures import wait_for
from framework.rawclient import RawClient, error_of, xdr_string
from framework.tools import virsh

pytestmark = pytest.mark.skipif(not os.path.exists('/bin/busybox'),
                                reason='busybox-static is not installed (scripts/setup.sh installs it)')

MIB = 2 ** 20
LATENCY_BOUND = 5.0           # seconds: root's connect + lookup on the read-write socket, at worst
RSS_BOUND = 16                # MiB: what an attack may add to corrald's resident memory
CONSOLE_LOG_BOUND = 4 * MIB   # a container's console log and its one rotated copy, together
STREAM, CONTINUE = 3, 2       # libvirt message type and status of stream data
OPEN_CONSOLE = 201


@pytest.fixture
def lxc(daemon, tmpdir_path):
    rootfs = build_rootfs(os.path.join(tmpdir_path, 'rootfs'))

    class C:
        uri = daemon.uri('lxc')

        def __init__(self):
            self.daemon = daemon
            self.names = []

        def configure(self, text):
            conf = os.path.join(daemon.root, 'etc', 'corral', 'lxc.conf')
            os.makedirs(os.path.dirname(conf), exist_ok=True)
            with open(conf, 'w') as f:
                f.write(text)
            daemon.stop()
            daemon.start()

        def log_path(self, name):
            return os.path.join(daemon.root, 'log', 'corral', 'lxc', name + '.log')

        def console(self, name):
            text = ''
            for path in (self.log_path(name) + '.0', self.log_path(name)):
                try:
                    with open(path, errors='replace') as f:
                        text += f.read()
                except OSError:
                    pass
            return text

        def start(self, name, initargs=(), marker='devices='):
            path = os.path.join(tmpdir_path, name + '.xml')
            with open(path, 'w') as f:
                f.write(container_xml(name, rootfs, initargs=initargs))
            assert virsh(self.uri, 'define', path).rc == 0
            self.names.append(name)
            r = virsh(self.uri, 'start', name)
            assert r.rc == 0, r.err
            if marker is None:  # a flood: its first lines are rotated out of the log at once
                wait_for(lambda: self.progress_mib() >= 1, timeout=60, what=f'{name} to flood')
            else:
                wait_for(lambda: marker in self.console(name), timeout=60, what=f'{name} to print {marker!r}')

        def pids(self, name):
            with open(os.path.join(daemon.root, 'run', 'corral', 'lxc', name + '.state')) as f:
                controller, init = f.read().split()[:2]
            return int(controller), int(init)

        def progress_mib(self):
            try:
                with open(os.path.join(rootfs, 'tmp', 'hostile-progress')) as f:
                    return int(f.read().strip() or 0)
            except (OSError, ValueError):
                return 0

        def destroy(self, name, bound=60):
            start = time.monotonic()
            r = virsh(self.uri, 'destroy', name, timeout=bound)
            took = time.monotonic() - start
            assert r.rc == 0, r.err
            assert took < bound, took
            return took

    c = C()
    yield c
    if daemon.alive():
        for n in c.names:
            virsh(c.uri, 'destroy', n)


def threads(daemon):
    return len(os.listdir(f'/proc/{daemon.proc.pid}/task'))


def fds(daemon):
    return len(os.listdir(f'/proc/{daemon.proc.pid}/fd'))


def open_console_raw(lxc, name, flags=0):
    """A raw client holding the console of `name` open; returns (client, the stream's serial)."""
    c = RawClient(lxc.daemon.socket, timeout=30)
    c.open('lxc:///')
    dom = c.call(23, xdr_string(name))[1]  # DOMAIN_LOOKUP_BY_NAME
    serial = c.serial
    reply = c.call(OPEN_CONSOLE, dom + struct.pack('>II', 0, flags))  # no device name: the first
    assert reply[0][5] == 0, error_of(reply)
    return c, serial


def stream_packet(serial, data):
    body = struct.pack('>IIiIII', 0x20008086, 1, OPEN_CONSOLE, STREAM, serial, CONTINUE) + data
    return struct.pack('>I', len(body) + 4) + body


def test_a_fork_bomb_is_held_at_its_pids_limit_and_destroy_still_ends_it(lxc):
    """Bounds: the bomb's group never holds more than max_processes (48) tasks; root's calls on
    another connection are answered within 5 s while it keeps forking; a second container keeps
    running; destroy takes under 60 s and leaves no task and no group behind."""
    lxc.configure('max_processes = 48\n')
    lxc.start('bystander')
    with LatencyProbe(lxc.daemon) as probe:
        lxc.start('bomb', initargs=['hostile', 'fork'], marker='HOSTILE fork limit')
        group = cgroups.group_dir(lxc.pids('bomb')[1], 'pids')
        probe.wait_rounds(20)
    limit = re.search(r'HOSTILE fork limit after (\d+) children: (.*)', lxc.console('bomb'))
    assert int(cgroups.read(os.path.join(group, 'pids.current'))) <= 48
    assert 'Resource temporarily unavailable' in limit.group(2), limit.group(0)
    print(f'\nfork bomb: {limit.group(1)} children before the limit; root: {probe.figures()}')
    probe.assert_served(LATENCY_BOUND)
    assert 'running' in virsh(lxc.uri, 'domstate', 'bystander').out
    lxc.destroy('bomb')
    assert not os.path.exists(group), f'{group} is still there after destroy'
    assert 'running' in virsh(lxc.uri, 'domstate', 'bystander').out


def test_a_console_flood_nobody_reads_keeps_the_log_and_the_daemon_bounded(lxc):
    """A container writes to its console as fast as it can while a client holds the console
    open and never reads. Bounds: the console log and its rotated copy together stay under
    4 MiB however much is written (64 MiB here: before, the log took all of it, without limit);
    corrald's RSS grows by less than 16 MiB (its relay stops reading once 1 MiB waits for the
    client); root is answered within 5 s throughout; destroy takes under 60 s."""
    lxc.start('flood', initargs=['hostile', 'flood'], marker=None)
    c, _serial = open_console_raw(lxc, 'flood')
    rss_before = rss_mib(lxc.daemon)
    with LatencyProbe(lxc.daemon) as probe:
        start = lxc.progress_mib()
        wait_for(lambda: lxc.progress_mib() - start >= 64, timeout=300, what='64 MiB of console output')
        rss_flood = rss_mib(lxc.daemon)
    log = lxc.log_path('flood')
    sizes = [os.path.getsize(p) for p in (log, log + '.0') if os.path.exists(p)]
    print(f'\nconsole flood: {lxc.progress_mib()} MiB written, log files {sizes} bytes; RSS '
          f'{rss_before:.1f} -> {rss_flood:.1f} MiB; root: {probe.figures()}')
    assert sum(sizes) < CONSOLE_LOG_BOUND, sizes
    assert rss_flood - rss_before < RSS_BOUND, (rss_before, rss_flood)
    probe.assert_served(LATENCY_BOUND)
    lxc.destroy('flood')
    c.close()


def test_console_input_a_container_never_reads_does_not_stall_the_daemon(lxc):
    """A client types 16 MiB into the console of a container that never reads it (the tty's
    buffer fills, then the controller's socket). Bounds: root is answered within 5 s
    throughout (before, corrald's I/O thread blocked writing the keys and served nobody);
    corrald's RSS grows by less than 16 MiB (the typist is no longer read from, so its keys
    wait in its own socket); destroy takes under 60 s, after which the typist, reading its
    output again as a client must, is read from again (the keys nobody will take are dropped)
    and its connection answers a call within 60 s."""
    lxc.start('deaf', initargs=['hostile', 'deaf'], marker='HOSTILE deaf')
    c, serial = open_console_raw(lxc, 'deaf')
    rss_before = rss_mib(lxc.daemon)
    chunk = stream_packet(serial, b'k' * 65536)
    sent = []
    c.sock.settimeout(None)  # the typist blocks while corrald holds it back: whole packets only

    def typist():
        try:
            for _ in range(256):
                c.send_raw(chunk)
                sent.append(len(chunk))
        except OSError as e:
            sent.append(e)

    t = threading.Thread(target=typist, daemon=True)
    with LatencyProbe(lxc.daemon) as probe:
        t.start()
        wait_for(lambda: sum(n for n in sent if isinstance(n, int)) >= MIB, timeout=60, what='1 MiB of keys taken')
        probe.wait_rounds(50)
        rss_typed = rss_mib(lxc.daemon)
    typed = sum(n for n in sent if isinstance(n, int)) / MIB
    print(f'\ndeaf console: {typed:.1f} MiB typed while root was served; RSS '
          f'{rss_before:.1f} -> {rss_typed:.1f} MiB; root: {probe.figures()}')
    probe.assert_served(LATENCY_BOUND)
    assert rss_typed - rss_before < RSS_BOUND, (rss_before, rss_typed)
    lxc.destroy('deaf')
    # The client now reads what it was sent (the echo of its keys, the end of the stream), as a
    # client must to be served: its keys go through (dropped), then a call is answered.
    replies = []

    def reader():
        while True:
            got = c.recv()
            if got is None or got[0][3] == 1:  # closed, or a REPLY
                replies.append(got)
                return

    r = threading.Thread(target=reader, daemon=True)
    r.start()
    t.join(60)
    assert not t.is_alive(), f'the typist is still held back after destroy ({typed:.1f} MiB sent)'
    assert all(isinstance(n, int) for n in sent), sent[-1]
    c.send(23, xdr_string('deaf'))  # DOMAIN_LOOKUP_BY_NAME: any answer
    r.join(60)
    assert replies and replies[0] is not None, replies
    c.close()


def test_a_second_console_is_refused_unless_forced_and_the_taken_one_ends(lxc):
    """As libvirt: while a console is open, another open without --force fails with "Active
    console session exists for this domain"; with --force it takes the console over and the
    first stream ends with an error. Bounds: 100 forced take-overs leave corrald with the
    threads and descriptors it had (give or take 2)."""
    lxc.start('shared', initargs=['shell'], marker='CORRAL-CT-SHELL')
    conn = libvirt.open(lxc.uri)
    try:
        dom = conn.lookupByName('shared')
        first = conn.newStream(0)
        dom.openConsole(None, first, 0)
        second = conn.newStream(0)
        with pytest.raises(libvirt.libvirtError, match='Active console session exists for this domain'):
            dom.openConsole(None, second, 0)
        forced = conn.newStream(0)
        dom.openConsole(None, forced, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
        with pytest.raises(libvirt.libvirtError, match='taken over'):
            while first.recv(4096):
                pass
        forced.send(b'echo TAKEN-$((6*7))\n')
        got = b''
        while b'TAKEN-42' not in got:
            chunk = forced.recv(4096)
            assert chunk, got
            got += chunk
        forced.abort()
        base_threads, base_fds = threads(lxc.daemon), fds(lxc.daemon)
        streams = []
        for _ in range(100):
            s = conn.newStream(0)
            dom.openConsole(None, s, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
            streams.append(s)
        for s in streams:
            try:
                s.abort()
            except libvirt.libvirtError:
                pass  # taken over already
        wait_for(lambda: threads(lxc.daemon) <= base_threads + 2 and fds(lxc.daemon) <= base_fds + 2, timeout=30,
                 what=f'the daemon to drop the taken consoles (threads {threads(lxc.daemon)}, '
                      f'descriptors {fds(lxc.daemon)})')
        last = conn.newStream(0)
        dom.openConsole(None, last, 0)  # nothing holds it now: no --force needed
        last.abort()
    finally:
        conn.close()


def test_a_console_across_destroy_ends_and_leaks_nothing(lxc):
    """Bounds: a console open while its container is destroyed ends (end of data) within 30 s,
    and the client's connection goes on; corrald is back to its threads and descriptors (give or take 2); a console of the same
    container started again opens without --force."""
    lxc.start('doomed', initargs=['shell'], marker='CORRAL-CT-SHELL')
    conn = libvirt.open(lxc.uri)
    try:
        base_threads, base_fds = threads(lxc.daemon), fds(lxc.daemon)
        dom = conn.lookupByName('doomed')
        stream = conn.newStream(0)
        dom.openConsole(None, stream, 0)
        ended = threading.Event()
        outcome = []

        def drain():
            try:
                while stream.recv(4096):
                    pass
                outcome.append('end of stream')
            except libvirt.libvirtError as e:
                outcome.append(str(e))
            ended.set()
        threading.Thread(target=drain, daemon=True).start()
        lxc.destroy('doomed')
        assert ended.wait(30), 'the console stream did not end after destroy'
        # The end of data, on a connection that goes on (before, corrald confirmed a finish the
        # client had not asked for, and libvirt's client dropped the whole connection).
        assert outcome == ['end of stream'] and conn.isAlive() == 1, outcome
        stream.finish()
        wait_for(lambda: threads(lxc.daemon) <= base_threads + 2 and fds(lxc.daemon) <= base_fds + 2, timeout=30,
                 what='the daemon to drop the console')
        assert virsh(lxc.uri, 'start', 'doomed').rc == 0
        wait_for(lambda: lxc.console('doomed').count('CORRAL-CT-SHELL') >= 2, timeout=60, what='the restart')
        again = conn.newStream(0)
        dom.openConsole(None, again, 0)
        again.abort()
    finally:
        conn.close()


def test_console_streams_aborted_mid_flood_leave_nothing_behind(lxc):
    """Console streams are the only streams corrald serves (no screenshot or volume transfer).
    A client aborts 30 of them in the middle of a flood of output, then drops a connection
    with one open. Bounds: corrald's threads and descriptors return to where they were (give
    or take 2) within 30 s, and the console still opens without --force."""
    lxc.start('gush', initargs=['hostile', 'flood'], marker=None)
    conn = libvirt.open(lxc.uri)
    try:
        dom = conn.lookupByName('gush')
        base_threads, base_fds = threads(lxc.daemon), fds(lxc.daemon)
        def abort_mid_transfer():
            for _ in range(30):
                s = conn.newStream(0)
                dom.openConsole(None, s, 0)
                assert s.recv(4096)  # mid-transfer
                s.abort()  # waits for corrald's answer
        worker = threading.Thread(target=abort_mid_transfer, daemon=True)
        worker.start()
        worker.join(120)
        # Before, an abort while the relay waited for the client to read was never answered.
        assert not worker.is_alive(), 'an abort of a console stream was never answered'
        c, _serial = open_console_raw(lxc, 'gush')
        c.close()  # the connection goes with its stream open
        wait_for(lambda: threads(lxc.daemon) <= base_threads + 2 and fds(lxc.daemon) <= base_fds + 2, timeout=30,
                 what=f'the daemon to drop the aborted consoles (threads {threads(lxc.daemon)}, '
                      f'descriptors {fds(lxc.daemon)})')
        again = conn.newStream(0)
        dom.openConsole(None, again, 0)
        again.abort()
    finally:
        conn.close()
    lxc.destroy('gush')


def test_an_initctl_fifo_never_read_does_not_hang_shutdown(lxc):
    """The container makes /run/initctl a FIFO it holds open, fills it and writes to it forever.
    Bounds: `shutdown --mode initctl` answers within 30 s (refused, naming the FIFO); root is
    answered within 5 s meanwhile; destroy takes under 60 s."""
    lxc.start('jammed', initargs=['hostile', 'initctl'], marker='HOSTILE initctl full')
    with LatencyProbe(lxc.daemon) as probe:
        start = time.monotonic()
        r = virsh(lxc.uri, 'shutdown', 'jammed', '--mode', 'initctl', timeout=30)
        took = time.monotonic() - start
        probe.wait_rounds(5)
    print(f'\nfull initctl: shutdown answered in {took:.2f} s: {r.err.strip()}; root: {probe.figures()}')
    assert took < 30
    assert r.rc != 0 and 'initctl' in r.err, (r.rc, r.out, r.err)
    probe.assert_served(LATENCY_BOUND)
    lxc.destroy('jammed')


def test_proc_views_opened_and_never_read_keep_the_controller_bounded(lxc):
    """The container opens its /proc/meminfo (a view its controller serves over FUSE) as often
    as its descriptor limit allows and never reads or closes one. Bounds: the controller holds
    at most 1024 views open for it (each further open fails with ENFILE) and its RSS stays under
    16 MiB (before, it kept one generated text per open: about 40 MiB for 20000); root is
    answered within 5 s; destroy takes under 60 s."""
    lxc.start('hoarder', initargs=['hostile', 'views'], marker='HOSTILE views opened')
    controller, _init = lxc.pids('hoarder')
    opened = re.search(r'HOSTILE views opened (\d+) then (.*)', lxc.console('hoarder'))
    with open(f'/proc/{controller}/status') as f:
        rss = int(re.search(r'VmRSS:\s+(\d+)', f.read()).group(1)) / 1024
    print(f'\nhoarded views: {opened.group(0)}; controller RSS {rss:.1f} MiB')
    assert int(opened.group(1)) <= 1024 and 'Too many open files in system' in opened.group(2), opened.group(0)
    assert rss < RSS_BOUND, rss
    with LatencyProbe(lxc.daemon) as probe:
        probe.wait_rounds(5)
    probe.assert_served(LATENCY_BOUND)
    lxc.destroy('hoarder')
