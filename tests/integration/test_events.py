# SPDX-License-Identifier: LGPL-2.1-or-later
# Lifecycle events reach the real virsh (`event --loop --all`) and python3-libvirt's event loop.
import threading
import time

import libvirt

from framework.event_loop import ensure_event_loop
from framework.tools import domain_xml, event_lines, until_printed, virsh, watch, watch_events
import pytest  # noqa: E402

# What one virsh call changes on test:///default must still be there for the next.
pytestmark = pytest.mark.usefixtures('held_test_state')

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
    [watcher] = watch_events(uri, [['virsh', '-c', uri, 'event', '--loop', '--all']])
    drive(uri, path)
    assert watcher.wait_printed(EXPECTED[-1], 60), watcher.lines
    watcher.interrupt()
    out, err = watcher.communicate(timeout=30)
    assert event_lines(out) == EXPECTED, (out, err)
    # virsh counts what it printed, the probe's events too.
    printed = [line for line in out.splitlines() if line.startswith("event '")]
    assert f'events received: {len(printed)}' in out, out


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
    watcher = watch(['virsh', '-c', uri, 'event', 'test', '--event', 'lifecycle', '--loop'])
    # It listens once it printed a change of 'test' itself: pause and resume it until then.
    until_printed([watcher], "for domain 'test': Resumed Unpaused",
                  lambda: [virsh(uri, step, 'test') for step in ('suspend', 'resume')])
    # A last, different change marks the end of those: everything before it has been printed.
    assert virsh(uri, 'destroy', 'test').rc == 0 and virsh(uri, 'start', 'test').rc == 0
    assert watcher.wait_printed("for domain 'test': Started Booted", 60), watcher.lines
    ready = len(watcher.lines)
    drive(uri, write_file('ev.xml', domain_xml('ev')))
    assert virsh(uri, 'suspend', 'test').rc == 0
    # Events reach a client in order: had 'ev' got through the filter, it would come first.
    assert watcher.wait_printed('Suspended Paused', 60, after=ready), watcher.lines
    watcher.interrupt()
    out, _ = watcher.communicate(timeout=30)
    lines = [l for l in out.splitlines()[ready:] if l.startswith("event '")]
    assert lines == ["event 'lifecycle' for domain 'test': Suspended Paused"], out


def test_tunable_metadata_and_job_events(daemon, bin_dir, tmpdir_path):
    """Events with typed parameters and the metadata change, printed alike by virsh and corral
    and delivered to python3-libvirt with their values."""
    import os
    uri = daemon.uri('test')
    # The watchers first: their readiness probe changes a title, which the callbacks below would see.
    watchers = watch_events(uri, [argv + ['event', '--loop', '--all']
                                  for argv in (['virsh', '-c', uri], [os.path.join(bin_dir, 'corral'), '-c', uri])])
    ensure_event_loop()
    conn = libvirt.open(uri)
    got = []
    done = threading.Event()

    def tunable(_c, dom, params, _o):
        got.append(('tunable', dom.name(), params))

    def metadata(_c, dom, mtype, nsuri, _o):
        got.append(('metadata', dom.name(), mtype, nsuri))

    def job(_c, dom, params, _o):
        got.append(('job', dom.name(), params))
        done.set()

    ids = [conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_TUNABLE, tunable, None),
           conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, metadata, None),
           conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_JOB_COMPLETED, job, None)]
    steps = [['emulatorpin', 'test', '1', '--live'],
             ['vcpupin', 'test', '0', '0', '--live'],
             ['desc', 'test', '--live', '--title', 'web frontend'],
             ['desc', 'test', '--config', 'serves the shop'],
             ['save', 'test', os.path.join(tmpdir_path, 'test.save')]]
    for step in steps:
        r = virsh(uri, *step)
        assert r.rc == 0, (step, r.err)
    assert done.wait(20), got
    for i in ids:
        conn.domainEventDeregisterAny(i)
    conn.close()
    # The title and description are there to read back, in the definition each went to.
    assert virsh(uri, 'restore', os.path.join(tmpdir_path, 'test.save')).rc == 0
    for w in watchers:
        for last in ("event 'job-completed' for domain 'test'", "for domain 'test': Stopped Saved",
                     "for domain 'test': Started Restored"):
            assert w.wait_printed(last, 60), (w.argv, w.lines)
        w.interrupt()
    outs = [w.communicate(timeout=30)[0] for w in watchers]

    assert got[0] == ('tunable', 'test', {'cputune.emulatorpin': '1'}), got
    assert got[1] == ('tunable', 'test', {'cputune.vcpupin0': '0'}), got
    assert got[2] == ('metadata', 'test', libvirt.VIR_DOMAIN_METADATA_TITLE, None), got
    assert got[3] == ('metadata', 'test', libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, None), got
    stats = got[4][2]
    assert stats['operation'] == libvirt.VIR_DOMAIN_JOB_OPERATION_SAVE and stats['success'], stats
    assert stats['data_total'] > 0 and stats['data_remaining'] == 0, stats

    virsh_lines, corral_lines = (event_lines(out, ("event '", '\t')) for out in outs)
    assert corral_lines == virsh_lines, (virsh_lines, corral_lines)
    text = '\n'.join(virsh_lines)
    assert "event 'tunable' for domain 'test':\n\tcputune.emulatorpin: 1" in text
    assert "event 'metadata-change' for domain 'test': type title, uri <null>" in text
    assert "event 'job-completed' for domain 'test':\n\toperation: 2" in text
    assert "event 'lifecycle' for domain 'test': Stopped Saved" in text


