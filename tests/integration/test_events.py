# SPDX-License-Identifier: LGPL-2.1-or-later
# Lifecycle events reach the real virsh (`event --loop --all`) and python3-libvirt's event loop.
import subprocess
import threading
import time

import libvirt

from framework.event_loop import ensure_event_loop
from framework.tools import domain_xml, virsh

EXPECTED = [
    "event 'lifecycle' for domain 'ev': Defined Added",
    "event 'lifecycle' for domain 'ev': Started Booted",
    "event 'lifecycle' for domain 'ev': Suspended Paused",
    "event 'lifecycle' for domain 'ev': Resumed Unpaused",
    "event 'lifecycle' for domain 'ev': Stopped Destroyed",
    "event 'lifecycle' for domain 'ev': Undefined Removed",
]


def drive(uri, path):
    for step in (['define', path], ['start', 'ev'], ['suspend', 'ev'], ['resume', 'ev'],
                 ['destroy', 'ev'], ['undefine', 'ev']):
        r = virsh(uri, *step)
        assert r.rc == 0, (step, r.err)


def test_virsh_event_loop_prints_lifecycle(daemon, write_file):
    uri = daemon.uri('test')
    path = write_file('ev.xml', domain_xml('ev'))
    watcher = subprocess.Popen(['virsh', '-c', uri, 'event', '--loop', '--timeout', '8', '--all'],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)  # let it connect and register; the test asserts order, not speed
    drive(uri, path)
    out, err = watcher.communicate(timeout=30)
    lines = [l for l in out.splitlines() if l.startswith("event '")]
    assert lines == EXPECTED, (out, err)
    assert 'events received: 6' in out


def test_python_event_loop_receives_lifecycle(daemon, write_file):
    ensure_event_loop()
    conn = libvirt.open(daemon.uri('test'))
    got = []
    done = threading.Event()

    def callback(_conn, dom, event, detail, _opaque):
        got.append((dom.name(), event, detail))
        if event == libvirt.VIR_DOMAIN_EVENT_UNDEFINED:
            done.set()

    cb = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, callback, None)
    try:
        drive(daemon.uri('test'), write_file('ev.xml', domain_xml('ev')))
        assert done.wait(20), got
        assert got == [
            ('ev', libvirt.VIR_DOMAIN_EVENT_DEFINED, libvirt.VIR_DOMAIN_EVENT_DEFINED_ADDED),
            ('ev', libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED),
            ('ev', libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED),
            ('ev', libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED),
            ('ev', libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED),
            ('ev', libvirt.VIR_DOMAIN_EVENT_UNDEFINED, libvirt.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED),
        ]
    finally:
        conn.domainEventDeregisterAny(cb)
        conn.close()


def test_event_filtered_by_domain(daemon, write_file):
    uri = daemon.uri('test')
    watcher = subprocess.Popen(['virsh', '-c', uri, 'event', 'test', '--event', 'lifecycle', '--loop',
                                '--timeout', '5'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    drive(uri, write_file('ev.xml', domain_xml('ev')))
    assert virsh(uri, 'suspend', 'test').rc == 0
    out, _ = watcher.communicate(timeout=30)
    lines = [l for l in out.splitlines() if l.startswith("event '")]
    assert lines == ["event 'lifecycle' for domain 'test': Suspended Paused"], out
