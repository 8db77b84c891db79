# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs inside the cgroup v2 guest (framework/v2_host.py), as its init's only job: corrald on a
# root in the guest, a container and a paused QEMU guest driven through the corral CLI, and what
# the kernel's cgroup files say at each step. It asserts nothing: each finding goes out as a
# `CGV2 {"name": ..., ...}` line on the second serial port, and test_cgroup_v2.py on the host
# holds them against the definitions. A step that raises is reported as `error` with its
# traceback, and the scenario goes on with the next step where it can.
import errno
import json
import os
import select
import signal
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from framework import cgroups  # noqa: E402
from framework.container import container_xml  # noqa: E402
from framework.daemon import CorralDaemon  # noqa: E402
from framework.tools import corral  # noqa: E402

MOUNT = '/sys/fs/cgroup'
BIN = '/corral'
ROOT = '/var/corral'
CT_ROOT = '/ct'
CT = 'ct'
VM = 'vm'
MAX_PROCESSES = 64  # lxc.conf, the container's pids.max

# The container's limits (what test_cgroup_v2.py expects in its group).
CT_TUNING = """
  <memtune><soft_limit unit='KiB'>65536</soft_limit></memtune>
  <cputune><shares>300</shares><period>50000</period><quota>20000</quota></cputune>"""

# A QEMU guest that is only ever started paused: no guest code runs under the guest's TCG.
VM_XML = f"""<domain type='qemu'>
  <name>{VM}</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <memtune><hard_limit unit='MiB'>768</hard_limit></memtune>
  <cputune><shares>250</shares><period>100000</period><quota>40000</quota>
    <emulator_period>100000</emulator_period><emulator_quota>60000</emulator_quota></cputune>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices/>
</domain>"""

STARTED = time.monotonic()


def report(name, **values):
    values['name'] = name
    with open('/dev/ttyS1', 'w') as f:
        f.write('CGV2 ' + json.dumps(values) + '\n')
    print(f'[{time.monotonic() - STARTED:7.1f} s] {name}: {values}', flush=True)


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError as e:
        return f'<{errno.errorcode.get(e.errno, e.errno)}>'


def files(group, names):
    return {n: read(f'{group}/{n}') for n in names}


def step(function, *args):
    """Runs one step; an exception becomes an `error.STEP` finding with its traceback."""
    try:
        return function(*args)
    except Exception:  # noqa: BLE001 - the host test shows it
        report(f'error.{function.__name__}', traceback=traceback.format_exc())
        return None


def cli(*args, timeout=120):
    r = corral(BIN, URI[args[0]], *args[1:], timeout=timeout)
    return {'rc': r.rc, 'out': r.out, 'err': r.err}


def wait_until(predicate, ceiling=60, interval=0.05):
    """Polls `predicate` until it holds or `ceiling` seconds (a ceiling, never an expectation)."""
    deadline = time.monotonic() + ceiling
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def cgroup_of(pid):
    """The v2 path of `pid` (the 0:: line), or None once it is gone."""
    try:
        with open(f'/proc/{pid}/cgroup') as f:
            for line in f:
                if line.startswith('0::'):
                    return line[3:].strip()
    except OSError:
        return None
    return None


def pidfd_exited(fd):
    return bool(select.select([fd], [], [], 0)[0])


def in_group(group, action):
    """Runs `action` in a child process moved into `group` first (as any task of the group
    would): returns what it returned, or the errno name of the OSError it raised."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            with open(f'{group}/cgroup.procs', 'w') as f:
                f.write('0')
            result = action()
        except OSError as e:
            result = errno.errorcode.get(e.errno, str(e.errno))
        except BaseException as e:  # noqa: BLE001
            result = repr(e)
        os.write(w, str(result).encode())
        os._exit(0)
    os.close(w)
    out = b''
    while chunk := os.read(r, 4096):
        out += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return out.decode()


def outside(action):
    """`action` as in_group runs it, but in the scenario's own group: the control experiment."""
    try:
        return str(action())
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def open_device(path):
    def action():
        os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
        return 'opened'
    return action