def test_metadata_title_and_description(daemon):
    uri = daemon.uri('test')
    assert virsh(uri, 'desc', 'test', '--title', '--live', 'front').rc == 0
    assert virsh(uri, 'desc', 'test', '--title').out.strip() == 'front'
    assert 'front' not in virsh(uri, 'dumpxml', '--inactive', 'test').out  # live only
    r = virsh(uri, 'desc', 'test', '--title', '--live', 'two\nlines')
    assert r.rc != 0 and "title can't contain newlines" in r.err
    # none set: virsh says so
    r = virsh(uri, 'desc', 'test', '--config')
    assert 'No description for domain' in r.out or r.rc != 0, (r.out, r.err)


def test_a_client_that_never_reads_its_events_is_disconnected(daemon):
    """An unprivileged client on the read-only socket registers for lifecycle events and never
    reads while root makes them fast: the daemon drops that client once 256 KiB of its events
    wait (max_queued_events_kib), instead of growing; a client that reads keeps getting all."""
    import struct
    from framework.pressure import LatencyProbe, rss_mib
    from framework.rawclient import RawClient, xdr_string
    daemon.stop()
    daemon.write_config('max_queued_events_kib = 256\n')
    daemon.start()

    def register(client):
        client.open(flags=1)
        reply = client.call(316, struct.pack('>iI', 0, 0))  # CALLBACK_REGISTER_ANY, lifecycle, all
        assert reply[0][5] == 0, reply

    deaf = RawClient(daemon.socket_ro)
    register(deaf)
    listener = RawClient(daemon.socket_ro, timeout=30)
    register(listener)
    heard = [0]

    def listen():
        try:
            while listener.recv() is not None:
                heard[0] += 1
        except OSError:
            pass  # closed by the test at its end

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    rss_before = rss_mib(daemon)
    root = RawClient(daemon.socket)
    root.open()
    dom = root.call(23, xdr_string('test'))[1]
    pairs = 0
    with LatencyProbe(daemon) as probe:
        # Each pair is two events. Old behaviour: the daemon queues them all, without end.
        while 'does not read its events' not in daemon.stderr():
            assert pairs < 50000, f'still connected after {pairs * 2} events; RSS {rss_mib(daemon):.1f} MiB'
            for _ in range(100):
                assert root.call(34, dom)[0][5] == 0  # DOMAIN_SUSPEND
                assert root.call(28, dom)[0][5] == 0  # DOMAIN_RESUME
            pairs += 100
    rss_after = rss_mib(daemon)
    # The deaf client finds its connection closed after what was written to it.
    deaf.sock.settimeout(10)
    while deaf.recv() is not None:
        pass
    # The listening client got every event: 2 per pair (its reader may still be catching up).
    deadline = time.monotonic() + 30
    while heard[0] < pairs * 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    print(f'\nevent flood: {pairs * 2} events until the deaf client was dropped; RSS {rss_before:.1f} -> '
          f'{rss_after:.1f} MiB; the reading client heard {heard[0]}; root: {probe.figures()}')
    assert heard[0] == pairs * 2
    assert rss_after - rss_before < 16, (rss_before, rss_after)
    probe.assert_served(2.0)
    listener.sock.shutdown(2)
    reader.join(timeout=10)
    listener.close()
