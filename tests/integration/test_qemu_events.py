# SPDX-License-Identifier: LGPL-2.1-or-later
# Events a real QEMU guest raises on its own (RTC change, an I/O error on a full host file
# system, a VNC client coming and going) reach the real virsh, `corral event` and python3-libvirt
# with what libvirt's QEMU driver would report.
import os
import socket
import threading

import libvirt

from framework.event_loop import ensure_event_loop
from framework.qemu_fixtures import guest_files, guest_xml, pytestmark, qemu, serial_text, state, wait_for  # noqa: F401
from framework.tools import event_lines, image_on_full_filesystem, stop_watching, virsh, watch_events


def vnc_handshake(port):
    """A whole RFB 3.8 session with no authentication: connect, initialise, leave."""
    with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
        assert s.recv(12).startswith(b'RFB 003.')
        s.sendall(b'RFB 003.008\n')
        count = s.recv(1)[0]
        assert 1 in s.recv(count)  # security type None
        s.sendall(b'\x01')
        assert s.recv(4) == b'\0\0\0\0'
        s.sendall(b'\x01')  # ClientInit, shared
        assert len(s.recv(24)) > 0  # ServerInit


def test_guest_raised_events(qemu, tmpdir_path, bin_dir):
    # The disk lives on a 1 MiB tmpfs: the guest's 4 MiB of writes hit ENOSPC on the host.
    with image_on_full_filesystem(tmpdir_path, 'disk.raw') as image:
        ensure_event_loop()
        conn = libvirt.open(qemu.uri)
        got = []
        paused = threading.Event()

        def io_error(_c, dom, src, alias, action, reason, _o):
            got.append(('io-error-reason', src, alias, action, reason))

        def lifecycle(_c, dom, event, detail, _o):
            if event == libvirt.VIR_DOMAIN_EVENT_SUSPENDED:
                got.append(('suspended', detail))
                paused.set()

        def rtc(_c, dom, offset, _o):
            got.append(('rtc-change', offset))

        def graphics(_c, dom, phase, local, remote, scheme, subject, _o):
            got.append(('graphics', phase, scheme))

        ids = [conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON, io_error, None),
               conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, None),
               conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_RTC_CHANGE, rtc, None),
               conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_GRAPHICS, graphics, None)]
        virsh_watch, corral_watch = watch_events(qemu.uri, [
            ['virsh', '-c', qemu.uri, 'event', '--loop', '--all'],
            [os.path.join(bin_dir, 'corral'), '-c', qemu.uri, 'event', '--loop', '--all']], dtype='qemu')
        disk = (f"<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{image}'/>"
                f"<target dev='vda' bus='virtio'/></disk><graphics type='vnc' autoport='yes'/>")
        serial = qemu.define('evq', extra_devices=disk, cmdline_extra='corral.rtc_shift=1 corral.write_disk=1')
        assert virsh(qemu.uri, 'start', 'evq').rc == 0
        wait_for(lambda: 'CORRAL-GUEST-RTC' in serial_text(serial), what='the guest to set its RTC')
        assert paused.wait(120), (got, serial_text(serial)[-500:])
        assert state(qemu.uri, 'evq') == 'paused (I/O error)'
        display = virsh(qemu.uri, 'vncdisplay', 'evq').out.strip()
        vnc_handshake(5900 + int(display.split(':')[1]))
        wait_for(lambda: sum(1 for g in got if g[0] == 'graphics') >= 3, timeout=20, what='graphics events')
        assert virsh(qemu.uri, 'destroy', 'evq').rc == 0
        outputs = stop_watching(conn, ids, (virsh_watch, corral_watch), last="'evq': Stopped Destroyed")

    errors = [g for g in got if g[0] == 'io-error-reason']
    assert errors and errors[0] == ('io-error-reason', image, 'virtio-disk0', libvirt.VIR_DOMAIN_EVENT_IO_ERROR_PAUSE,
                                    'enospc'), got
    assert ('suspended', libvirt.VIR_DOMAIN_EVENT_SUSPENDED_IOERROR) in got
    offsets = [g[1] for g in got if g[0] == 'rtc-change']
    # The guest moved its clock 365 days ahead of its own; a day either way covers the RTC's
    # one-second steps and a guest clock that lags the host's under TCG, on any date.
    assert offsets and abs(offsets[0] - 365 * 86400) < 86400, got
    phases = [g[1] for g in got if g[0] == 'graphics']
    assert phases[:3] == [libvirt.VIR_DOMAIN_EVENT_GRAPHICS_CONNECT, libvirt.VIR_DOMAIN_EVENT_GRAPHICS_INITIALIZE,
                          libvirt.VIR_DOMAIN_EVENT_GRAPHICS_DISCONNECT], got

    # virsh and corral print the same lines for the same events.
    virsh_lines, corral_lines = (event_lines(out) for out in outputs)
    assert corral_lines == virsh_lines, (virsh_lines, corral_lines)
    text = '\n'.join(virsh_lines)
    assert f"event 'io-error' for domain 'evq': {image} (virtio-disk0) pause" in text
    assert f"event 'io-error-reason' for domain 'evq': {image} (virtio-disk0) pause due to enospc" in text
    assert "event 'lifecycle' for domain 'evq': Suspended I/O Error" in text
    assert "event 'rtc-change' for domain 'evq': " in text
    assert "event 'graphics' for domain 'evq': connect local[IPv4 127.0.0.1 " in text