def make_node(path, major, minor):
    def action():
        os.mknod(path, 0o600 | 0o020000, os.makedev(major, minor))
        os.unlink(path)
        return 'made'
    return action


# ---------------------------------------------------------------------------------------------

def host_layout():
    with open('/proc/self/mountinfo') as f:
        mounts = [line.split(' - ')[1].split()[0] + ' ' + line.split()[4] for line in f
                  if 'cgroup' in line.split(' - ')[1].split()[0]]
    report('layout', mounts=mounts, controllers=read(f'{MOUNT}/cgroup.controllers'),
           kernel=os.uname().release, cmdline=read('/proc/cmdline'))


def prepare():
    for module in ('virtio_blk', 'ext4', 'fuse'):
        subprocess.run(['modprobe', module], check=True)
    wait_until(lambda: os.path.exists('/dev/vda'), ceiling=60)
    os.makedirs(CT_ROOT, exist_ok=True)
    subprocess.run(['mount', '/dev/vda', CT_ROOT], check=True)
    os.makedirs(f'{ROOT}/etc/corral', exist_ok=True)
    with open(f'{ROOT}/etc/corral/lxc.conf', 'w') as f:
        f.write(f'max_processes = {MAX_PROCESSES}\n')


def start_daemon():
    DAEMON.start(wait=False)
    DAEMON.wait_ready(timeout=300)
    report('daemon', partition=cgroups.partition_name(ROOT), pid=DAEMON.pid)


def ct_init():
    with open(f'{ROOT}/run/corral/lxc/{CT}.state') as f:
        return int(f.read().split()[1])


def ct_console():
    return read(f'{ROOT}/log/corral/lxc/{CT}.log')


def container_start():
    with open('/tmp/ct.xml', 'w') as f:
        f.write(container_xml(CT, CT_ROOT, memory_mib=96, extra=CT_TUNING))
    define = cli('lxc', 'define', '/tmp/ct.xml')
    start = cli('lxc', 'start', CT)
    ready = wait_until(lambda: 'CGV2-CT-READY' in ct_console())
    init = ct_init()
    group = MOUNT + cgroup_of(init)
    report('ct.start', define=define, start=start, ready=ready, init=init, group=group,
           state=cli('lxc', 'domstate', '--reason', CT)['out'].strip(),
           controller_group=cgroup_of(process_named('corral-lxc')))
    return group


def process_named(comm):
    """The pid of the process named `comm` (the container's controller: one runs)."""
    for pid in os.listdir('/proc'):
        if pid.isdigit() and read(f'/proc/{pid}/comm') == comm:
            return int(pid)
    return None


def container_limits(group):
    report('ct.limits', files=files(group, ['memory.max', 'memory.high', 'memory.swap.max', 'cpu.weight', 'cpu.max',
                                            'pids.max', 'cgroup.type', 'cgroup.controllers', 'cgroup.procs']),
           parent_subtree=read(os.path.dirname(group) + '/cgroup.subtree_control'),
           device_programs=cgroups.attached_device_programs(group),
           schedinfo=cli('lxc', 'schedinfo', CT)['out'], memtune=cli('lxc', 'memtune', CT)['out'])


def container_devices(group):
    # The BPF program decides for every task in the group, root or not: the same opens and
    # mknods from the scenario's own group (no program) are the control.
    checks = {
        'open /dev/null': open_device('/dev/null'),        # c 1:3, on the container's list
        'open /dev/kmsg': open_device('/dev/kmsg'),        # c 1:11, not on it
        'open /dev/vda': open_device('/dev/vda'),          # the guest's disk
        'mknod c 1:11': make_node('/tmp/cgv2-kmsg', 1, 11),
        'mknod c 1:3': make_node('/tmp/cgv2-null', 1, 3),
    }
    report('ct.devices', inside={k: in_group(group, a) for k, a in checks.items()},
           outside={k: outside(a) for k, a in checks.items()})


