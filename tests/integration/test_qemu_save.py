# SPDX-License-Identifier: LGPL-2.1-or-later
# Save, restore and managed save with real QEMU (TCG) and the tiny guest, through the real virsh:
# the guest's counter goes on after a restore instead of starting again, images that are not
# whole or belong to another guest are refused, and nothing is left running after a failure.
import os
import re
import subprocess
import uuid

from framework.qemu_fixtures import (guest_files, guest_xml, pytestmark, qemu, qemu_pids,  # noqa: F401
                                     serial_text, state, wait_for)
from framework.tools import corral, virsh


def counters(path):
    return [int(n) for n in re.findall(r'counter (\d+)', serial_text(path))]


def boot_and_count(qemu, name, at_least=2):
    serial = qemu.start_and_boot(name)
    wait_for(lambda: len(counters(serial)) >= at_least, what=f'{name} to count')
    return serial


def test_save_and_restore_continue_the_guest(qemu, tmpdir_path):
    serial = boot_and_count(qemu, 'sv')
    image = os.path.join(tmpdir_path, 'sv.save')
    r = virsh(qemu.uri, 'save', 'sv', image)
    assert r.rc == 0, r.err
    assert state(qemu.uri, 'sv') == 'shut off (saved)'
    assert qemu_pids('sv') == []
    last = max(counters(serial))
    boots = serial_text(serial).count('CORRAL-GUEST-READY')

    r = virsh(qemu.uri, 'restore', image)
    assert r.rc == 0, r.err
    assert state(qemu.uri, 'sv') == 'running (restored)'
    # The guest goes on from where it was: later counters, and no second boot.
    wait_for(lambda: counters(serial) and max(counters(serial)) > last, what='the counter to continue')
    assert serial_text(serial).count('CORRAL-GUEST-READY') == boots

    # --paused: restored but not running, and resumable.
    assert virsh(qemu.uri, 'save', 'sv', image, '--paused').rc == 0
    assert virsh(qemu.uri, 'restore', image).rc == 0
    assert state(qemu.uri, 'sv') == 'paused (migrating)'
    assert virsh(qemu.uri, 'resume', 'sv').rc == 0
    assert state(qemu.uri, 'sv') == 'running (unpaused)'


