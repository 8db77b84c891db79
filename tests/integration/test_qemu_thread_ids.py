# SPDX-License-Identifier: LGPL-2.1-or-later
# A guest that took over its QEMU reports other processes' ids as its vCPU and IOThread threads
# (issue 27.1): corrald's own threads, pid 1, a process beside it. corrald must never move them
# into the guest's cgroups or change their affinity, at start or at a live tuning change; the
# start or the change fails naming the id, and the guest's groups go away with it.
import os
import subprocess

import pytest

from framework.hostile_qmp import install, write_script
from framework.tools import virsh


def cgroup_mounts():
    mounts = []
    with open('/proc/self/mounts') as f:
        for line in f:
            _, mnt, fstype, opts = line.split()[:4]
            if fstype == 'cgroup' and any(c in opts.split(',') for c in ('cpu', 'cpuset', 'cpuacct')):
                mounts.append(mnt)
            elif fstype == 'cgroup2':
                mounts.append(mnt)
    return sorted(set(mounts))


def guest_groups(name):
    """Every directory of a group PARTITION/qemu/NAME under the cgroup mounts."""
    found = []
    for mount in cgroup_mounts():
        for dirpath, dirnames, _ in os.walk(mount):
            if dirpath.endswith('/qemu/' + name):
                found.append(dirpath)
                dirnames[:] = []
            elif dirpath.count('/') - mount.count('/') > 4:
                dirnames[:] = []  # the daemon's partition is near the top
    return found


def task_state(tid):
    """What a wrongly trusted id would change: the task's groups and its CPU affinity."""
    try:
        with open(f'/proc/{tid}/cgroup') as f:
            groups = f.read()
        return groups, sorted(os.sched_getaffinity(tid))
    except (FileNotFoundError, ProcessLookupError):
        return None


def bystanders(daemon, sibling):
    tids = [int(t) for t in os.listdir(f'/proc/{daemon.pid}/task')]
    return {tid: task_state(tid) for tid in tids + [1, sibling.pid]}


def assert_untouched(before, after, daemon, sibling):
    # The daemon may start or end threads of its own meanwhile (a monitor reader): compare those
    # that lived throughout, which always include its main thread, pid 1 and the sibling.
    for tid in (daemon.pid, 1, sibling.pid):
        assert before[tid] is not None and after.get(tid) is not None, tid
    for tid, state in before.items():
        if after.get(tid) is not None:
            assert after[tid] == state, f'task {tid} was moved or pinned: {state} -> {after[tid]}'


def group_threads(groups, child):
    """The thread ids in the child group `child` (vcpu0 ...) of the guest's groups."""
    tids = set()
    for g in groups:
        for name in ('tasks', 'cgroup.threads'):
            path = os.path.join(g, child, name)
            if os.path.exists(path):
                with open(path) as f:
                    tids.update(int(t) for t in f.read().split())
    return tids


@pytest.fixture
def hostile(daemon, tmpdir_path):
    if not any(os.path.exists(os.path.join(m, 'cgroup.procs')) for m in cgroup_mounts()):
        pytest.skip('no cgroup hierarchy with the cpu controllers is mounted')
    # Landlock would keep Python from reading its modules; the rest of the confinement stays.
    daemon.stop()
    conf = os.path.join(daemon.root, 'etc', 'corral')
    os.makedirs(conf, exist_ok=True)
    with open(os.path.join(conf, 'qemu.conf'), 'w') as f:
        f.write('landlock = 0\n')
    daemon.start()
    emulator = install(tmpdir_path, {'cpus': ['own', 'own'], 'iothreads': ['own']})
    # Pinned to CPU 0: on a host with more CPUs, a foreign task pinned by mistake would show it.
    xml = f"""<domain type='qemu'><name>hostile</name><memory unit='MiB'>64</memory>
  <vcpu>2</vcpu><iothreads>1</iothreads>
  <cputune><vcpupin vcpu='0' cpuset='0'/><vcpupin vcpu='1' cpuset='0'/><iothreadpin iothread='1' cpuset='0'/></cputune>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>{emulator}</emulator></devices></domain>"""
    path = os.path.join(tmpdir_path, 'hostile.xml')
    with open(path, 'w') as f:
        f.write(xml)
    uri = daemon.uri('qemu')
    r = virsh(uri, 'define', path)
    assert r.rc == 0, r.err
    sibling = subprocess.Popen(['sleep', '600'])
    yield uri, emulator, sibling
    virsh(uri, 'destroy', 'hostile')
    sibling.kill()
    sibling.wait()


