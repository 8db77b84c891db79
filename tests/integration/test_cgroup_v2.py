# SPDX-License-Identifier: LGPL-2.1-or-later
# corrald on a real cgroup v2 host. This machine binds its controllers to v1, so the v2 path is run
# where v2 is all there is: Debian's kernel booted under TCG with cgroup_no_v1=all
# (framework/v2_host.py), running this build's corrald, a container and a QEMU guest
# (framework/v2_scenario.py). One boot serves every test below; each holds one finding of the
# scenario against what the definitions asked and what libvirt's semantics promise.
import os
import re
import shutil
import tempfile

import pytest

from framework.guest import find_kernel
from framework.v2_host import MODULES, V2Host, build_initramfs

MIB = 1024 * 1024
BOOT_CEILING = 900  # seconds: a ceiling for a loaded machine, never an expectation (about 40 s here)


def missing_host_parts():
    """Why the v2 host cannot be built here: (reason, host fact?) or None. A missing package
    (scripts/setup.sh installs them) is not a host fact and fails the run."""
    for tool in ('qemu-system-x86_64', 'busybox', 'mke2fs'):
        if shutil.which(tool) is None:
            return f'{tool} is not installed (run scripts/setup.sh)', False
    found = find_kernel()
    if not found:
        return 'no Debian kernel in /boot (run scripts/setup.sh: linux-image-amd64)', False
    kernel, release = found
    if not os.access(kernel, os.R_OK):
        return f'{kernel} cannot be read', False
    absent = [n for n, rel in MODULES.items() if not os.path.exists(os.path.join('/lib/modules', release, rel))]
    if absent:
        return f'the kernel in /boot ({release}) has no module {", ".join(absent)} for a 9p root', True
    return None


@pytest.fixture(scope='module')
def v2(bin_dir):
    """The scenario's findings, by name, after one boot of the v2 host."""
    missing = missing_host_parts()
    if missing:
        pytest.skip(missing[0])
    kernel, initrd = build_initramfs(os.path.join(os.path.dirname(bin_dir), 'test-guest'))
    workdir = tempfile.mkdtemp(prefix='corral-v2-host-')
    host = V2Host(workdir, kernel, initrd, bin_dir, os.path.dirname(os.path.abspath(__file__)))
    try:
        rc = host.wait(BOOT_CEILING)
        findings = host.findings()
        findings['_console'] = host.console_text()[-6000:]
        findings['_exit'] = rc
        findings['_scenario_exit'] = [line for line in host.lines() if line.startswith('CGV2-SCENARIO-EXIT')]
        yield findings
    finally:
        host.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def finding(v2, name):
    """One finding; a step that raised (error.STEP) or never reported fails with the console."""
    errors = {k: v['traceback'] for k, v in v2.items() if k.startswith('error.')}
    assert name in v2, f'no finding {name!r}; errors: {errors}; console:\n{v2["_console"]}'
    return v2[name]


def ok(call):
    return call['rc'] == 0


def test_the_scenario_ran_to_its_end_on_a_v2_only_host(v2):
    assert v2['_exit'] == 0 and v2['_scenario_exit'] == ['CGV2-SCENARIO-EXIT 0'], (v2['_exit'], v2['_console'])
    errors = {k: v['traceback'] for k, v in v2.items() if k.startswith('error.')}
    assert not errors, errors
    assert 'scenario.end' in v2
    layout = finding(v2, 'layout')
    # Only the unified hierarchy, with the controllers corrald uses on it: this is a v2 host.
    assert layout['mounts'] == ['cgroup2 /sys/fs/cgroup'], layout
    assert {'cpu', 'memory', 'pids', 'io', 'cpuset'} <= set(layout['controllers'].split()), layout
    assert 'cgroup_no_v1=all' in layout['cmdline'].split()


