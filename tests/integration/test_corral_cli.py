# SPDX-License-Identifier: LGPL-2.1-or-later
# corral prints what virsh prints, for the same daemon and the same commands.
import json
import re

from framework.tools import corral, domain_xml, virsh
import pytest  # noqa: E402

# What one virsh call changes on test:///default must still be there for the next.
pytestmark = pytest.mark.usefixtures('held_test_state')


def same(daemon, bin_dir, *args):
    v = virsh(daemon.uri('test'), *args)
    c = corral(bin_dir, daemon.uri('test'), *args)
    return v, c


def test_queries_match_virsh(daemon, bin_dir):
    for args in (['list'], ['list', '--all'], ['domstate', 'test'], ['domstate', 'test', '--reason'],
                 ['domid', 'test'], ['domname', '1'], ['domuuid', 'test'], ['dumpxml', 'test'],
                 ['dumpxml', 'test', '--inactive'], ['nodeinfo'], ['uri'], ['list', '--all', '--name'],
                 ['list', '--uuid']):
        v, c = same(daemon, bin_dir, *args)
        assert (c.rc, c.out) == (v.rc, v.out), args


def test_lifecycle_messages_match_virsh(daemon, bin_dir, write_file):
    path = write_file('cli.xml', domain_xml('cli'))
    steps = [['define', path], ['list', '--all'], ['list', '--inactive', '--name'], ['start', 'cli'],
             ['suspend', 'cli'], ['domstate', 'cli', '--reason'], ['resume', 'cli'], ['reboot', 'cli'],
             ['destroy', 'cli'], ['autostart', 'cli'], ['autostart', 'cli', '--disable'], ['start', 'cli'],
             ['shutdown', 'cli'], ['undefine', 'cli']]

    def transcript(tool):
        out = []
        for step in steps:
            r = tool(*step)
            out.append((step, r.rc, r.out, r.err))
        return out

    # Each sequence ends where it began (undefined), so both tools see the same states.
    by_virsh = transcript(lambda *a: virsh(daemon.uri('test'), *a))
    by_corral = transcript(lambda *a: corral(bin_dir, daemon.uri('test'), *a))
    assert by_corral == by_virsh


def test_dominfo_matches_virsh_except_cpu_time(daemon, bin_dir):
    v, c = same(daemon, bin_dir, 'dominfo', 'test')
    strip = lambda t: [l for l in t.splitlines() if not l.startswith('CPU time')]
    assert strip(c.out) == strip(v.out)


def test_errors_match_virsh(daemon, bin_dir, write_file):
    for args in (['dominfo', 'nope'], ['start', 'nope'], ['define', '/nonexistent.xml']):
        v, c = same(daemon, bin_dir, *args)
        assert c.rc == v.rc == 1
        assert c.err.splitlines()[0] == v.err.splitlines()[0], args
        assert c.out == v.out == '\n', args  # a command that ran and failed ends with an empty line
    bad = write_file('bad.xml', "<domain type='test'><name>x</name>")
    v, c = same(daemon, bin_dir, 'define', bad)
    assert c.err.splitlines()[0] == v.err.splitlines()[0] == f'error: Failed to define domain from {bad}'
    v, c = same(daemon, bin_dir, 'start', 'test')
    assert c.err.strip() == v.err.strip() == 'error: Domain is already active'
    # No daemon there: neither tool ran the command, neither prints on stdout.
    nowhere = 'test+unix:///default?socket=/nonexistent/corral-sock'
    v, c = virsh(nowhere, 'dominfo', 'test'), corral(bin_dir, nowhere, 'dominfo', 'test')
    assert c.rc == v.rc == 1
    assert c.out == v.out == ''
    assert c.err.splitlines()[0] == v.err.splitlines()[0] == 'error: failed to connect to the hypervisor'


