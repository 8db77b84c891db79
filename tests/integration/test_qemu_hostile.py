# SPDX-License-Identifier: LGPL-2.1-or-later
# A compromised QEMU (a guest that escaped into its emulator speaks QMP for it): what it sends
# cannot make corrald hold unbounded memory, stop serving other clients, or hand clients bytes
# they cannot decode. The QEMU here is framework/hostile_qmp.py, replaying one hostile message.
import json
import os
import threading
import time

import libvirt

from framework import hostile_qmp
from framework.event_loop import ensure_event_loop
from framework.tools import virsh

import pytest

MIB = 1024 * 1024


def status_kib(pid, field):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise AssertionError(f'no {field} for {pid}')


@pytest.fixture
def fake(daemon, tmpdir_path):
    """Starts guests whose <emulator> is the fake QEMU; Landlock off, as it only lets a guest
    run programs under /usr and /lib."""
    conf = os.path.join(daemon.root, 'etc', 'corral', 'qemu.conf')
    os.makedirs(os.path.dirname(conf), exist_ok=True)
    with open(conf, 'w') as f:
        f.write('landlock = 0\n')
    daemon.stop()
    daemon.start()
    uri = daemon.uri('qemu')
    names = []

    def start(name, hostile):
        directory = os.path.join(tmpdir_path, name)
        os.makedirs(directory)
        os.chmod(directory, 0o755)
        emulator = hostile_qmp.install(directory, {'on': dict(hostile)})
        xml = (f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
               f"<os><type arch='x86_64'>hvm</type></os><devices><emulator>{emulator}</emulator></devices></domain>")
        path = os.path.join(directory, 'domain.xml')
        with open(path, 'w') as f:
            f.write(xml)
        assert virsh(uri, 'define', path).rc == 0
        names.append(name)
        r = virsh(uri, 'start', name)
        assert r.rc == 0, r.err
        return name

    class F:
        pass

    f = F()
    f.uri, f.daemon, f.start = uri, daemon, start
    yield f
    if daemon.alive():
        for n in names:
            virsh(uri, 'destroy', n)


def monitor(uri, name, command):
    return virsh(uri, 'qemu-monitor-command', name, json.dumps({'execute': command}), timeout=120)


def attack_while_serving(fake, names, command):
    """Sends `command` to every guest in `names` at once and, until all have answered, times a
    domain list on another connection; returns the monitor results and the longest list."""
    results = {}

    def send(name):
        results[name] = monitor(fake.uri, name, command)

    threads = [threading.Thread(target=send, args=(n,)) for n in names]
    for t in threads:
        t.start()
    slowest = 0.0
    while any(t.is_alive() for t in threads) or slowest == 0.0:
        began = time.monotonic()
        r = virsh(fake.uri, 'list', '--all', '--name')
        slowest = max(slowest, time.monotonic() - began)
        assert r.rc == 0 and set(names) <= set(r.out.split()), r
    for t in threads:
        t.join()
    return results, slowest


def test_a_16_mib_qmp_line_is_dropped_unread_and_memory_stays_bounded(fake):
    # Before: parsed in full, about 515 MiB, and 448 MiB still held afterwards.
    name = fake.start('huge', [('x-huge', f'array-line:{16 * MIB}')])
    pid = fake.daemon.pid
    rss_before = status_kib(pid, 'VmRSS')
    results, slowest = attack_while_serving(fake, [name], 'x-huge')
    r = results[name]
    assert r.rc != 0 and 'unreadable reply from the QEMU monitor' in r.err, r
    # The peak over the whole attack, and what stays: a 2 MiB line buffer at most, given back.
    peak = status_kib(pid, 'VmHWM') - rss_before
    held = status_kib(pid, 'VmRSS') - rss_before
    print(f'16 MiB line: RSS {rss_before} KiB before, peak +{peak} KiB, +{held} KiB after; list {slowest:.2f} s')
    assert peak < 24 * 1024, f'RSS grew by {peak} KiB at the peak'
    assert held < 8 * 1024, f'RSS stayed {held} KiB above where it was'
    assert slowest < 10, f'a domain list took {slowest:.1f} s during the attack'
    # The monitor still works: the guest is managed as before.
    assert virsh(fake.uri, 'domstate', name).out.strip() == 'running'
    assert monitor(fake.uri, name, 'query-status').rc == 0


def test_messages_too_costly_to_parse_are_refused_per_guest(fake):
    # 1.9 MB of "0," is under the 2 MiB line limit but up to 80 MiB once parsed; four guests
    # sending it at once could take 320 MiB. Each guest's parse stops at its 12 MiB bound.
    names = [fake.start(f'costly{i}', [('x-costly', f'array-line:{1900 * 1000}')]) for i in range(4)]
    pid = fake.daemon.pid
    rss_before = status_kib(pid, 'VmRSS')
    results, slowest = attack_while_serving(fake, names, 'x-costly')
    for name in names:
        assert results[name].rc != 0 and 'unreadable reply from the QEMU monitor' in results[name].err, results[name]
    peak = status_kib(pid, 'VmHWM') - rss_before
    held = status_kib(pid, 'VmRSS') - rss_before
    print(f'4 x 1.9 MB lines: RSS {rss_before} KiB before, peak +{peak} KiB, +{held} KiB after; list {slowest:.2f} s')
    # Four guests at (2 MiB line + 12 MiB parse) each, plus what threads and malloc arenas keep.
    assert peak < 4 * 14 * 1024 + 16 * 1024, f'RSS grew by {peak} KiB at the peak'
    assert held < 8 * 1024, f'RSS stayed {held} KiB above where it was'
    assert slowest < 10, f'a domain list took {slowest:.1f} s during the attack'
    assert 'bytes of memory once parsed' in fake.daemon.stderr()


def test_invalid_utf8_in_event_strings_reaches_python_libvirt_as_text(fake):
    # Before: the bytes went on the wire as QEMU sent them and python3-libvirt's callback raised
    # UnicodeDecodeError, so the client never saw the event.
    name = fake.start('utf8', [('x-emit', 'bad-utf8-event')])
    ensure_event_loop()
    conn = libvirt.open(fake.uri)
    got = []
    arrived = threading.Event()

    def io_error(_c, dom, src, alias, action, reason, _o):
        got.append((dom.name(), src, alias, action, reason))
        arrived.set()

    cb = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON, io_error, None)
    try:
        assert monitor(fake.uri, name, 'x-emit').rc == 0
        assert arrived.wait(30), 'the I/O error event never reached the client'
    finally:
        conn.domainEventDeregisterAny(cb)
        conn.close()
    # Each byte that is not UTF-8 became U+FFFD; everything else is as QEMU sent it.
    assert got == [(name, '', 'disk\ufffd\ufffd', libvirt.VIR_DOMAIN_EVENT_IO_ERROR_REPORT,
                    'bad \ufffd( bytes \ufffd\ufffd\ufffd \ufffd\ufffd end')], got