def test_container_group_holds_the_limits_of_its_definition(v2):
    start = finding(v2, 'ct.start')
    partition = finding(v2, 'daemon')['partition']
    assert ok(start['define']) and ok(start['start']) and start['ready'], start
    assert start['state'] == 'running (booted)'
    assert start['group'] == f'/sys/fs/cgroup/{partition}/lxc/ct'
    assert start['controller_group'] == f'/{partition}/lxc/ct'  # corral-lxc is accounted there too
    limits = finding(v2, 'ct.limits')
    files = limits['files']
    assert files['memory.max'] == str(96 * MIB)       # <memory>
    assert files['memory.high'] == str(64 * MIB)      # <memtune><soft_limit>
    assert files['cpu.weight'] == '300'               # <cputune><shares>
    assert files['cpu.max'] == '20000 50000'          # <quota> <period>
    assert files['pids.max'] == '64'                  # lxc.conf max_processes
    assert str(start['init']) in files['cgroup.procs'].split()
    assert set(files['cgroup.controllers'].split()) >= {'cpu', 'memory', 'pids', 'io'}
    assert limits['device_programs'] == 1             # the BPF device program, attached once
    # What the CLI reads back comes from the same v2 files.
    assert re.search(r'cpu_shares\s+:\s+300\n.*vcpu_period\s+:\s+50000\n.*vcpu_quota\s+:\s+20000',
                     limits['schedinfo'], re.S), limits['schedinfo']
    assert re.search(r'hard_limit\s+:\s+98304\n.*soft_limit\s+:\s+65536', limits['memtune'], re.S), limits['memtune']


def test_device_program_refuses_what_the_container_may_not_use(v2):
    devices = finding(v2, 'ct.devices')
    # Any task of the container's group, root included: only the container's device list.
    assert devices['inside'] == {'open /dev/null': 'opened', 'open /dev/kmsg': 'EPERM', 'open /dev/vda': 'EPERM',
                                 'mknod c 1:11': 'EPERM', 'mknod c 1:3': 'made'}
    # The control: the same calls from the scenario's own group all succeed.
    assert set(devices['outside'].values()) == {'opened', 'made'}, devices['outside']


def test_lxc_enter_namespace_runs_in_the_container_group_under_its_memory(v2):
    enter = finding(v2, 'ct.enter')
    partition = finding(v2, 'daemon')['partition']
    assert ok(enter['cgroup']), enter
    assert enter['cgroup']['out'].split() == [f'0::/{partition}/lxc/ct']
    assert ok(enter['meminfo']), enter
    # The container's /proc/meminfo (FUSE) reads memory.max: <memory> is 96 MiB.
    assert re.search(r'^MemTotal:\s+98304 kB$', enter['meminfo']['out'], re.M), enter['meminfo']['out']


def test_suspend_freezes_every_task_and_resume_thaws(v2):
    freeze = finding(v2, 'ct.freeze')
    # Three spinners in the group under 20 ms of CPU a second, suspended right after their quota
    # ran out: a task stops for the freezer only when it next runs, a period later.
    assert all(ok(call) for call in freeze['throttle'] + freeze['restore']), freeze
    assert freeze['throttled'], freeze
    assert ok(freeze['suspend']) and ok(freeze['resume']), freeze
    # Read as suspend returned: asked (cgroup.freeze) and done (cgroup.events: every task frozen).
    assert freeze['frozen'] == {'cgroup.freeze': '1'}
    assert 'frozen 1' in freeze['events_at_return'].split('\n'), freeze['events_at_return']
    assert freeze['state'] == 'paused (user)'
    assert freeze['thawed'] == {'cgroup.freeze': '0'}
    assert 'frozen 0' in freeze['events_after_resume'].split('\n')
    assert freeze['state_after'] == 'running (unpaused)'


def test_a_freeze_behind_the_daemons_back_is_believed(v2):
    offline = finding(v2, 'ct.freeze_offline')
    assert offline['frozen'], offline
    assert offline['state'] == 'paused (unknown)'
    assert ok(offline['resume'])
    assert 'frozen 0' in offline['events_after_resume'].split('\n')
    assert offline['state_after'] == 'running (unpaused)'


def test_live_tuning_writes_the_v2_files(v2):
    tuning = finding(v2, 'ct.tuning')
    calls = tuning['calls']
    for name in ('shares', 'quota', 'period', 'memtune', 'blkio'):
        assert ok(calls[name]), (name, calls[name])
    files = tuning['files']
    assert files['cpu.weight'] == '700'
    assert files['cpu.max'] == '30000 40000'
    assert files['memory.max'] == str(81920 * 1024)
    assert files['memory.high'] == str(40960 * 1024)
    # libvirt's swap_hard_limit counts memory and swap; v2's memory.swap.max is swap alone.
    assert files['memory.swap.max'] == str((102400 - 81920) * 1024)
    assert files['io.weight'] == 'default 300', files   # Debian's kernel has the iocost weight
    assert re.search(r'swap_hard_limit\s*:\s+102400', tuning['memtune']), tuning['memtune']
    assert re.search(r'^weight\s+:\s+300$', tuning['blkiotune'], re.M), tuning['blkiotune']
    # v2's weight range, refused by name; the weight stays.
    refused = calls['shares_out_of_range']
    assert refused['rc'] != 0 and 'cgroup v2 accepts 1 to 10000' in refused['err'], refused