def test_json_output(daemon, bin_dir):
    listed = json.loads(corral(bin_dir, daemon.uri('test'), '--json', 'list', '--all').out)
    assert listed == [{'id': 1, 'name': 'test', 'uuid': '6695eb01-f6a4-8304-79aa-97f2502e193f', 'state': 'running'}]
    info = json.loads(corral(bin_dir, daemon.uri('test'), 'dominfo', 'test', '--json').out)
    assert info['max_memory_kib'] == 8388608 and info['persistent'] is True
    state = json.loads(corral(bin_dir, daemon.uri('test'), 'domstate', 'test', '--json').out)
    assert state == {'state': 'running', 'reason': 'unknown'}  # libvirt's fixture: found running
    node = json.loads(corral(bin_dir, daemon.uri('test'), 'nodeinfo', '--json').out)
    assert node['cpus'] == 16
    # domstats: every field of the text, typed.
    stats = corral(bin_dir, daemon.uri('test'), '--json', 'domstats', '--state', '--balloon', '--vcpu')
    assert stats.rc == 0 and stats.out.endswith(']\n'), stats.out
    [record] = json.loads(stats.out)
    assert record['domain'] == 'test' and record['uuid'] == '6695eb01-f6a4-8304-79aa-97f2502e193f'
    assert record['stats']['state.state'] == 1 and record['stats']['vcpu.current'] == 2
    text = virsh(daemon.uri('test'), 'domstats', 'test', '--state', '--balloon', '--vcpu').out
    fields = dict(line.strip().split('=', 1) for line in text.splitlines() if '=' in line)
    # A test vCPU's time grows with the time of day (libvirt's rule): the two calls differ there.
    timeless = lambda d: {k: str(v) for k, v in d.items() if not re.fullmatch(r'vcpu\.\d+\.time', k)}  # noqa: E731
    assert timeless(record['stats']) == timeless(fields)
    assert set(record['stats']) == set(fields)
    # A command without a JSON form prints its text, with virsh's closing empty line.
    assert corral(bin_dir, daemon.uri('test'), '--json', 'domblklist', 'test').out.endswith('\n\n')


def test_embedded_test_driver_needs_no_daemon(bin_dir):
    c = corral(bin_dir, 'test:///default', 'list', '--all')
    v = virsh('test:///default', 'list', '--all')
    assert c.rc == 0 and c.out == v.out


def test_default_uri_from_environment(daemon, bin_dir):
    import os
    from framework.tools import run
    r = run([os.path.join(bin_dir, 'corral'), 'domname', '1'], env={'LIBVIRT_DEFAULT_URI': daemon.uri('test')})
    assert r.out.strip() == 'test'
    r = run([os.path.join(bin_dir, 'corral'), 'uri'],
            env={'LIBVIRT_DEFAULT_URI': 'qemu:///nowhere', 'CORRAL_DEFAULT_URI': daemon.uri('test')})
    assert r.out.strip() == daemon.uri('test')


def test_corral_events(daemon, bin_dir, write_file):
    import os
    from framework.tools import event_lines, watch_events
    [watcher] = watch_events(daemon.uri('test'), [[os.path.join(bin_dir, 'corral'), '-c', daemon.uri('test'),
                                                   'event', '--all', '--loop']])
    virsh(daemon.uri('test'), 'suspend', 'test')
    virsh(daemon.uri('test'), 'resume', 'test')
    assert watcher.wait_printed('Resumed Unpaused', 60), watcher.lines
    watcher.interrupt()
    out, _ = watcher.communicate(timeout=30)
    assert event_lines(out) == ["event 'lifecycle' for domain 'test': Suspended Paused",
                                "event 'lifecycle' for domain 'test': Resumed Unpaused"], out
    # As virsh: ^C ends the loop saying so, and the count is of every event printed (the probe's too).
    assert 'event loop interrupted' in out
    printed = [line for line in out.splitlines() if line.startswith("event '")]
    assert f'events received: {len(printed)}' in out, out


def test_read_only_flag(daemon, bin_dir):
    c = corral(bin_dir, daemon.uri('test'), 'destroy', 'test', readonly=True)
    assert c.rc == 1
    assert 'operation forbidden: read only access prevents virDomainDestroyFlags' in c.err


