# SPDX-License-Identifier: LGPL-2.1-or-later
# The two worker pools (max_workers, prio_workers): while every normal worker is stuck in a slow
# call, high-priority calls (libvirt's `priority:high` procedures) are still served by their own
# pool, from new clients too, and the normal pool never grows past max_workers.
import os
import platform
import threading

import libvirt
import pytest

from framework.qemu_fixtures import wait_for

# What one virsh call changes on test:///default must still be there for the next.
pytestmark = pytest.mark.usefixtures('held_test_state')

OPENAT = {'x86_64': 257, 'aarch64': 56}.get(platform.machine())
MAX_WORKERS = 2


def threads(pid, prefix):
    """[(tid, syscall line)] of the daemon's threads whose name starts with `prefix` (the pools
    name their threads corrald-worker-N and corrald-prio-N, cut to 15 characters)."""
    out = []
    for tid in os.listdir(f'/proc/{pid}/task'):
        try:
            with open(f'/proc/{pid}/task/{tid}/comm') as f:
                if not f.read().strip().startswith(prefix):
                    continue
            with open(f'/proc/{pid}/task/{tid}/syscall') as f:
                out.append((int(tid), f.read().strip()))
        except OSError:
            continue  # the thread ended
    return out


def blocked_in_open(pid):
    return sum(1 for _, call in threads(pid, 'corrald-worker') if call.split()[0] == str(OPENAT))


@pytest.mark.skipif(OPENAT is None, reason='openat number unknown on this architecture')
def test_high_priority_calls_are_served_while_the_normal_pool_is_saturated(daemon, tmpdir_path):
    daemon.stop()
    daemon.write_config(f'min_workers = 1\nmax_workers = {MAX_WORKERS}\nprio_workers = 1\n')
    daemon.start()
    uri = daemon.uri()
    # A restore opens its image first; on a FIFO nobody writes to, that open waits until a
    # writer comes: a real call that holds a normal worker for as long as the test wants.
    fifos = [os.path.join(tmpdir_path, f'image{i}') for i in range(MAX_WORKERS)]
    for path in fifos:
        os.mkfifo(path)
    blockers, results = [], {}

    def call(key, fn):
        try:
            results[key] = ('ok', fn())
        except libvirt.libvirtError as e:
            results[key] = ('error', e.get_error_message())

    conns = [libvirt.open(uri) for _ in range(MAX_WORKERS + 1)]
    released = False
    try:
        for i, path in enumerate(fifos):
            t = threading.Thread(target=call, args=(f'restore{i}', lambda c=conns[i], p=path: c.restore(p)))
            t.start()
            blockers.append(t)
        wait_for(lambda: blocked_in_open(daemon.pid) == MAX_WORKERS, timeout=60,
                 what=f'{MAX_WORKERS} normal workers waiting on the images')
        # A normal-priority call now waits for a free normal worker.
        dom = conns[-1].lookupByName('test')  # answered on the I/O thread
        queued = threading.Thread(target=call, args=('xml', lambda: dom.XMLDesc(0)))
        queued.start()

        # High-priority calls, from a client that connects only now: served. (Were they queued
        # behind the restores they would wait for ever: the bound only keeps a failure short.)
        def high_priority():
            fresh = libvirt.open(uri)
            try:
                return fresh.getHostname(), fresh.getInfo()
            finally:
                fresh.close()
        served = threading.Thread(target=call, args=('high', high_priority))
        served.start()
        served.join(60)
        assert not served.is_alive(), 'a high-priority call waited for the normal pool'
        assert results['high'][0] == 'ok', results['high']
        hostname, info = results['high'][1]
        assert hostname and info[2] > 0
        assert 'xml' not in results and queued.is_alive()  # the normal pool is still full
        assert len(threads(daemon.pid, 'corrald-worker')) == MAX_WORKERS  # and did not grow
        assert blocked_in_open(daemon.pid) == MAX_WORKERS

        # A writer that closes at once: each restore reads an empty image and fails; the
        # workers are free and the queued call is answered.
        for path in fifos:
            with open(path, 'wb'):
                pass
        released = True
        queued.join(60)
        assert not queued.is_alive()
        assert results['xml'][0] == 'ok' and "<name>test</name>" in results['xml'][1]
        for t in blockers:
            t.join(60)
            assert not t.is_alive()
        for i in range(MAX_WORKERS):
            assert results[f'restore{i}'][0] == 'error', results
    finally:
        if not released:
            for path in fifos:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK) if os.path.exists(path) else None
                if fd is not None:
                    os.close(fd)
        for c in conns:
            c.close()