def test_tunable_balloon_and_job_completed_events(qemu, tmpdir_path, bin_dir):
    # The README's remaining events, from a real QEMU guest: a live cpu_shares change (tunable),
    # the guest's balloon driver giving back what <currentMemory> leaves out (balloon-change: QEMU
    # reports what the guest actually returned, as it goes), and a save (job-completed, with
    # the image's size).
    virsh_watch, corral_watch = watch_events(qemu.uri, [
        ['virsh', '-c', qemu.uri, 'event', '--loop', '--all'],
        [os.path.join(bin_dir, 'corral'), '-c', qemu.uri, 'event', '--loop', '--all']], dtype='qemu')
    ensure_event_loop()
    conn = libvirt.open(qemu.uri)
    got = []
    ballooned, saved = threading.Event(), threading.Event()

    def tunable(_c, dom, params, _o):
        got.append(('tunable', dom.name(), params))

    def balloon(_c, dom, actual, _o):
        got.append(('balloon', dom.name(), actual))
        if actual == 160 * 1024:
            ballooned.set()

    def job(_c, dom, params, _o):
        got.append(('job', dom.name(), params))
        saved.set()

    ids = [conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_TUNABLE, tunable, None),
           conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE, balloon, None),
           conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_JOB_COMPLETED, job, None)]
    qemu.start_and_boot('evb', current_memory_mib=160, extra_devices="<memballoon model='virtio'/>")
    # 192 MiB of memory, 160 current: the guest's driver inflates the balloon by 32 MiB.
    assert ballooned.wait(120), got
    assert 'actual 163840' in virsh(qemu.uri, 'dommemstat', 'evb').out
    r = virsh(qemu.uri, 'schedinfo', 'evb', '--live', '--set', 'cpu_shares=512')
    assert r.rc == 0, r.err
    image = os.path.join(tmpdir_path, 'evb.save')
    r = virsh(qemu.uri, 'save', 'evb', image)
    assert r.rc == 0, r.err
    assert saved.wait(60), got
    outputs = stop_watching(conn, ids, (virsh_watch, corral_watch), last="'evb': Stopped Saved")

    sizes = [g[2] for g in got if g[0] == 'balloon']
    # From 192 MiB down to 160, never below, and only shrinking (QEMU reports progress).
    assert sizes[-1] == 160 * 1024 and all(160 * 1024 <= s < 192 * 1024 for s in sizes), got
    assert sizes == sorted(sizes, reverse=True), got
    assert ('tunable', 'evb', {'cputune.cpu_shares': 512}) in got
    (stats,) = [g[2] for g in got if g[0] == 'job']
    assert stats['operation'] == libvirt.VIR_DOMAIN_JOB_OPERATION_SAVE and stats['success'], stats
    assert stats['data_total'] == os.path.getsize(image) and stats['data_remaining'] == 0, stats

    virsh_lines, corral_lines = (event_lines(out, ("event '", '\t')) for out in outputs)
    assert corral_lines == virsh_lines, (virsh_lines, corral_lines)
    text = '\n'.join(virsh_lines)
    assert "event 'balloon-change' for domain 'evb': 163840KiB" in text, text
    assert "event 'tunable' for domain 'evb':\n\tcputune.cpu_shares: 512" in text
    assert "event 'job-completed' for domain 'evb':\n\toperation: 2" in text
    assert "event 'lifecycle' for domain 'evb': Stopped Saved" in text
    # The start's own `cont` (QEMU runs with -S) is the start, not a resume.
    assert [l for l in virsh_lines if "'lifecycle'" in l] == [
        "event 'lifecycle' for domain 'evb': Defined Added", "event 'lifecycle' for domain 'evb': Started Booted",
        "event 'lifecycle' for domain 'evb': Stopped Saved"], virsh_lines


