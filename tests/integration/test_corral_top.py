# SPDX-License-Identifier: LGPL-2.1-or-later
# corral top against a daemon's test driver: batch frames, rates between samples, options.
import json
import re

from framework.tools import corral, domain_xml, virsh

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