def test_destroy_kills_what_joined_from_outside_and_removes_the_group(v2):
    destroy = finding(v2, 'ct.destroy')
    # The forker was held at lxc.conf's max_processes: the kernel refused its forks there.
    assert destroy['filled'] and re.fullmatch(r'max [1-9]\d*', destroy['pids_events']), destroy
    assert destroy['procs'] >= 60, destroy  # the forker's sleepers and the container's tasks
    assert ok(destroy['destroy']), destroy
    assert destroy['alive'] == [], destroy
    assert destroy['exit_codes']['sleeper'] == -9
    assert destroy['exit_codes']['forker'] != 'still running'
    assert not destroy['group_exists'] and not destroy['lxc_level_exists'], destroy
    assert destroy['state'] == 'shut off (destroyed)'


def test_qemu_threads_are_in_their_threaded_groups_with_their_limits(v2):
    start = finding(v2, 'vm.start')
    partition = finding(v2, 'daemon')['partition']
    assert ok(start['define']) and ok(start['start']) and start['pid'], start
    assert start['state'] == 'paused (user)'
    base = f'0::/{partition}/qemu/vm'
    vcpus = {tid: group for tid, (comm, group) in start['threads'].items() if comm.startswith('CPU ')}
    others = {tid: group for tid, (comm, group) in start['threads'].items() if not comm.startswith('CPU ')}
    assert list(vcpus.values()) == [f'{base}/vcpu0'], start['threads']
    assert others and set(others.values()) == {f'{base}/emulator'}, start['threads']
    assert start['vcpu0']['cgroup.threads'].split() == list(vcpus)
    assert sorted(start['emulator']['cgroup.threads'].split()) == sorted(others)
    assert start['guest']['cgroup.type'] == 'domain threaded'
    assert start['vcpu0']['cgroup.type'] == start['emulator']['cgroup.type'] == 'threaded'
    assert start['guest']['cgroup.procs'].split() == [str(start['pid'])]
    assert start['guest']['memory.max'] == str(768 * MIB)        # <hard_limit>
    assert start['guest']['cpu.weight'] == '250'                 # <shares>
    assert start['vcpu0']['cpu.max'] == '40000 100000'           # <quota> <period>, per vCPU
    assert start['emulator']['cpu.max'] == '60000 100000'        # <emulator_quota> <emulator_period>
    assert start['guest']['cpu.max'] == 'max 100000'             # no global quota


def test_qemu_live_tuning_reaches_each_group(v2):
    tuning = finding(v2, 'vm.tuning')
    for name, call in tuning['calls'].items():
        assert ok(call), (name, call)
    assert tuning['vcpu0']['cpu.max'] == '20000 100000'
    assert tuning['emulator']['cpu.max'] == '30000 100000'
    assert tuning['guest']['cpu.weight'] == '900'
    assert tuning['guest']['memory.max'] == str(700000 * 1024)
    assert re.search(r'cpu_shares\s+:\s+900\n.*vcpu_quota\s+:\s+20000\n.*emulator_quota\s+:\s+30000',
                     tuning['schedinfo'], re.S), tuning['schedinfo']


def test_qemu_destroy_removes_its_groups(v2):
    destroy = finding(v2, 'vm.destroy')
    assert ok(destroy['destroy']) and destroy['exited'], destroy
    assert not destroy['group_exists']
    assert destroy['state'] == 'shut off (destroyed)'


def test_a_guest_the_kernel_kills_at_its_hard_limit_is_reported_so(v2):
    oom = finding(v2, 'vm.oom')
    assert ok(oom['start']) and oom['pid'], oom
    # Lowered under what QEMU holds: v2 reclaims, then OOM-kills inside the write of memory.max
    # (v1 refuses such a write with EBUSY). The daemon reads the kill from memory.events.
    assert int(oom['memory_current']) > 4096 * 1024, oom
    assert oom['exited'] and oom['stopped'], oom
    assert oom['state'] == 'shut off (crashed)'
    assert any("QEMU of domain 'vm' was killed by the kernel's OOM killer" in line for line in oom['log']), oom['log']
    assert not oom['group_exists']


def test_the_daemon_exits_cleanly_and_leaves_no_partition(v2):
    stop = finding(v2, 'daemon.stop')
    assert stop['rc'] == 0 and stop['problems'] == [], stop
    assert stop['partitions_left'] == [], stop