def test_watchdog_fires_and_pauses_the_guest(qemu, bin_dir):
    # The guest starts its i6300esb watchdog and stops feeding it: QEMU acts (<watchdog
    # action='pause'>) and reports it; libvirt's clients see the watchdog event, then the pause.
    ensure_event_loop()
    conn = libvirt.open(qemu.uri)
    got = []
    paused = threading.Event()

    def watchdog(_c, dom, action, _o):
        got.append(('watchdog', dom.name(), action))

    def lifecycle(_c, dom, event, detail, _o):
        if event == libvirt.VIR_DOMAIN_EVENT_SUSPENDED:
            got.append(('suspended', detail))
            paused.set()

    ids = [conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_WATCHDOG, watchdog, None),
           conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, None)]
    virsh_watch, corral_watch = watch_events(qemu.uri, [
        ['virsh', '-c', qemu.uri, 'event', '--loop', '--all'],
        [os.path.join(bin_dir, 'corral'), '-c', qemu.uri, 'event', '--loop', '--all']], dtype='qemu')
    serial = qemu.define('wdog', extra_devices="<watchdog model='i6300esb' action='pause'/>",
                         cmdline_extra='corral.watchdog=1')
    assert "<watchdog model='i6300esb' action='pause'" in virsh(qemu.uri, 'dumpxml', 'wdog').out
    assert virsh(qemu.uri, 'start', 'wdog').rc == 0
    wait_for(lambda: 'CORRAL-GUEST-WATCHDOG' in serial_text(serial), timeout=120,
             what='the guest to start its watchdog')
    assert paused.wait(60), (got, serial_text(serial)[-500:])
    assert state(qemu.uri, 'wdog') == 'paused (watchdog)'
    assert virsh(qemu.uri, 'destroy', 'wdog').rc == 0
    out, corral_out = stop_watching(conn, ids, (virsh_watch, corral_watch), last="'wdog': Stopped Destroyed")

    assert ('watchdog', 'wdog', libvirt.VIR_DOMAIN_EVENT_WATCHDOG_PAUSE) in got, got
    assert got.index(('watchdog', 'wdog', libvirt.VIR_DOMAIN_EVENT_WATCHDOG_PAUSE)) < \
        got.index(('suspended', libvirt.VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG)), got
    assert "event 'watchdog' for domain 'wdog': pause" in out, out
    assert "event 'lifecycle' for domain 'wdog': Suspended Watchdog" in out, out
    virsh_lines, corral_lines = (event_lines(o) for o in (out, corral_out))
    assert corral_lines == virsh_lines, (virsh_lines, corral_lines)