def container_enter():
    # lxc-enter-namespace joins the container's group (joinCgroupsOf, the 0:: line on v2), not
    # its cgroup namespace (as virsh), so the path is the host's. The container's /proc/meminfo
    # (the FUSE overlay) shows its memory.max as MemTotal.
    report('ct.enter', cgroup=cli('lxc', 'lxc-enter-namespace', CT, '--', '/bin/cat', '/proc/self/cgroup'),
           meminfo=cli('lxc', 'lxc-enter-namespace', CT, '--', '/bin/cat', '/proc/meminfo'))


def container_freeze(group):
    # Tasks that are slow to stop: spinners under 20 ms of CPU per second. A task stops for the
    # freezer only when it next runs, so the group is frozen at the next period at the latest.
    # Suspend is asked right after the quota ran out (cpu.stat counted a throttled period): what
    # returns before the next period has not waited for the kernel. (The spinners start before
    # the throttle: their fork and exec at 20 ms a second would take long. A quota under the
    # guest's 4 ms tick would be overrun by a tick and repaid over several periods, too long
    # for a suspend to wait.)
    spinners = [subprocess.Popen(['sh', '-c', 'while :; do :; done'], preexec_fn=lambda: join_group(group))
                for _ in range(3)]
    throttle = [cli('lxc', 'schedinfo', CT, '--live', '--set', 'vcpu_period=1000000'),
                cli('lxc', 'schedinfo', CT, '--live', '--set', 'vcpu_quota=20000')]
    throttled = wait_until(lambda: throttled_periods(group) > 0, ceiling=10)
    before = throttled_periods(group)
    throttled = throttled and wait_until(lambda: throttled_periods(group) > before, ceiling=10, interval=0.002)
    asked = time.monotonic()
    suspend = cli('lxc', 'suspend', CT)
    seconds = time.monotonic() - asked
    # Read at once: suspend returns when the kernel says every task is frozen.
    events_at_return = read(f'{group}/cgroup.events')
    frozen = files(group, ['cgroup.freeze'])
    state = cli('lxc', 'domstate', '--reason', CT)['out'].strip()
    resume = cli('lxc', 'resume', CT)
    events_after_resume = read(f'{group}/cgroup.events')
    # The definition's bandwidth again, then the spinners go (a throttled task dies when it runs).
    restore = [cli('lxc', 'schedinfo', CT, '--live', '--set', 'vcpu_period=50000'),
               cli('lxc', 'schedinfo', CT, '--live', '--set', 'vcpu_quota=20000')]
    for spinner in spinners:
        spinner.kill()
        spinner.wait()
    report('ct.freeze', throttle=throttle, restore=restore, throttled=throttled, spinners=len(spinners),
           suspend=suspend, suspend_seconds=seconds, events_at_return=events_at_return, frozen=frozen,
           state=state, resume=resume, events_after_resume=events_after_resume,
           thawed=files(group, ['cgroup.freeze']), state_after=cli('lxc', 'domstate', '--reason', CT)['out'].strip())


def join_group(group):
    with open(f'{group}/cgroup.procs', 'w') as f:
        f.write('0')


def throttled_periods(group):
    for line in read(f'{group}/cpu.stat').splitlines():
        key, _, value = line.partition(' ')
        if key == 'nr_throttled':
            return int(value)
    return 0


def container_freeze_while_daemon_down(group):
    # Frozen behind the daemon's back (cgroup.freeze written while no corrald runs): the
    # restarted daemon reports what the container is, and resume thaws it.
    DAEMON.kill9()
    with open(f'{group}/cgroup.freeze', 'w') as f:
        f.write('1')
    frozen = wait_until(lambda: 'frozen 1' in read(f'{group}/cgroup.events'))
    DAEMON.start(wait=False)
    DAEMON.wait_ready(timeout=300)
    state = cli('lxc', 'domstate', '--reason', CT)['out'].strip()
    resume = cli('lxc', 'resume', CT)
    report('ct.freeze_offline', frozen=frozen, state=state, resume=resume,
           events_after_resume=read(f'{group}/cgroup.events'),
           state_after=cli('lxc', 'domstate', '--reason', CT)['out'].strip())


