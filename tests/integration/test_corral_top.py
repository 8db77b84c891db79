# SPDX-License-Identifier: LGPL-2.1-or-later
# corral top against a daemon's test driver (batch frames, rates between samples, options) and
# against a real QEMU guest, whose CPU use top must show as its QEMU process really has it.
import json
import re
import shutil

import pytest

from framework.daemon import process_cpu_seconds
from framework.qemu_fixtures import guest_files, qemu, qemu_pids, serial_text  # noqa: F401
from framework.tools import corral, domain_xml, virsh

# What one virsh call changes on test:///default must still be there for the next.
pytestmark = pytest.mark.usefixtures('held_test_state')

HEADER = re.compile(r'^Domains: (\d+) total, (\d+) running   CPU: ([\d.]+)%$')


def frames(out):
    """[(header line, {name: row cells})] of each refresh in --batch output."""
    result = []
    for text in out.split('corral top - ')[1:]:
        lines = text.splitlines()
        header = HEADER.match(lines[1])
        assert header, lines[1]
        assert lines[3].split() == ['Id', 'Name', 'State', '%CPU', 'Mem', 'vCPUs', 'Read/s', 'Write/s', 'Rx/s',
                                    'Tx/s']
        assert set(lines[4]) == {'-'}
        rows = {}
        for line in lines[5:]:
            if not line.strip():
                break
            cells = re.split(r'\s{2,}', line.strip())
            rows[cells[1]] = cells
        result.append((lines[0], header, rows))
    return result


def test_batch_names_the_running_domain(daemon, bin_dir):
    r = corral(bin_dir, daemon.uri('test'), 'top', '--batch', '--iterations', '2', '--delay', '1')
    assert r.rc == 0, r.err
    assert '\x1b' not in r.out
    hostname = virsh(daemon.uri('test'), 'hostname').out.strip()
    shown = frames(r.out)
    assert len(shown) == 2
    for title, header, rows in shown:
        assert title.startswith(hostname + ' - ')
        assert header.group(1, 2) == ('1', '1')
        cells = rows['test']
        assert cells[0] == '1' and cells[2] == 'running'
        # The test driver's guest runs one vCPU flat out: 100 % of one CPU between two samples,
        # as measured. The daemon reads its clock and corral its own, one reply latency apart, so
        # the bound is an order of magnitude each way (a rate in the wrong unit is off by 100 or
        # more); a reply would have to stall for 9 s to leave it. See docs/testing.md.
        assert 10 < float(cells[3]) < 1000, cells
        assert abs(float(header.group(3)) - float(cells[3])) < 0.11
        assert cells[4] == '2.0G'  # balloon.current of test:///default's guest


def test_sort_short_options_and_inactive_guests(daemon, bin_dir, write_file):
    for name, mib in (('big', 512), ('small', 64)):
        assert corral(bin_dir, daemon.uri('test'), 'create', write_file(f'{name}.xml',
                                                                          domain_xml(name, memory_mib=mib))).rc == 0
    assert corral(bin_dir, daemon.uri('test'), 'define', write_file('off.xml', domain_xml('off'))).rc == 0
    r = corral(bin_dir, daemon.uri('test'), 'top', '-b', '-n', '1', '-d', '0.1', '--sort', 'name')
    assert r.rc == 0, r.err
    (_, header, rows), = frames(r.out)
    assert header.group(1, 2) == ('4', '3')
    assert list(rows) == ['big', 'off', 'small', 'test']
    assert rows['off'][0] == '-' and rows['off'][2] == 'shut off' and rows['off'][3] == '0.0'
    by_mem = frames(corral(bin_dir, daemon.uri('test'), 'top', '-b', '-n', '1', '-d', '0.1', '--sort', 'mem').out)
    assert list(by_mem[0][2])[:2] == ['test', 'big']
    by_cpu = frames(corral(bin_dir, daemon.uri('test'), 'top', '-b', '-n', '1', '-d', '0.1').out)
    assert list(by_cpu[0][2])[-1] == 'off'


def test_json_frames(daemon, bin_dir):
    r = corral(bin_dir, daemon.uri('test'), '--json', 'top', '-n', '2', '-d', '1')
    assert r.rc == 0, r.err
    lines = r.out.splitlines()
    assert len(lines) == 2
    frame = json.loads(lines[1])
    assert frame['domains'] == 1 and frame['running'] == 1
    (g,) = frame['guests']
    assert g['name'] == 'test' and g['id'] == 1 and g['state'] == 'running'
    assert 10 < g['cpu_percent'] < 1000, g  # as above: an order of magnitude around 100 %


def test_bad_options(daemon, bin_dir):
    for args, message in ((['--delay', '0'], "Numeric value '0' for <delay> option is malformed or out of range"),
                          (['--delay', 'soon'], "Numeric value 'soon' for <delay> option"),
                          (['-n', '-1'], "Numeric value '-1' for <iterations> option"),
                          (['--sort', 'disk'], "invalid sort key 'disk': use cpu, mem or name"),
                          (['-x'], "unexpected data '-x'")):
        r = corral(bin_dir, daemon.uri('test'), 'top', '--batch', *args)
        assert r.rc == 1, args
        assert message in r.err, (args, r.err)


def top_row(bin_dir, uri, name, delay):
    r = corral(bin_dir, uri, '--json', 'top', '-n', '2', '-d', str(delay))
    assert r.rc == 0, r.err
    frame = json.loads(r.out.splitlines()[1])
    (row,) = [g for g in frame['guests'] if g['name'] == name]
    return frame, row


@pytest.mark.skipif(shutil.which('qemu-system-x86_64') is None,
                    reason='qemu-system-x86 is not installed (scripts/setup.sh installs it)')
def test_a_real_qemu_guest_shows_the_cpu_its_process_uses(qemu, bin_dir):
    serial = qemu.start_and_boot('busy', cmdline_extra='corral.busy=1', extra_devices="<memballoon model='virtio'/>")
    assert 'CORRAL-GUEST-BUSY' in serial_text(serial)
    (pid,) = qemu_pids('busy')
    before = process_cpu_seconds(pid)
    frame, row = top_row(bin_dir, qemu.uri, 'busy', 2)
    used = process_cpu_seconds(pid) - before
    assert frame['domains'] == 1 and frame['running'] == 1
    assert row['state'] == 'running' and row['vcpus'] == 1 and row['memory_kib'] == 192 * 1024, row
    assert row['id'] >= 1
    # The guest spins its vCPU: QEMU burns CPU, and top shows it. top's 2 s sample lies inside
    # the time between the two reads of /proc, so it cannot show more than QEMU used then (one
    # clock tick each way of slack); a fake or a rate in the wrong unit breaks one bound or the
    # other, whatever the machine's speed.
    assert used > 0.05, used
    assert 0.5 < row['cpu_percent'] and row['cpu_percent'] / 100 * 2 <= used + 0.05, (row, used)
    assert abs(frame['cpu_percent'] - row['cpu_percent']) < 0.11

    # Paused, its vCPU stops: top follows (QEMU's own threads still wake now and then).
    assert virsh(qemu.uri, 'suspend', 'busy').rc == 0
    _, paused = top_row(bin_dir, qemu.uri, 'busy', 2)
    assert paused['state'] == 'paused' and paused['cpu_percent'] < row['cpu_percent'] / 4, (paused, row)
    text = corral(bin_dir, qemu.uri, 'top', '--batch', '-n', '1', '-d', '0.1')
    (_, header, rows), = frames(text.out)
    assert header.group(1, 2) == ('1', '0') and rows['busy'][2] == 'paused' and rows['busy'][4] == '192.0M', rows