def test_watchdog_definitions_qemu_cannot_run_are_refused(qemu, guest_files, tmpdir_path):
    for device, why in [("<watchdog model='i6300esb' action='dump'/>", "<watchdog action='dump'>"),
                        ("<watchdog model='diag288'/>", "<watchdog model='diag288'>")]:
        path = os.path.join(tmpdir_path, 'wdbad.xml')
        with open(path, 'w') as f:
            f.write(guest_xml('wdbad', guest_files, os.path.join(tmpdir_path, 'wdbad.serial'), extra_devices=device))
        r = virsh(qemu.uri, 'define', path)
        assert r.rc != 0 and f'unsupported configuration: {why}' in r.err, r.err
    assert 'wdbad' not in virsh(qemu.uri, 'list', '--all', '--name').out


def test_guest_suspend_to_ram_and_wakeup(qemu, bin_dir):
    # The guest suspends itself to RAM (ACPI S3): pm-suspend and "PMSuspended Memory", state
    # pmsuspended; dompmwakeup wakes it: pm-wakeup and "Started Event wakeup", and it runs on.
    ensure_event_loop()
    conn = libvirt.open(qemu.uri)
    got = []
    asleep = threading.Event()

    def pm(kind):
        def callback(_c, dom, reason, _o):
            got.append((kind, dom.name()))
            if kind == 'pmsuspend':
                asleep.set()
        return callback

    def lifecycle(_c, dom, event, detail, _o):
        if event in (libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED, libvirt.VIR_DOMAIN_EVENT_STARTED):
            got.append(('lifecycle', event, detail))

    ids = [conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_PMSUSPEND, pm('pmsuspend'), None),
           conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_PMWAKEUP, pm('pmwakeup'), None),
           conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, None)]
    watchers = watch_events(qemu.uri, [
        ['virsh', '-c', qemu.uri, 'event', '--loop', '--all'],
        [os.path.join(bin_dir, 'corral'), '-c', qemu.uri, 'event', '--loop', '--all']], dtype='qemu')
    serial = qemu.define('pm', cmdline_extra='corral.pm_suspend=2')
    r = virsh(qemu.uri, 'dompmwakeup', 'pm')
    assert r.rc != 0 and 'domain is not running' in r.err, r.err
    assert virsh(qemu.uri, 'start', 'pm').rc == 0
    r = virsh(qemu.uri, 'dompmwakeup', 'pm')
    assert r.rc != 0 and 'domain is not suspended to memory' in r.err, r.err
    assert asleep.wait(120), (got, serial_text(serial)[-500:])
    wait_for(lambda: state(qemu.uri, 'pm') == 'pmsuspended (unknown)', timeout=20, what='pmsuspended')
    r = virsh(qemu.uri, 'dompmwakeup', 'pm')
    assert r.rc == 0 and "Domain 'pm' successfully woken up" in r.out, (r.out, r.err)
    wait_for(lambda: 'CORRAL-GUEST-WOKE' in serial_text(serial), timeout=60, what='the guest to wake up')
    # virsh words VIR_DOMAIN_RUNNING_WAKEUP as 'event wakeup'.
    wait_for(lambda: state(qemu.uri, 'pm') == 'running (event wakeup)', timeout=20, what='running (event wakeup)')
    assert virsh(qemu.uri, 'destroy', 'pm').rc == 0
    outputs = stop_watching(conn, ids, watchers, last="'pm': Stopped Destroyed")
    pm_events = [g for g in got if g[0] != 'lifecycle' or g[1] == libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED
                 or g[2] == libvirt.VIR_DOMAIN_EVENT_STARTED_WAKEUP]
    assert pm_events == [('pmsuspend', 'pm'),
                         ('lifecycle', libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED, libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY),
                         ('pmwakeup', 'pm'),
                         ('lifecycle', libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_WAKEUP)], got
    virsh_lines, corral_lines = (event_lines(o) for o in outputs)
    assert corral_lines == virsh_lines, (virsh_lines, corral_lines)
    for line in ("event 'pm-suspend' for domain 'pm'", "event 'lifecycle' for domain 'pm': PMSuspended Memory",
                 "event 'pm-wakeup' for domain 'pm'", "event 'lifecycle' for domain 'pm': Started Event wakeup"):
        assert line in virsh_lines, virsh_lines
