# SPDX-License-Identifier: LGPL-2.1-or-later
# 200 concurrent clients issuing mixed calls: no error, no leak (fds and RSS back near baseline).
import os
import threading
import time

import libvirt

from framework.qemu_fixtures import wait_for
from framework.tools import domain_xml

CLIENTS = int(os.environ.get('CORRAL_SOAK_CLIENTS', '200'))
SECONDS = float(os.environ.get('CORRAL_SOAK_SECONDS', '30'))


def test_concurrent_clients_no_errors_no_leaks(daemon):
    uri = daemon.uri('test')
    # Warm up once so lazily allocated state is in the baseline.
    c = libvirt.open(uri)
    c.listAllDomains()
    c.close()
    wait_for(lambda: daemon.client_connections() == 0, timeout=30, what='the warm-up client to be reaped')
    fds_before = daemon.fd_count()
    rss_before = daemon.rss_kib()

    errors = []
    calls = [0] * CLIENTS
    deadline = time.monotonic() + SECONDS
    start = threading.Barrier(CLIENTS)

    def client(i):
        try:
            conn = libvirt.open(uri)
        except libvirt.libvirtError as e:
            errors.append(f'client {i} open: {e}')
            return
        try:
            start.wait(60)
            name = f'soak{i}'
            while time.monotonic() < deadline:
                dom = conn.defineXML(domain_xml(name))
                conn.lookupByName(name).info()
                conn.lookupByName('test').state()
                assert len(conn.listAllDomains()) >= 1
                dom.XMLDesc(0)
                dom.create()
                dom.destroy()
                dom.undefine()
                calls[i] += 8
        except Exception as e:  # noqa: BLE001 - every failure is a test failure, reported below
            errors.append(f'client {i}: {e!r}')
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(SECONDS + 120)
    hung = [i for i, t in enumerate(threads) if t.is_alive()]
    assert not hung, f'{len(hung)} clients still in a call after {SECONDS + 120:.0f} s: {hung[:10]}'
    assert not errors, errors[:5]
    assert sum(calls) > CLIENTS
    # The I/O thread reaps closed clients: wait until it has, then compare.
    wait_for(lambda: daemon.client_connections() == 0, timeout=60, what='the closed clients to be reaped')
    fds_after = daemon.fd_count()
    rss_after = daemon.rss_kib()
    assert fds_after <= fds_before + 4, (fds_before, fds_after)
    assert rss_after - rss_before < 50 * 1024, (rss_before, rss_after)
    assert daemon.alive()
