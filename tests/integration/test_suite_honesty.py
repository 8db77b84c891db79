# SPDX-License-Identifier: LGPL-2.1-or-later
# The suite's own rules, proved on throwaway test files run by a real pytest with this directory's
# conftest.py: a skip allowed_skips.txt does not explain fails the run, an allowed one is reported
# with its host fact; a corrald that dies during a test, does not exit 0 on SIGTERM or logs an
# error fails that test; what a daemon's guests leave in the host's cgroups is removed.
import json
import os
import subprocess
import sys
import textwrap

from framework import cgroups

HERE = os.path.dirname(os.path.abspath(__file__))


def run_probe(tmp, bin_dir, source):
    """Runs `source` as a test file beside links to the real conftest.py, framework/ and
    allowed_skips.txt; returns (exit status, output, results JSON)."""
    for name in ('conftest.py', 'framework', 'allowed_skips.txt'):
        os.symlink(os.path.join(HERE, name), os.path.join(tmp, name))
    with open(os.path.join(tmp, 'test_probe.py'), 'w') as f:
        f.write(textwrap.dedent(source))
    results = os.path.join(tmp, 'results.json')
    p = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'test_probe.py',
                        '--corral-bin', bin_dir, '--corral-results', results],
                       cwd=tmp, capture_output=True, text=True, timeout=300)
    with open(results) as f:
        return p.returncode, p.stdout + p.stderr, json.load(f)


def test_a_skip_nobody_explained_fails_the_run(tmpdir_path, bin_dir):
    rc, out, results = run_probe(tmpdir_path, bin_dir, '''
        import pytest
        def test_fine():
            pass
        def test_hidden():
            pytest.skip('qemu-system-x86 is not installed')
    ''')
    assert rc == 1, out
    assert 'SKIP NOT ALLOWED test_probe.py::test_hidden: qemu-system-x86 is not installed' in out, out
    assert results['counts'] == {'passed': 1, 'failed': 0, 'skipped': 1, 'xfailed': 0}, results
    assert results['skips'] == [{'test': 'test_probe.py::test_hidden', 'reason': 'qemu-system-x86 is not installed',
                                 'allowed': False, 'fact': None}], results


def test_an_allowed_skip_passes_and_names_its_host_fact(tmpdir_path, bin_dir):
    rc, out, results = run_probe(tmpdir_path, bin_dir, '''
        import pytest
        def test_fine():
            pass
        def test_needs_a_loop_device():
            pytest.skip('no loop device here: losetup: cannot find an unused loop device')
    ''')
    assert rc == 0, out
    assert 'integration: 1 passed, 0 failed, 1 skipped' in out, out
    assert '(allowed: losetup -f fails' in out, out
    assert results['skips'][0]['allowed'], results


def test_a_daemon_that_dies_during_a_test_fails_it(tmpdir_path, bin_dir):
    rc, out, results = run_probe(tmpdir_path, bin_dir, '''
        import os, signal
        def test_crashes(daemon):
            os.kill(daemon.pid, signal.SIGABRT)  # what a crash looks like from outside
            daemon.proc.wait()
    ''')
    assert rc == 1, out
    assert 'corrald exited on its own with -6' in out, out
    assert results['tests'] == {'test_probe.py::test_crashes': 'failed'}, results


def test_an_error_in_the_daemon_log_fails_the_test_unless_declared(tmpdir_path, bin_dir):
    # A definition in the store that no longer parses: the daemon logs an error at start.
    source = '''
        import os, sqlite3
        import pytest
        from framework.tools import virsh

        def break_a_definition(daemon):
            path = os.path.join(daemon.root, 'qd.xml')
            with open(path, 'w') as f:
                f.write("<domain type='qemu'><name>qd</name><memory unit='MiB'>64</memory>"
                        "<os><type arch='x86_64' machine='pc'>hvm</type></os></domain>")
            assert virsh(daemon.uri('qemu'), 'define', path).rc == 0
            daemon.stop()
            db = sqlite3.connect(os.path.join(daemon.root, 'lib', 'corral', 'corral.db'))
            db.execute("UPDATE definitions SET xml = '<domain' WHERE name = 'qd'")
            db.commit()
            db.close()
            daemon.start()

        def test_undeclared(daemon):
            break_a_definition(daemon)

        @pytest.mark.daemon_log_errors("stored definition of domain 'qd' .* no longer parses")
        def test_declared(daemon):
            break_a_definition(daemon)
    '''
    rc, out, results = run_probe(tmpdir_path, bin_dir, source)
    assert rc == 1, out
    assert results['tests'] == {'test_probe.py::test_undeclared': 'failed',
                                'test_probe.py::test_declared': 'passed'}, (results, out)
    assert "error logged: stored definition of domain 'qd'" in out, out


def test_what_guests_leave_in_cgroups_is_removed(tmpdir_path, bin_dir):
    # The probe makes the groups a container of its daemon would have, and leaves them.
    note = os.path.join(tmpdir_path, 'root.txt')
    rc, out, _ = run_probe(tmpdir_path, bin_dir, f'''
        import os
        from framework import cgroups
        from framework.daemon import CorralDaemon

        def test_leaves_groups(bin_dir, tmpdir_path):
            d = CorralDaemon(bin_dir, os.path.join(tmpdir_path, 'r')).start()
            with open({note!r}, 'w') as f:
                f.write(d.root)
            for mount in cgroups.host_layout().mounts():
                os.makedirs(os.path.join(mount, cgroups.partition_name(d.root), 'lxc', 'left'))
            assert cgroups.partition_dirs(d.root)
    ''')
    assert rc == 0, out
    with open(note) as f:
        root = f.read()
    assert cgroups.partition_dirs(root) == [], out


def test_cgroup_layout_and_files_as_corrald_reads_them():
    # This machine has v1 controllers beside an empty cgroup2 mount; a v2-only host is known from
    # its mountinfo text alone. The choice must be corrald's (src/host/cgroup.cpp).
    both = ('30 25 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n'
            '31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n'
            '32 25 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n')
    layout = cgroups.Layout(both)
    assert not layout.v2 and layout.mount_of('cpuacct') == '/sys/fs/cgroup/cpu,cpuacct'
    assert layout.mounts() == ['/sys/fs/cgroup/cpu,cpuacct', '/sys/fs/cgroup/memory']
    only_v2 = cgroups.Layout('29 25 0:26 / /sys/fs/cgroup rw shared:4 - cgroup2 cgroup2 rw,nsdelegate\n')
    assert only_v2.v2 and only_v2.mount_of('memory') == '/sys/fs/cgroup' and only_v2.mounts() == ['/sys/fs/cgroup']
    # v2 text read as v1 text.
    convert = {name: fn for name, (_, fn) in cgroups.V2_EQUIVALENTS.items()}
    assert convert['cpu.cfs_quota_us']('max 100000') == '-1' and convert['cpu.cfs_quota_us']('25000 100000') == '25000'
    assert convert['cpu.cfs_period_us']('25000 100000') == '100000'
    assert convert['memory.limit_in_bytes']('max') == cgroups.V1_UNLIMITED
    assert convert['freezer.state']('1') == 'FROZEN' and convert['freezer.state']('0') == 'THAWED'
    assert convert['blkio.throttle.read_bps_device']('7:0 rbps=1048576 wbps=max riops=max wiops=max\n'
                                                     '7:1 rbps=max wbps=10 riops=max wiops=max') == '7:0 1048576'
