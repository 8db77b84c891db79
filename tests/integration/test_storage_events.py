# SPDX-License-Identifier: LGPL-2.1-or-later
# Storage pool events (libvirt's STORAGE_POOL_EVENT_LIFECYCLE and _REFRESH) with the real
# `virsh pool-event --loop` (one per event id) and python3-libvirt's storagePoolEventRegisterAny: defined,
# created (build), started, refresh, stopped, deleted, undefined, and a transient pool's started
# and stopped, in the order and words Debian's libvirtd gives for the same session on a dir pool.
# Read-only clients get them too (as libvirt); a registration filtered to one pool hears only
# that pool; a deregistered callback hears nothing more.
import os
import threading
import time

import libvirt
import pytest

from framework.event_loop import ensure_event_loop
from framework.libvirtd import libvirtd  # noqa: F401 (fixture)
from framework.tools import virsh, watch

# test:///default's state lives while a connection is open (docs/test-driver.md): one is held
# so that a pool defined by one virsh call is there for the next.
pytestmark = pytest.mark.usefixtures('held_test_state')

PROBE = f'corral-probe-pool-{os.getpid()}'


def watch_pool_events(uri, base, in_memory=False):
    """`virsh pool-event --event lifecycle --loop` and `--event refresh --loop` on `uri` (virsh
    9.0's pool-event has no --all), returned once both listen: a probe pool is defined and
    undefined, and a transient probe pool refreshed, until each printed its probe line."""
    probe_dir = os.path.join(base, PROBE)
    if not in_memory:  # the test driver's pools touch no directory
        os.makedirs(probe_dir, exist_ok=True)
    r = virsh(uri, 'pool-create-as', PROBE, 'dir', '--target', probe_dir)
    assert r.rc == 0, r.err
    watchers = [watch(['virsh', '-c', uri, 'pool-event', '--event', e, '--loop']) for e in ('lifecycle', 'refresh')]
    signals = [f"event 'lifecycle' for storage pool {PROBE}-def: Undefined", f"event 'refresh' for storage pool {PROBE}"]

    def poke():
        for step in (('pool-define-as', PROBE + '-def', 'dir', '--target', probe_dir + '-def'),
                     ('pool-undefine', PROBE + '-def'), ('pool-refresh', PROBE)):
            r = virsh(uri, *step)
            assert r.rc == 0, (step, r.err)
    until_printed_each(watchers, signals, poke)
    r = virsh(uri, 'pool-destroy', PROBE)
    assert r.rc == 0, r.err
    return watchers


def until_printed_each(watchers, signals, poke, timeout=60):
    """Pokes until watcher i printed signals[i]; the short waits only pace the pokes."""
    deadline = time.monotonic() + timeout
    while True:
        poke()
        for w, text in zip(watchers, signals):
            w.wait_printed(text, 0.5)
        if all(w.printed(text) for w, text in zip(watchers, signals)):
            return
        assert time.monotonic() < deadline, [(w.argv, w.lines) for w in watchers]
        assert all(w.proc.poll() is None for w in watchers), [(w.argv, w.communicate()) for w in watchers]


def event_lines_of(watchers, last):
    """Each watcher's event lines (the probes' left out), once the lifecycle one printed `last`."""
    assert watchers[0].wait_printed(last, 60), watchers[0].lines
    lines = []
    for w in watchers:
        w.interrupt()
        out, _ = w.communicate(timeout=30)
        lines.append([line for line in out.splitlines() if line.startswith("event '") and PROBE not in line])
    return lines


def pool_session(uri, base):
    """The same pool commands on any daemon; returns the last event line they cause."""
    target = os.path.join(base, 'evpool')
    steps = [('pool-define-as', 'evp', 'dir', '--target', target), ('pool-build', 'evp'), ('pool-start', 'evp'),
             ('pool-refresh', 'evp'), ('pool-destroy', 'evp'), ('pool-delete', 'evp'), ('pool-undefine', 'evp'),
             ('pool-create-as', 'evt', 'dir', '--target', os.path.join(base, 'evtrans'), '--build'),
             ('pool-destroy', 'evt')]
    for step in steps:
        r = virsh(uri, *step)
        assert r.rc == 0, (uri, step, r.err)
    return "event 'lifecycle' for storage pool evt: Stopped"


EXPECTED = [[
    "event 'lifecycle' for storage pool evp: Defined",
    "event 'lifecycle' for storage pool evp: Created",
    "event 'lifecycle' for storage pool evp: Started",
    "event 'lifecycle' for storage pool evp: Stopped",
    "event 'lifecycle' for storage pool evp: Deleted",
    "event 'lifecycle' for storage pool evp: Undefined",
    "event 'lifecycle' for storage pool evt: Started",
    "event 'lifecycle' for storage pool evt: Stopped",
], ["event 'refresh' for storage pool evp"]]


def session_lines(uri, base):
    watchers = watch_pool_events(uri, base)
    last = pool_session(uri, base)
    return event_lines_of(watchers, last)