def bogus_id(which, daemon, sibling):
    if which == 'daemon':
        return daemon.pid
    if which == 'daemon-thread':
        return max(int(t) for t in os.listdir(f'/proc/{daemon.pid}/task') if int(t) != daemon.pid)
    if which == 'init':
        return 1
    return sibling.pid


@pytest.mark.parametrize('which,slot', [('daemon', 'vcpu0'), ('daemon-thread', 'vcpu1'), ('init', 'vcpu1'),
                                        ('sibling', 'iothread1')])
def test_start_refuses_thread_ids_that_are_not_qemus(daemon, hostile, which, slot):
    uri, emulator, sibling = hostile
    bogus = bogus_id(which, daemon, sibling)
    script = {'cpus': ['own', 'own'], 'iothreads': ['own']}
    if slot.startswith('vcpu'):
        script['cpus'][int(slot[4:])] = bogus
    else:
        script['iothreads'][0] = bogus
    write_script(emulator, script)
    before = bystanders(daemon, sibling)
    r = virsh(uri, 'start', 'hostile')
    assert r.rc != 0, r.out
    assert f"reported thread id '{bogus}' for {slot}, which is not one of its threads" in r.err, r.err
    assert_untouched(before, bystanders(daemon, sibling), daemon, sibling)
    assert virsh(uri, 'domstate', 'hostile').out.strip() == 'shut off'
    assert guest_groups('hostile') == []


def test_the_guest_runs_only_once_its_threads_are_placed(daemon, hostile):
    # QEMU starts with -S (as libvirt): the vCPUs wait until corrald has moved them into their
    # groups and pinned them, then `cont` lets the guest run. The fake QEMU notes, when `cont`
    # comes, whether it was paused and whether its vCPU threads were in their groups already.
    uri, _, _ = hostile
    r = virsh(uri, 'start', 'hostile')
    assert r.rc == 0, r.err + daemon.stderr()
    assert virsh(uri, 'domstate', 'hostile').out.strip() == 'running'
    with open(os.path.join(daemon.root, 'log', 'corral', 'qemu', 'hostile.log')) as f:
        log = f.read()
    started = log.rsplit("corral: starting domain 'hostile':", 1)[1]
    assert ' -S ' in started.splitlines()[0] + ' '
    assert 'hostile-qemu: cont while paused=True vcpus-placed=True' in started, started
    # A paused start never sends cont.
    assert virsh(uri, 'destroy', 'hostile').rc == 0
    assert virsh(uri, 'start', '--paused', 'hostile').rc == 0
    with open(os.path.join(daemon.root, 'log', 'corral', 'qemu', 'hostile.log')) as f:
        again = f.read().rsplit("corral: starting domain 'hostile':", 1)[1]
    assert 'hostile-qemu: cont' not in again, again
    assert virsh(uri, 'domstate', 'hostile').out.strip() == 'paused'


def test_live_tuning_rechecks_the_ids_qemu_reports(daemon, hostile):
    uri, emulator, sibling = hostile
    r = virsh(uri, 'start', 'hostile')
    assert r.rc == 0, r.err + daemon.stderr()
    groups = guest_groups('hostile')
    assert groups
    # QEMU's own threads went where they belong: each vCPU thread into its group, pinned.
    vcpu0 = group_threads(groups, 'vcpu0')
    assert len(vcpu0) == 1, vcpu0
    assert os.sched_getaffinity(vcpu0.pop()) == {0}
    # Now QEMU names the daemon, pid 1 and the sibling; every live change re-reads the ids.
    before = bystanders(daemon, sibling)
    for bogus, slot in ((daemon.pid, 'vcpu0'), (1, 'vcpu1'), (sibling.pid, 'iothread1')):
        script = {'cpus': ['own', 'own'], 'iothreads': ['own']}
        if slot == 'iothread1':
            script['iothreads'] = [bogus]
        else:
            script['cpus'][int(slot[4:])] = bogus
        write_script(emulator, script)
        r = virsh(uri, 'schedinfo', 'hostile', '--live', '--set', 'vcpu_quota=1000')
        assert r.rc != 0 and f"reported thread id '{bogus}' for {slot}" in r.err, r.err
        r = virsh(uri, 'vcpupin', 'hostile', '0', '0', '--live')
        assert r.rc != 0 and f"thread id '{bogus}'" in r.err, r.err
    assert_untouched(before, bystanders(daemon, sibling), daemon, sibling)
    # Destroy leaves nothing behind: no foreign task keeps the groups alive.
    assert virsh(uri, 'destroy', 'hostile').rc == 0
    assert guest_groups('hostile') == []