def container_tuning(group):
    calls = {
        'shares': cli('lxc', 'schedinfo', CT, '--live', '--set', 'cpu_shares=700'),
        'quota': cli('lxc', 'schedinfo', CT, '--live', '--set', 'vcpu_quota=30000'),
        'period': cli('lxc', 'schedinfo', CT, '--live', '--set', 'vcpu_period=40000'),
        'memtune': cli('lxc', 'memtune', CT, '--live', '--hard-limit', '81920', '--soft-limit', '40960',
                       '--swap-hard-limit', '102400'),
        'blkio': cli('lxc', 'blkiotune', CT, '--live', '--weight', '300'),
        'shares_out_of_range': cli('lxc', 'schedinfo', CT, '--live', '--set', 'cpu_shares=20000'),
    }
    report('ct.tuning', calls=calls,
           files=files(group, ['cpu.weight', 'cpu.max', 'memory.max', 'memory.high', 'memory.swap.max',
                               'io.weight', 'io.bfq.weight']),
           schedinfo=cli('lxc', 'schedinfo', CT)['out'], memtune=cli('lxc', 'memtune', CT)['out'],
           blkiotune=cli('lxc', 'blkiotune', CT)['out'])


def container_destroy(group):
    # Tasks put into the container's group from outside its pid namespace: one that forks
    # without end (held at pids.max) and one that sleeps. Its init's pid namespace does not
    # take them with it; destroy must.
    def join():
        join_group(group)
    forker = subprocess.Popen(['sh', '-c', 'while :; do sleep 600 & done'], preexec_fn=join,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sleeper = subprocess.Popen(['sleep', '600'], preexec_fn=join)
    # Filled once the kernel refused a fork at pids.max (pids.events counts the refusals).
    filled = wait_until(lambda: read(f'{group}/pids.events') not in ('max 0', ''))
    pids = [int(p) for p in read(f'{group}/cgroup.procs').split()]
    fds = {}
    for pid in pids:
        try:
            fds[pid] = os.pidfd_open(pid)
        except OSError:
            pass  # gone already (a failed fork's child)
    events = read(f'{group}/pids.events')
    destroy = cli('lxc', 'destroy', CT)
    # destroy returned: every task must have exited. A ceiling only for the kernel's own
    # bookkeeping between leaving the group and the pidfd saying so.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(pidfd_exited(fd) for fd in fds.values()):
        time.sleep(0.01)
    alive = [pid for pid, fd in fds.items() if not pidfd_exited(fd)]
    for fd in fds.values():
        os.close(fd)
    codes = {'forker': wait_code(forker), 'sleeper': wait_code(sleeper)}
    report('ct.destroy', procs=len(pids), filled=filled, pids_events=events,
           destroy=destroy,
           alive=alive, exit_codes=codes, group_exists=os.path.exists(group),
           lxc_level_exists=os.path.exists(os.path.dirname(group)),
           state=cli('lxc', 'domstate', '--reason', CT)['out'].strip())


def wait_code(proc):
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        return 'still running'


def qemu_threads(pid):
    """{tid: [comm, v2 group]} of every thread of QEMU."""
    threads = {}
    for tid in os.listdir(f'/proc/{pid}/task'):
        threads[tid] = [read(f'/proc/{pid}/task/{tid}/comm'), read(f'/proc/{pid}/task/{tid}/cgroup')]
    return threads


def qemu_pid():
    for pid in os.listdir('/proc'):
        if pid.isdigit() and read(f'/proc/{pid}/comm').startswith('qemu-system'):
            return int(pid)
    return None


def qemu_start():
    with open('/tmp/vm.xml', 'w') as f:
        f.write(VM_XML)
    define = cli('qemu', 'define', '/tmp/vm.xml')
    start = cli('qemu', 'start', '--paused', VM, timeout=600)
    pid = qemu_pid()
    group = f'{MOUNT}/{cgroups.partition_name(ROOT)}/qemu/{VM}'
    report('vm.start', define=define, start=start, pid=pid, group=group,
           state=cli('qemu', 'domstate', '--reason', VM)['out'].strip(),
           threads=qemu_threads(pid) if pid else {},
           guest=files(group, ['cgroup.type', 'cgroup.subtree_control', 'memory.max', 'cpu.weight', 'cpu.max',
                               'cgroup.procs']),
           emulator=files(group + '/emulator', ['cgroup.type', 'cpu.max', 'cgroup.threads']),
           vcpu0=files(group + '/vcpu0', ['cgroup.type', 'cpu.max', 'cgroup.threads']),
           schedinfo=cli('qemu', 'schedinfo', VM)['out'])
    return pid, group


def qemu_tuning(group):
    calls = {
        'vcpu_quota': cli('qemu', 'schedinfo', VM, '--live', '--set', 'vcpu_quota=20000'),
        'emulator_quota': cli('qemu', 'schedinfo', VM, '--live', '--set', 'emulator_quota=30000'),
        'shares': cli('qemu', 'schedinfo', VM, '--live', '--set', 'cpu_shares=900'),
        'memtune': cli('qemu', 'memtune', VM, '--live', '--hard-limit', '700000'),
    }
    report('vm.tuning', calls=calls, guest=files(group, ['memory.max', 'cpu.weight']),
           emulator=files(group + '/emulator', ['cpu.max']), vcpu0=files(group + '/vcpu0', ['cpu.max']),
           schedinfo=cli('qemu', 'schedinfo', VM)['out'])


def qemu_destroy(pid, group):
    fd = os.pidfd_open(pid)
    destroy = cli('qemu', 'destroy', VM)
    exited = wait_until(lambda: pidfd_exited(fd), ceiling=10)
    os.close(fd)
    report('vm.destroy', destroy=destroy, exited=exited, group_exists=os.path.exists(group),
           state=cli('qemu', 'domstate', '--reason', VM)['out'].strip())


def qemu_oom():
    # Started again, then its hard limit lowered under what QEMU holds: on v2 the kernel reclaims
    # and then OOM-kills inside the write of memory.max. The daemon reads memory.events'
    # oom_kill to say why the guest stopped.
    start = cli('qemu', 'start', '--paused', VM, timeout=600)
    pid = qemu_pid()
    group = f'{MOUNT}/{cgroups.partition_name(ROOT)}/qemu/{VM}'
    current = read(f'{group}/memory.current')
    fd = os.pidfd_open(pid)
    memtune = cli('qemu', 'memtune', VM, '--live', '--hard-limit', '4096')
    exited = wait_until(lambda: pidfd_exited(fd), ceiling=60)
    os.close(fd)
    stopped = wait_until(lambda: cli('qemu', 'domstate', VM)['out'].strip() == 'shut off', ceiling=60)
    report('vm.oom', start=start, pid=pid, memory_current=current, memtune=memtune, exited=exited, stopped=stopped,
           state=cli('qemu', 'domstate', '--reason', VM)['out'].strip(), group_exists=os.path.exists(group),
           log=[line for line in DAEMON.stderr().splitlines() if f"domain '{VM}'" in line])
    if not stopped:
        cli('qemu', 'destroy', VM)


def stop_daemon():
    rc = DAEMON.stop()
    left = sorted(e for e in os.listdir(MOUNT) if e.startswith('corral'))
    report('daemon.stop', rc=rc, problems=DAEMON.finish(), partitions_left=left)


def main():
    global DAEMON, URI
    report('scenario.begin', uptime=read('/proc/uptime'))
    step(host_layout)
    step(prepare)
    DAEMON = CorralDaemon(BIN, ROOT)
    URI = {'lxc': DAEMON.uri('lxc'), 'qemu': DAEMON.uri('qemu')}
    if step(start_daemon) is None and not DAEMON.alive():
        report('scenario.end', seconds=time.monotonic() - STARTED)
        return
    group = step(container_start)
    if group:
        step(container_limits, group)
        step(container_devices, group)
        step(container_enter)
        step(container_freeze, group)
        step(container_freeze_while_daemon_down, group)
        step(container_tuning, group)
        step(container_destroy, group)
    started = step(qemu_start)
    if started and started[0]:
        step(qemu_tuning, started[1])
        step(qemu_destroy, *started)
        step(qemu_oom)
    step(stop_daemon)
    print(DAEMON.stderr(), flush=True)
    report('scenario.end', seconds=time.monotonic() - STARTED)


if __name__ == '__main__':
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    main()