def test_edit_reoffers_after_an_error(daemon, bin_dir, write_file):
    import os
    uri = daemon.uri('test')
    assert virsh(uri, 'define', write_file('ed.xml', domain_xml('ed'))).rc == 0
    before = virsh(uri, 'dumpxml', 'ed', '--inactive').out
    breaker = write_file('break.sh', "#!/bin/sh\nsed -i 's|</name>|</nam>|' \"$1\"\n")
    os.chmod(breaker, 0o755)
    r = corral(bin_dir, uri, 'edit', 'ed', env={'EDITOR': breaker, 'VISUAL': None}, input='n\n')
    assert r.rc == 1
    assert 'Failed. Try again? [y,n,i,f,?]:' in r.out
    assert '(domain_definition):' in r.err
    assert virsh(uri, 'dumpxml', 'ed', '--inactive').out == before
    # 'y' runs the editor again: a second editor run that repairs nothing fails again, then 'n'.
    r = corral(bin_dir, uri, 'edit', 'ed', env={'EDITOR': breaker, 'VISUAL': None}, input='y\nn\n')
    assert r.out.count('Failed. Try again?') == 2


def test_device_commands_match_virsh(daemon, bin_dir, write_file):
    # The test driver plugs devices in and out at once: the same steps give the same transcript
    # through virsh and corral (attach-disk builds the same XML, detach-disk finds the disk in
    # the definition, errors read the same).
    device = write_file('disk.xml', "<disk type='file'><source file='/tmp/corral-z.img'/><target dev='vdd'/></disk>")
    steps = [['attach-disk', 'test', '/tmp/corral-x.img', 'vdb', '--targetbus', 'virtio', '--print-xml',
              '--subdriver', 'raw', '--mode', 'readonly'],
             ['attach-disk', 'test', '/tmp/corral-x.img', 'vdb', '--live'], ['domblklist', 'test'],
             ['attach-disk', 'test', '/tmp/corral-x.img', 'vdb', '--live'],
             ['detach-disk', 'test', 'vdb', '--live'], ['detach-disk', 'test', 'vdb', '--live'],
             ['attach-device', 'test', device, '--persistent'], ['domblklist', 'test', '--inactive'],
             ['detach-device', 'test', device, '--config'], ['detach-device', 'test', device, '--config'],
             ['detach-device', 'test', device], ['domblklist', 'test']]

    def transcript(tool):
        return [(step, r.rc, r.out, r.err) for step in steps for r in [tool(*step)]]

    by_virsh = transcript(lambda *a: virsh(daemon.uri('test'), *a))
    by_corral = transcript(lambda *a: corral(bin_dir, daemon.uri('test'), *a))
    assert by_corral == by_virsh
    assert 'target vdb already exists' in by_virsh[3][3]
    assert by_virsh[-1][2].split() == ['Target', 'Source', '-----------------------------', 'vda',
                                      '/guest/diskimage1']


def test_quiet_and_trailing_lines_match_virsh(daemon, bin_dir, write_file):
    # Every command virsh runs ends with an empty line; -q drops it, the informational lines
    # ("Domain 'x' started") and table headers, but keeps the data.
    path = write_file('quiet.xml', domain_xml('quiet', uuid='5f1e6a3c-1111-4c2d-9a0b-0123456789ab'))
    steps = [['define', path], ['list', '--all'], ['list', '--all', '--name'], ['domstate', 'quiet'],
             ['start', 'quiet'], ['domuuid', 'quiet'], ['suspend', 'quiet'], ['resume', 'quiet'],
             ['domblklist', 'quiet'], ['autostart', 'quiet'], ['autostart', 'quiet', '--disable'],
             ['destroy', 'quiet'], ['dumpxml', 'quiet'], ['attach-disk', 'quiet', '/tmp/q.img', 'vdc', '--print-xml'],
             ['net-list', '--all'], ['uri'], ['hostname'], ['nodeinfo'], ['event', '--timeout', '1'],
             ['schedinfo', 'test'], ['domstats', '--state'], ['undefine', 'quiet'], ['domstate', 'quiet']]

    def transcript(tool, *opts):
        return [(step, r.rc, r.out) for step in steps for r in [tool(*opts, *step)]]

    for opts in ([], ['-q']):
        by_virsh = transcript(lambda *a: virsh(daemon.uri('test'), *a), *opts)
        by_corral = transcript(lambda *a: corral(bin_dir, daemon.uri('test'), *a), *opts)
        for v, c in zip(by_virsh, by_corral):
            assert c == v, opts
    quiet = transcript(lambda *a: corral(bin_dir, daemon.uri('test'), *a), '-q')
    assert quiet[3] == (['domstate', 'quiet'], 0, 'shut off\n')
    assert quiet[4] == (['start', 'quiet'], 0, '')
