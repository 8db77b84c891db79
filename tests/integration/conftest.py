# SPDX-License-Identifier: LGPL-2.1-or-later
# pytest fixtures: a fresh corrald per test on a private root, and file helpers. Hooks: the run
# ends with passed/failed/skipped counts and every skip's reason, and fails on a skip that
# allowed_skips.txt does not explain; a daemon that crashed, died or logged errors fails its test;
# what a test left in the host's cgroups is removed and the run fails if any of it stays.
import os
import shutil
import signal
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from framework import cgroups  # noqa: E402
from framework.daemon import CorralDaemon  # noqa: E402
from framework.outcomes import Outcomes, load_allowed_skips, write_results  # noqa: E402


def pytest_addoption(parser):
    parser.addoption('--corral-bin', default=os.environ.get('CORRAL_BIN', '/work/main/build/bin'),
                     help='directory holding corrald and corral')
    parser.addoption('--corral-results', default=None,
                     help='write the outcome of each test and every skip, as JSON, to this file')


_outcomes = None  # this run's Outcomes (the report hooks are not given the config)


def pytest_configure(config):
    global _outcomes
    config.addinivalue_line('markers', 'daemon_log_errors(*patterns): error lines the test makes corrald log')
    _outcomes = config._corral_outcomes = Outcomes(load_allowed_skips())
    config._corral_started = time.monotonic()
    config._corral_cgroups_left = []


def pytest_runtest_logreport(report):
    _outcomes.record(report)


def pytest_collectreport(report):
    if not report.passed:
        _outcomes.record(report)


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    outcomes = config._corral_outcomes
    path = config.getoption('--corral-results')
    if path:
        write_results(path, outcomes, time.monotonic() - config._corral_started)
    # A skip nobody explained, or cgroups the tests could not take back, fail a run that
    # otherwise passed (an interrupted or failing run keeps its own status).
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED) and \
            (outcomes.unexplained() or config._corral_cgroups_left):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    outcomes = config._corral_outcomes
    terminalreporter.section('corral: outcomes')
    for line in outcomes.summary_lines():
        terminalreporter.write_line(line)
    if outcomes.unexplained():
        terminalreporter.write_line('a skip that tests/integration/allowed_skips.txt does not explain fails the run')
    for path in config._corral_cgroups_left:
        terminalreporter.write_line(f'cgroup left behind: {path}')


@pytest.fixture(scope='session')
def bin_dir(request):
    d = os.path.abspath(request.config.getoption('--corral-bin'))
    for prog in ('corrald', 'corral'):
        if not os.access(os.path.join(d, prog), os.X_OK):
            pytest.exit(f'{prog} not found in {d}: build first', returncode=1)
    return d


def kill_processes_under(path):
    """Kills what a failed test left running from its private root (guests, daemons)."""
    for pid in os.listdir('/proc'):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                cmdline = f.read()
        except OSError:
            continue
        if path.encode() in cmdline:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass


def daemon_problems(daemon, request):
    marker = request.node.get_closest_marker('daemon_log_errors')
    if marker:
        daemon.allow_log_errors(*marker.args)
    return [f'{daemon.root}: {p}' for p in daemon.finish()]


@pytest.fixture
def tmpdir_path(request):
    d = tempfile.mkdtemp(prefix='corral-it-')
    # Guests run under their own uid (DAC): their images must be reachable through this directory.
    os.chmod(d, 0o711)
    yield d
    # Daemons the test made itself (not the `daemon` fixture's) are checked here.
    mine = [x for x in CorralDaemon.instances if x.root.startswith(d + os.sep)]
    problems = []
    for daemon in mine:
        problems += daemon_problems(daemon, request)
    kill_processes_under(d)
    for daemon in mine:
        try:
            cgroups.remove_partition(daemon.root)
        except OSError as e:
            problems.append(f'cannot remove what is left in its cgroups: {e}')
        request.config._corral_cgroups_left += cgroups.partition_dirs(daemon.root)
    CorralDaemon.instances = [x for x in CorralDaemon.instances if x not in mine]
    shutil.rmtree(d, ignore_errors=True)
    if problems:
        pytest.fail('corrald: ' + '; '.join(problems), pytrace=False)


@pytest.fixture
def daemon(bin_dir, tmpdir_path, request):
    root = os.path.join(tmpdir_path, 'root')
    os.makedirs(root)
    d = CorralDaemon(bin_dir, root)
    d.start()
    yield d
    problems = daemon_problems(d, request)
    if problems:
        pytest.fail('corrald: ' + '; '.join(problems), pytrace=False)


@pytest.fixture
def held_test_state(daemon):
    """Keeps one connection to the daemon's test:///default open for the test (reopened when the
    test restarts the daemon), so that what one virsh call changes there is still there for the
    next: like libvirt's, the test driver's state goes back to its fixtures when its last
    connection closes (docs/test-driver.md)."""
    daemon.hold_test_state()
    yield
    daemon.release_test_state()


@pytest.fixture
def write_file(tmpdir_path):
    def write(name, text):
        path = os.path.join(tmpdir_path, name)
        with open(path, 'w') as f:
            f.write(text)
        return path
    return write