def test_virsh_pool_event_as_libvirtd(daemon, libvirtd, tmpdir_path):  # noqa: F811
    ours = os.path.join(tmpdir_path, 'corral')
    os.makedirs(ours)
    corral_lines = session_lines(daemon.uri('qemu'), ours)
    # libvirtd runs as nobody: its pools live in its own (nobody-writable) directory.
    theirs = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(libvirtd))), f'pools-{os.getpid()}')
    os.makedirs(theirs)
    os.chmod(theirs, 0o777)
    libvirt_lines = session_lines(f'qemu+unix:///session?socket={libvirtd}', theirs)
    assert libvirt_lines == EXPECTED, libvirt_lines
    assert corral_lines == libvirt_lines, corral_lines


def test_python_pool_events_read_only_filtered_and_deregistered(daemon, tmpdir_path):
    ensure_event_loop()
    uri = daemon.uri('qemu')
    ro = libvirt.openReadOnly(daemon.uri('qemu', readonly=True))
    rw = libvirt.open(uri)
    got, only_b, dropped = [], [], []
    done = threading.Event()

    def lifecycle(_conn, pool, event, detail, sink):
        sink.append((pool.name(), event, detail))
        # The filtered registration has the highest callback id: its copy of pb's undefine is
        # the last packet the session causes.
        if sink is only_b and event == libvirt.VIR_STORAGE_POOL_EVENT_UNDEFINED:
            done.set()

    def refresh(_conn, pool, sink):
        sink.append((pool.name(), 'refresh'))

    try:
        ids = [ro.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE, lifecycle, got),
               ro.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH, refresh, got)]
        # Defined before the filter names it: a registration for one pool takes a pool object.
        a = rw.storagePoolDefineXML(f"<pool type='dir'><name>pa</name><target><path>{tmpdir_path}/pa</path>"
                                    "</target></pool>", 0)
        b = rw.storagePoolDefineXML(f"<pool type='dir'><name>pb</name><target><path>{tmpdir_path}/pb</path>"
                                    "</target></pool>", 0)
        ids.append(ro.storagePoolEventRegisterAny(ro.storagePoolLookupByName('pb'),
                                                  libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE, lifecycle, only_b))
        # (libvirt's client keeps one unfiltered registration per event id and connection.)
        gone = rw.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE, lifecycle, dropped)
        rw.storagePoolEventDeregisterAny(gone)
        for pool in (a, b):
            pool.build(0)
            pool.create(0)
            pool.refresh(0)
            pool.destroy()
            pool.undefine()
        assert done.wait(30), got
        E = libvirt
        assert got == [('pa', E.VIR_STORAGE_POOL_EVENT_DEFINED, 0), ('pb', E.VIR_STORAGE_POOL_EVENT_DEFINED, 0),
                       ('pa', E.VIR_STORAGE_POOL_EVENT_CREATED, 0), ('pa', E.VIR_STORAGE_POOL_EVENT_STARTED, 0),
                       ('pa', 'refresh'), ('pa', E.VIR_STORAGE_POOL_EVENT_STOPPED, 0),
                       ('pa', E.VIR_STORAGE_POOL_EVENT_UNDEFINED, 0),
                       ('pb', E.VIR_STORAGE_POOL_EVENT_CREATED, 0), ('pb', E.VIR_STORAGE_POOL_EVENT_STARTED, 0),
                       ('pb', 'refresh'), ('pb', E.VIR_STORAGE_POOL_EVENT_STOPPED, 0),
                       ('pb', E.VIR_STORAGE_POOL_EVENT_UNDEFINED, 0)], got
        # Events of one connection arrive in order: the deregistered callback had nothing.
        assert [e[1] for e in only_b] == [E.VIR_STORAGE_POOL_EVENT_CREATED, E.VIR_STORAGE_POOL_EVENT_STARTED,
                                          E.VIR_STORAGE_POOL_EVENT_STOPPED, E.VIR_STORAGE_POOL_EVENT_UNDEFINED], only_b
        assert dropped == []
        for i in ids:
            ro.storagePoolEventDeregisterAny(i)
    finally:
        ro.close()
        rw.close()


def test_test_driver_raises_pool_events(daemon):
    """test:///default's in-memory pools raise the same events."""
    uri = daemon.uri('test')
    watchers = watch_pool_events(uri, '/', in_memory=True)
    steps = [('pool-define-as', 'tev', 'dir', '--target', '/tev'), ('pool-build', 'tev'), ('pool-start', 'tev'),
             ('pool-refresh', 'tev'), ('pool-destroy', 'tev'), ('pool-delete', 'tev'), ('pool-undefine', 'tev')]
    for step in steps:
        r = virsh(uri, *step)
        assert r.rc == 0, (step, r.err)
    lifecycle, refresh = event_lines_of(watchers, "event 'lifecycle' for storage pool tev: Undefined")
    assert lifecycle == [line.replace('evp', 'tev') for line in EXPECTED[0][:6]], lifecycle
    assert refresh == ["event 'refresh' for storage pool tev"], refresh