def test_restore_refuses_broken_or_foreign_images(qemu, tmpdir_path, write_file, guest_files):
    boot_and_count(qemu, 'orig', at_least=1)
    image = os.path.join(tmpdir_path, 'orig.save')
    assert virsh(qemu.uri, 'save', 'orig', image).rc == 0

    # Not an image at all.
    junk = write_file('junk.save', 'hello')
    r = virsh(qemu.uri, 'restore', junk)
    assert r.rc == 1 and 'not a Corral save image' in r.err

    # A save that never finished.
    partial = os.path.join(tmpdir_path, 'partial.save')
    with open(image, 'rb') as src, open(partial, 'wb') as dst:
        data = src.read()
        dst.write(b'CorralSavePart\0\0' + data[16:])
    r = virsh(qemu.uri, 'restore', partial)
    assert r.rc == 1 and 'incomplete' in r.err

    # A damaged state stream: QEMU's own words, no QEMU left, the domain still shut off.
    cut = os.path.join(tmpdir_path, 'cut.save')
    with open(cut, 'wb') as dst:
        dst.write(data[:len(data) // 3])
    r = virsh(qemu.uri, 'restore', cut)
    assert r.rc == 1 and 'load of migration failed' in r.err, r.err
    assert qemu_pids('orig') == []
    assert state(qemu.uri, 'orig') == 'shut off (failed)'

    # Another guest of the same name (a different UUID) does not take this image.
    assert virsh(qemu.uri, 'undefine', 'orig').rc == 0
    other = guest_xml('orig', guest_files, '/dev/null').replace(
        '<name>orig</name>', f'<name>orig</name><uuid>{uuid.uuid4()}</uuid>')
    assert virsh(qemu.uri, 'define', write_file('other.xml', other)).rc == 0
    r = virsh(qemu.uri, 'restore', image)
    assert r.rc == 1 and 'orig' in r.err and 'uuid' in r.err.lower(), r.err
    assert qemu_pids('orig') == []

    # A replacement definition must describe the same machine.
    assert virsh(qemu.uri, 'undefine', 'orig').rc == 0
    inside = virsh(qemu.uri, 'save-image-dumpxml', image)
    assert inside.rc == 0 and '<name>orig</name>' in inside.out, inside.err
    changed = inside.out.replace("<memory unit='KiB'>196608</memory>", "<memory unit='KiB'>262144</memory>")
    assert changed != inside.out
    r = virsh(qemu.uri, 'restore', image, '--xml', write_file('changed.xml', changed))
    assert r.rc == 1 and '<memory>' in r.err, r.err
    # The same definition is accepted, and restores the (undefined) guest as a transient one.
    r = virsh(qemu.uri, 'restore', image, '--xml', write_file('same.xml', inside.out))
    assert r.rc == 0, r.err
    assert virsh(qemu.uri, 'dominfo', 'orig').out.count('Persistent:     no') == 1
    assert virsh(qemu.uri, 'destroy', 'orig').rc == 0
    assert virsh(qemu.uri, 'domstate', 'orig').rc == 1, 'a transient guest is gone after destroy'


def test_managed_save_resumes_on_start(qemu):
    serial = boot_and_count(qemu, 'ms')
    r = virsh(qemu.uri, 'managedsave', 'ms')
    assert r.rc == 0, r.err
    assert state(qemu.uri, 'ms') == 'shut off (saved)'
    assert 'Managed save:   yes' in virsh(qemu.uri, 'dominfo', 'ms').out
    assert 'ms' in virsh(qemu.uri, 'list', '--all', '--managed-save', '--name').out.split()

    # Undefining would lose the saved guest: refused unless asked for.
    r = virsh(qemu.uri, 'undefine', 'ms')
    assert r.rc == 1 and 'managed save image exists' in r.err

    # The saved state survives a daemon restart.
    qemu.daemon.stop()
    qemu.daemon.start()
    assert 'Managed save:   yes' in virsh(qemu.uri, 'dominfo', 'ms').out

    last = max(counters(serial))
    assert virsh(qemu.uri, 'start', 'ms').rc == 0
    assert state(qemu.uri, 'ms') == 'running (restored)'
    wait_for(lambda: max(counters(serial)) > last, what='the counter to continue')
    assert serial_text(serial).count('CORRAL-GUEST-READY') == 1
    assert 'Managed save:   no' in virsh(qemu.uri, 'dominfo', 'ms').out

    # --force-boot throws the image away and boots afresh: a second boot on the serial log
    # (it is appended to), where a restore would have gone on counting.
    assert virsh(qemu.uri, 'managedsave', 'ms').rc == 0
    assert virsh(qemu.uri, 'start', 'ms', '--force-boot').rc == 0
    assert state(qemu.uri, 'ms') == 'running (booted)'
    assert 'Managed save:   no' in virsh(qemu.uri, 'dominfo', 'ms').out
    wait_for(lambda: serial_text(serial).count('CORRAL-GUEST-READY') == 2, what='a fresh boot')

    assert virsh(qemu.uri, 'managedsave', 'ms').rc == 0
    assert virsh(qemu.uri, 'managedsave-remove', 'ms').rc == 0
    assert state(qemu.uri, 'ms') == 'shut off (saved)'
    assert 'Managed save:   no' in virsh(qemu.uri, 'dominfo', 'ms').out
    assert virsh(qemu.uri, 'undefine', 'ms').rc == 0


def test_corral_cli_saves_restores_and_reads_stats(qemu, tmpdir_path, bin_dir):
    serial = boot_and_count(qemu, 'cli')
    image = os.path.join(tmpdir_path, 'cli.save')
    r = corral(bin_dir, qemu.uri, 'save', 'cli', image)
    assert r.rc == 0 and f"Domain 'cli' saved to {image}" in r.out, r.err
    assert "<name>cli</name>" in corral(bin_dir, qemu.uri, 'save-image-dumpxml', image).out
    last = max(counters(serial))
    r = corral(bin_dir, qemu.uri, 'restore', image)
    assert r.rc == 0 and f'Domain restored from {image}' in r.out, r.err
    wait_for(lambda: max(counters(serial)) > last, what='the counter to continue')

    mem = corral(bin_dir, qemu.uri, 'dommemstat', 'cli')
    assert mem.rc == 0 and 'actual 196608' in mem.out and 'rss ' in mem.out
    stats = corral(bin_dir, qemu.uri, 'domstats', 'cli', '--state')
    assert "Domain: 'cli'" in stats.out and 'state.state=1' in stats.out
    # The same bytes virsh shows.
    assert stats.out == virsh(qemu.uri, 'domstats', 'cli', '--state').out

    assert corral(bin_dir, qemu.uri, 'managedsave', 'cli').rc == 0
    assert 'Managed save:   yes' in virsh(qemu.uri, 'dominfo', 'cli').out
    r = corral(bin_dir, qemu.uri, 'managedsave-remove', 'cli')
    assert r.rc == 0 and "Removed managedsave image for domain 'cli'" in r.out


def test_save_to_a_full_disk_keeps_the_guest_running(qemu, tmpdir_path):
    serial = boot_and_count(qemu, 'full')
    small = os.path.join(tmpdir_path, 'small')
    os.makedirs(small)
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', small], check=True)
    try:
        image = os.path.join(small, 'full.save')
        r = virsh(qemu.uri, 'save', 'full', image)
        assert r.rc == 1 and 'No space left on device' in r.err, r.err
        # Nothing lost: the guest runs on, and no half-written image is left to be restored.
        assert state(qemu.uri, 'full').startswith('running'), state(qemu.uri, 'full')
        last = max(counters(serial))
        wait_for(lambda: max(counters(serial)) > last, what='the guest to go on after the failed save')
        assert not os.path.exists(image)
    finally:
        subprocess.run(['umount', small])
